"""The caller function's configuration, parsed once from its environment.

Its fields come in groups, each in its own module: Connect (connect_fields.py), pacing (pacing_fields.py), calling
safety (safety_fields.py) and redial (redial_fields.py); here, where requests go after the function, what it records
and signs, and the rules that join the groups. Each group names its validators apart: a validator of the same name
in Settings would replace its group's, silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import Field, ValidationError, field_validator, model_validator

from outbound_caller.config.common import (
    FROZEN,
    QUEUE_URL_PATTERN,
    RESULT_EVENT_BUS_PATTERN,
    SECRET_ID_MAX_LENGTH,
    SECRET_ID_PATTERN,
    TABLE_NAME_PATTERN,
    ConfigurationError,
    blank_is_unset,
)
from outbound_caller.config.connect_fields import ConnectFields
from outbound_caller.config.pacing_fields import PacingFields
from outbound_caller.config.redial_fields import RedialFields
from outbound_caller.config.safety_fields import CallingSafetyFields
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS

# The contract's default bound on deferral: a day from the request's first arrival.
DEFAULT_MAX_DEFERRAL_SECONDS = 86_400
# SQS redrive policies take a maxReceiveCount of 1 to 1,000.
MAX_MAX_RECEIVE_COUNT = 1000


class Settings(ConnectFields, PacingFields, CallingSafetyFields, RedialFields):
    """Everything the function reads from its environment, validated once at start."""

    model_config = FROZEN

    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", pattern=QUEUE_URL_PATTERN)
    # Where deferred requests are sent back; unset: derived from each record's eventSourceARN.
    source_queue_url: str | None = Field(alias="SOURCE_QUEUE_URL", default=None, pattern=QUEUE_URL_PATTERN)
    # The placed-calls ledger.
    idempotency_table_name: str | None = Field(alias="IDEMPOTENCY_TABLE_NAME", default=None, pattern=TABLE_NAME_PATTERN)
    max_deferral_seconds: int = Field(
        alias="MAX_DEFERRAL_SECONDS", default=DEFAULT_MAX_DEFERRAL_SECONDS, ge=0, le=MAX_DEFERRAL_LIMIT_SECONDS
    )
    # The source queue's maxReceiveCount; unset: the function never dead-letters a retryable record itself.
    max_receive_count: int | None = Field(alias="MAX_RECEIVE_COUNT", default=None, ge=1, le=MAX_MAX_RECEIVE_COUNT)
    # The Secrets Manager secret (name or ARN) whose SecretString keys the MAC the function puts on every message it
    # sends (deferrals, dead-letters): the attributes that steer a request are trusted only under that MAC.
    message_signing_key_secret_id: str = Field(
        alias="MESSAGE_SIGNING_KEY_SECRET_ID",
        min_length=1,
        max_length=SECRET_ID_MAX_LENGTH,
        pattern=SECRET_ID_PATTERN,
    )
    # Where each record's outcome is published (results/); unset: no result events, and no EventBridge client.
    result_event_bus_name: str | None = Field(
        alias="RESULT_EVENT_BUS_NAME", default=None, pattern=RESULT_EVENT_BUS_PATTERN
    )

    @field_validator(
        "idempotency_table_name", "max_receive_count", "source_queue_url", "result_event_bus_name", mode="before"
    )
    @classmethod
    def _delivery_blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    @model_validator(mode="after")
    def _ledger_for_what_needs_it(self) -> Self:
        if self.redial_policy.redials and self.idempotency_table_name is None:
            raise ValueError("REDIAL_MAX_ATTEMPTS and REDIAL_ON redial: IDEMPOTENCY_TABLE_NAME must name the ledger")
        if self.agent_pacing and self.idempotency_table_name is None:
            # The queues' agents and the calls counting on them are shared in the ledger's table.
            raise ValueError("AGENT_PACING is on: IDEMPOTENCY_TABLE_NAME must name the ledger")
        if self.waiting_room_queue_url is not None and self.idempotency_table_name is None:
            # Slots are handed on through the instance's shared state, kept in the ledger's table.
            raise ValueError("WAITING_ROOM_QUEUE_URL is set: IDEMPOTENCY_TABLE_NAME must name the ledger")
        return self


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
