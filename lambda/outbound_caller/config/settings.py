"""The function's configuration, parsed once from its environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from outbound_caller.api_limits import CONTACT_FLOW_ID_MAX_LENGTH, E164_PATTERN, INSTANCE_ID_MAX_LENGTH
from outbound_caller.config.call_limits import CallLimits, parse_call_limits
from outbound_caller.config.calling_hours import CallingHours, parse_calling_hours
from outbound_caller.config.closed_days import parse_blackout_dates, parse_holidays
from outbound_caller.config.destinations import DEFAULT_BLOCKED_NUMBER_TYPES, parse_number_types, parse_region_codes
from outbound_caller.config.redial import (
    DEFAULT_REDIAL_ATTEMPTS,
    DEFAULT_REDIAL_INTERVAL_SECONDS,
    DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS,
    MAX_REDIAL_ATTEMPTS,
    MAX_REDIAL_OUTCOME_WAIT_SECONDS,
    MIN_REDIAL_INTERVAL_SECONDS,
    RedialPolicy,
    parse_outcomes,
)
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS

# Connect's default StartOutboundVoiceContact quota is 2 requests/s with a burst of 5, per account and Region.
DEFAULT_CALLS_PER_SECOND = 2.0
DEFAULT_CALLS_BURST = 5.0
# Connect's default quota of concurrent active calls per instance.
DEFAULT_CONCURRENT_CALLS_LIMIT = 10
MAX_CONCURRENT_CALLS_LIMIT = 100_000
# The contract's default bound on deferral: a day from the request's first arrival.
DEFAULT_MAX_DEFERRAL_SECONDS = 86_400
# SQS redrive policies take a maxReceiveCount of 1 to 1,000.
MAX_MAX_RECEIVE_COUNT = 1000
# An SQS event source mapping's maximum concurrency is 2 to 1,000 (Lambda ScalingConfig).
MIN_MAX_CONCURRENCY = 2
MAX_MAX_CONCURRENCY = 1000
# An EventBridge event bus name (1-256 of letters, digits, '.', '-', '_', '/') or its ARN, as PutEvents'
# EventBusName takes either.
RESULT_EVENT_BUS_PATTERN = r"^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[A-Za-z0-9._/-]{1,256}$"


# DynamoDB table names: 3-255 of letters, digits, '_', '-', '.'.
TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{3,255}$"
# Secrets Manager's SecretId: a name or an ARN of 1 to 2,048 characters.
SECRET_ID_MAX_LENGTH = 2048


class ConfigurationError(RuntimeError):
    """The function's environment is missing a variable or holds a malformed one."""


class Settings(BaseModel):
    """Everything the function reads from its environment, validated once at start."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    instance_id: str = Field(alias="CONNECT_INSTANCE_ID", min_length=1, max_length=INSTANCE_ID_MAX_LENGTH)
    contact_flow_id: str = Field(alias="CONNECT_CONTACT_FLOW_ID", min_length=1, max_length=CONTACT_FLOW_ID_MAX_LENGTH)
    extra_contact_flow_ids: frozenset[str] = Field(alias="CONNECT_ALLOWED_CONTACT_FLOW_IDS", default=frozenset())
    source_phone_number: str | None = Field(alias="CONNECT_SOURCE_PHONE_NUMBER", default=None, pattern=E164_PATTERN)
    queue_id: str | None = Field(alias="CONNECT_QUEUE_ID", default=None, min_length=1)
    extra_source_phone_numbers: frozenset[str] = Field(
        alias="CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS", default=frozenset()
    )
    extra_queue_ids: frozenset[str] = Field(alias="CONNECT_ALLOWED_QUEUE_IDS", default=frozenset())
    # RelatedContactId copies another contact's attributes into the call: refused unless the deployment opts in.
    allow_related_contact: bool = Field(alias="ALLOW_RELATED_CONTACT", default=False)
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", pattern=r"^https?://\S+$")
    # Where deferred requests are sent back; unset: derived from each record's eventSourceARN.
    source_queue_url: str | None = Field(alias="SOURCE_QUEUE_URL", default=None, pattern=r"^https?://\S+$")
    # DynamoDB table names: 3-255 of letters, digits, '_', '-', '.'.
    idempotency_table_name: str | None = Field(alias="IDEMPOTENCY_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN)
    calls_per_second: float = Field(
        alias="CALLS_PER_SECOND", default=DEFAULT_CALLS_PER_SECOND, gt=0, allow_inf_nan=False
    )
    # The share of the quota's burst, summed over concurrent invocations like calls_per_second.
    calls_burst: float = Field(alias="CALLS_BURST", default=DEFAULT_CALLS_BURST, ge=1, allow_inf_nan=False)
    max_concurrency: int = Field(
        alias="MAX_CONCURRENCY", default=MIN_MAX_CONCURRENCY, ge=MIN_MAX_CONCURRENCY, le=MAX_MAX_CONCURRENCY
    )
    # The instance's concurrent active calls quota: how many calls free up between two tries of a full instance.
    concurrent_calls_limit: int = Field(
        alias="CONCURRENT_CALLS_LIMIT", default=DEFAULT_CONCURRENT_CALLS_LIMIT, ge=1, le=MAX_CONCURRENT_CALLS_LIMIT
    )
    max_deferral_seconds: int = Field(
        alias="MAX_DEFERRAL_SECONDS", default=DEFAULT_MAX_DEFERRAL_SECONDS, ge=0, le=MAX_DEFERRAL_LIMIT_SECONDS
    )
    # The source queue's maxReceiveCount; unset: the function never dead-letters a retryable record itself.
    max_receive_count: int | None = Field(alias="MAX_RECEIVE_COUNT", default=None, ge=1, le=MAX_MAX_RECEIVE_COUNT)
    # Calling safety. Where a call may go: these regions only (unset: any), never these number types.
    allowed_destination_countries: frozenset[str] | None = Field(alias="ALLOWED_DESTINATION_COUNTRIES", default=None)
    blocked_number_types: frozenset[str] = Field(alias="BLOCKED_NUMBER_TYPES", default=DEFAULT_BLOCKED_NUMBER_TYPES)
    # When: a daily window in the callee's local time (unset: any time). How often: calls per number per window,
    # counted in their own table.
    calling_hours: CallingHours | None = Field(alias="CALLING_HOURS", default=None)
    # Whole local days with no call: the callee country's public holidays ("national"), and blackout dates.
    calling_holidays: str | None = Field(alias="CALLING_HOLIDAYS", default=None)
    calling_blackout_dates: frozenset[date] = Field(alias="CALLING_BLACKOUT_DATES", default=frozenset())
    destination_call_limit: CallLimits | None = Field(alias="DESTINATION_CALL_LIMIT", default=None)
    # Calls per caller ID (the call's SourcePhoneNumber, else its queue), so carriers do not label it as spam.
    source_call_limit: CallLimits | None = Field(alias="SOURCE_CALL_LIMIT", default=None)
    destination_calls_table_name: str | None = Field(
        alias="DESTINATION_CALLS_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN
    )
    # The suppression (do-not-call) list: its table, and the secret whose SecretString keys its HMAC of each number.
    suppression_table_name: str | None = Field(alias="SUPPRESSION_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN)
    suppression_key_secret_id: str | None = Field(
        alias="SUPPRESSION_KEY_SECRET_ID", default=None, min_length=1, max_length=SECRET_ID_MAX_LENGTH, pattern=r"^\S+$"
    )
    # The Secrets Manager secret (name or ARN) whose SecretString keys the MAC the function puts on every message it
    # sends (deferrals, dead-letters): the attributes that steer a request are trusted only under that MAC.
    message_signing_key_secret_id: str = Field(
        alias="MESSAGE_SIGNING_KEY_SECRET_ID", min_length=1, max_length=SECRET_ID_MAX_LENGTH, pattern=r"^\S+$"
    )
    # The redial policy (config/redial.py): outcomes that earn another attempt, attempts in all, their interval, and how
    # long an attempt's outcome may take to be known.
    redial_on: frozenset[str] = Field(alias="REDIAL_ON", default=frozenset())
    redial_max_attempts: int = Field(
        alias="REDIAL_MAX_ATTEMPTS", default=DEFAULT_REDIAL_ATTEMPTS, ge=1, le=MAX_REDIAL_ATTEMPTS
    )
    redial_interval_seconds: int = Field(
        alias="REDIAL_INTERVAL_SECONDS", default=DEFAULT_REDIAL_INTERVAL_SECONDS, ge=MIN_REDIAL_INTERVAL_SECONDS
    )
    redial_outcome_wait_seconds: int = Field(
        alias="REDIAL_OUTCOME_WAIT_SECONDS",
        default=DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS,
        ge=MIN_REDIAL_INTERVAL_SECONDS,
        le=MAX_REDIAL_OUTCOME_WAIT_SECONDS,
    )
    # Where each record's outcome is published (results/); unset: no result events, and no EventBridge client.
    result_event_bus_name: str | None = Field(
        alias="RESULT_EVENT_BUS_NAME", default=None, pattern=RESULT_EVENT_BUS_PATTERN
    )

    @field_validator("extra_contact_flow_ids", "extra_source_phone_numbers", "extra_queue_ids", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "source_phone_number",
        "queue_id",
        "idempotency_table_name",
        "max_receive_count",
        "source_queue_url",
        "allowed_destination_countries",
        "calling_hours",
        "calling_holidays",
        "destination_call_limit",
        "source_call_limit",
        "destination_calls_table_name",
        "suppression_table_name",
        "suppression_key_secret_id",
        "result_event_bus_name",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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

    @field_validator("redial_on", mode="before")
    @classmethod
    def _redial_on(cls, value: object) -> object:
        return parse_outcomes(value) if isinstance(value, str) else value

    @field_validator("calling_holidays", mode="before")
    @classmethod
    def _holidays(cls, value: object) -> object:
        return parse_holidays(value) if isinstance(value, str) and value.strip() else value

    @field_validator("calling_blackout_dates", mode="before")
    @classmethod
    def _blackout_dates(cls, value: object) -> object:
        return parse_blackout_dates(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _call_limit_has_a_table(self) -> Settings:
        for name, limit in (
            ("DESTINATION_CALL_LIMIT", self.destination_call_limit),
            ("SOURCE_CALL_LIMIT", self.source_call_limit),
        ):
            if limit is not None and self.destination_calls_table_name is None:
                raise ValueError(f"{name} is set: DESTINATION_CALLS_TABLE_NAME must name the table counting it")
        if self.redial_policy.redials and self.idempotency_table_name is None:
            raise ValueError("REDIAL_MAX_ATTEMPTS and REDIAL_ON redial: IDEMPOTENCY_TABLE_NAME must name the ledger")
        if (self.suppression_table_name is None) != (self.suppression_key_secret_id is None):
            raise ValueError("SUPPRESSION_TABLE_NAME and SUPPRESSION_KEY_SECRET_ID are set together, or neither")
        return self

    @field_validator("extra_contact_flow_ids")
    @classmethod
    def _flow_ids_within_limits(cls, value: frozenset[str]) -> frozenset[str]:
        if any(len(flow_id) > CONTACT_FLOW_ID_MAX_LENGTH for flow_id in value):
            raise ValueError(f"a contact flow ID is longer than {CONTACT_FLOW_ID_MAX_LENGTH} characters")
        return value

    @field_validator("extra_source_phone_numbers")
    @classmethod
    def _source_numbers_are_e164(cls, value: frozenset[str]) -> frozenset[str]:
        if any(not re.fullmatch(E164_PATTERN, number) for number in value):
            raise ValueError("every caller ID must be an E.164 number like +15555550100")
        return value

    @property
    def redial_policy(self) -> RedialPolicy:
        """The deployment's redial policy, which a request may narrow."""
        return RedialPolicy(
            on=self.redial_on,
            max_attempts=self.redial_max_attempts,
            interval_seconds=self.redial_interval_seconds,
            outcome_wait_seconds=self.redial_outcome_wait_seconds,
        )

    @property
    def allowed_source_phone_numbers(self) -> frozenset[str]:
        """The default caller ID and every extra one a request may name."""
        default = {self.source_phone_number} if self.source_phone_number else set()
        return self.extra_source_phone_numbers | default

    @property
    def allowed_queue_ids(self) -> frozenset[str]:
        """The default queue and every extra one a request may name."""
        return self.extra_queue_ids | ({self.queue_id} if self.queue_id else set())

    @property
    def allowed_contact_flow_ids(self) -> frozenset[str]:
        """The default flow and every extra flow a request may name."""
        return self.extra_contact_flow_ids | {self.contact_flow_id}

    @property
    def calls_per_second_per_invocation(self) -> float:
        """This invocation's share of the quota: the deployment's share split over concurrent invocations."""
        return self.calls_per_second / self.max_concurrency

    @property
    def calls_burst_per_invocation(self) -> float:
        """This invocation's share of the burst; at least one call, or it could never start one."""
        return max(1.0, self.calls_burst / self.max_concurrency)


_ALIASES = {name: field.alias or name for name, field in Settings.model_fields.items()}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse the settings from the environment; raise ConfigurationError naming each bad variable."""
    source = os.environ if environ is None else environ
    try:
        return Settings.model_validate(dict(source))
    except ValidationError as error:
        problems = []
        for detail in error.errors(include_input=False, include_url=False):
            location = ".".join(str(part) for part in detail["loc"]) or "configuration"
            variable = _ALIASES.get(location, location)
            problems.append(f"{variable}: {detail['msg']}")
        raise ConfigurationError("Invalid function configuration: " + "; ".join(problems)) from None
