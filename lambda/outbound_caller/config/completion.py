"""The completion handler's configuration, parsed once from its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from outbound_caller.api_limits import INSTANCE_ID_MAX_LENGTH
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
from outbound_caller.config.pacing_fields import DEFAULT_CONCURRENT_CALLS_LIMIT, MAX_CONCURRENT_CALLS_LIMIT


class CompletionSettings(BaseModel):
    """Where the completion handler finds placed calls, where it publishes their completion, and where it hands each
    ended call's slot on."""

    model_config = FROZEN

    # The instance whose contacts ended (DescribeContact names it), as the caller function knows it.
    instance_id: str = Field(alias="CONNECT_INSTANCE_ID", min_length=1, max_length=INSTANCE_ID_MAX_LENGTH)
    # The placed-calls ledger, under the name the caller function knows it by.
    placed_calls_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", pattern=TABLE_NAME_PATTERN)
    result_event_bus_name: str = Field(alias="RESULT_EVENT_BUS_NAME", pattern=RESULT_EVENT_BUS_PATTERN)
    # The waiting room and the source queue its requests are drawn into, the key that signs a handed-over slot, and
    # the instance's concurrent calls (as the caller knows them): all set, or none (no hand-over).
    waiting_room_queue_url: str | None = Field(alias="WAITING_ROOM_QUEUE_URL", default=None, pattern=QUEUE_URL_PATTERN)
    source_queue_url: str | None = Field(alias="SOURCE_QUEUE_URL", default=None, pattern=QUEUE_URL_PATTERN)
    message_signing_key_secret_id: str | None = Field(
        alias="MESSAGE_SIGNING_KEY_SECRET_ID",
        default=None,
        min_length=1,
        max_length=SECRET_ID_MAX_LENGTH,
        pattern=SECRET_ID_PATTERN,
    )
    concurrent_calls_limit: int = Field(
        alias="CONCURRENT_CALLS_LIMIT", default=DEFAULT_CONCURRENT_CALLS_LIMIT, ge=1, le=MAX_CONCURRENT_CALLS_LIMIT
    )
    # Agent pacing, as the caller: each call's claim on an agent of its queue ends when its contact connects to an
    # agent (CONNECTED_TO_AGENT) or ends.
    agent_pacing: bool = Field(alias="AGENT_PACING", default=False)

    @field_validator("waiting_room_queue_url", "source_queue_url", "message_signing_key_secret_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    @model_validator(mode="after")
    def _waiting_room_has_its_queue_and_key(self) -> Self:
        if self.waiting_room_queue_url is not None and (
            self.source_queue_url is None or self.message_signing_key_secret_id is None
        ):
            raise ValueError(
                "WAITING_ROOM_QUEUE_URL is set: SOURCE_QUEUE_URL and MESSAGE_SIGNING_KEY_SECRET_ID must be set too"
            )
        return self


def load_completion_settings(environ: Mapping[str, str] | None = None) -> CompletionSettings:
    """Parse the settings; raise ConfigurationError naming each missing or malformed variable."""
    source = os.environ if environ is None else environ
    try:
        return CompletionSettings.model_validate(dict(source))
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
            for detail in error.errors(include_input=False, include_url=False)
        ]
        raise ConfigurationError("Invalid completion handler configuration: " + "; ".join(problems)) from None
