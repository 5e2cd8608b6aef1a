"""Calling safety's settings: where a call may go, when, how often, and never to a number on the suppression list."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, Field, field_validator, model_validator

from outbound_caller.config.call_limits import CallLimits, parse_call_limits
from outbound_caller.config.calling_hours import CallingHours, parse_calling_hours
from outbound_caller.config.closed_days import parse_blackout_dates, parse_holidays
from outbound_caller.config.common import (
    FROZEN,
    SECRET_ID_MAX_LENGTH,
    SECRET_ID_PATTERN,
    TABLE_NAME_PATTERN,
    blank_is_unset,
)
from outbound_caller.config.destinations import DEFAULT_BLOCKED_NUMBER_TYPES, parse_number_types, parse_region_codes


class CallingSafetyFields(BaseModel):
    """The calling-safety side of the function's settings."""

    model_config = FROZEN

    # Where a call may go: these regions only (unset: any), never these number types.
    allowed_destination_countries: frozenset[str] | None = Field(alias="ALLOWED_DESTINATION_COUNTRIES", default=None)
    blocked_number_types: frozenset[str] = Field(alias="BLOCKED_NUMBER_TYPES", default=DEFAULT_BLOCKED_NUMBER_TYPES)
    # When: weekly windows in the callee's local time (unset: any time).
    calling_hours: CallingHours | None = Field(alias="CALLING_HOURS", default=None)
    # Whole local days with no call: the callee country's public holidays ("national"), and blackout dates.
    calling_holidays: str | None = Field(alias="CALLING_HOLIDAYS", default=None)
    calling_blackout_dates: frozenset[date] = Field(alias="CALLING_BLACKOUT_DATES", default=frozenset())
    # How often: calls per number per window, counted in their own table.
    destination_call_limit: CallLimits | None = Field(alias="DESTINATION_CALL_LIMIT", default=None)
    # Calls per caller ID (the call's SourcePhoneNumber, else its queue), so carriers do not label it as spam.
    source_call_limit: CallLimits | None = Field(alias="SOURCE_CALL_LIMIT", default=None)
    destination_calls_table_name: str | None = Field(
        alias="DESTINATION_CALLS_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN
    )
    # The suppression (do-not-call) list: its table, and the secret whose SecretString keys its HMAC of each number.
    suppression_table_name: str | None = Field(alias="SUPPRESSION_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN)
    suppression_key_secret_id: str | None = Field(
        alias="SUPPRESSION_KEY_SECRET_ID",
        default=None,
        min_length=1,
        max_length=SECRET_ID_MAX_LENGTH,
        pattern=SECRET_ID_PATTERN,
    )

    @field_validator(
        "allowed_destination_countries",
        "calling_hours",
        "calling_holidays",
        "destination_call_limit",
        "source_call_limit",
        "destination_calls_table_name",
        "suppression_table_name",
        "suppression_key_secret_id",
        mode="before",
    )
    @classmethod
    def _safety_blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    # (Pydantic runs "before" validators last-defined first: these see blank text too, and leave it to the above.)
    @field_validator("allowed_destination_countries", mode="before")
    @classmethod
    def _region_codes(cls, value: object) -> object:
        return parse_region_codes(value) if isinstance(value, str) and value.strip() else value

    @field_validator("blocked_number_types", mode="before")
    @classmethod
    def _number_types(cls, value: object) -> object:
        # Set but empty blocks no type: an operator's explicit choice, unlike unset (the default types).
        return parse_number_types(value) if isinstance(value, str) else value

    @field_validator("calling_hours", mode="before")
    @classmethod
    def _calling_hours(cls, value: object) -> object:
        return parse_calling_hours(value) if isinstance(value, str) and value.strip() else value

    @field_validator("destination_call_limit", "source_call_limit", mode="before")
    @classmethod
    def _call_limits(cls, value: object) -> object:
        return parse_call_limits(value) if isinstance(value, str) and value.strip() else value

    @field_validator("calling_holidays", mode="before")
    @classmethod
    def _holidays(cls, value: object) -> object:
        return parse_holidays(value) if isinstance(value, str) and value.strip() else value

    @field_validator("calling_blackout_dates", mode="before")
    @classmethod
    def _blackout_dates(cls, value: object) -> object:
        return parse_blackout_dates(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _tables_for_what_needs_them(self) -> Self:
        for name, limit in (
            ("DESTINATION_CALL_LIMIT", self.destination_call_limit),
            ("SOURCE_CALL_LIMIT", self.source_call_limit),
        ):
            if limit is not None and self.destination_calls_table_name is None:
                raise ValueError(f"{name} is set: DESTINATION_CALLS_TABLE_NAME must name the table counting it")
        if (self.suppression_table_name is None) != (self.suppression_key_secret_id is None):
            raise ValueError("SUPPRESSION_TABLE_NAME and SUPPRESSION_KEY_SECRET_ID are set together, or neither")
        return self
