"""The completion handler's configuration, parsed once from its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbound_caller.api_limits import INSTANCE_ID_MAX_LENGTH
from outbound_caller.config.common import RESULT_EVENT_BUS_PATTERN, ConfigurationError

# DynamoDB table names: 3-255 of letters, digits, '_', '-', '.'.
_TABLE_NAME = r"^[A-Za-z0-9_.-]{3,255}$"


class CompletionSettings(BaseModel):
    """Where the completion handler finds placed calls, and where it publishes their completion."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # The instance whose contacts ended (DescribeContact names it), as the caller function knows it.
    instance_id: str = Field(alias="CONNECT_INSTANCE_ID", min_length=1, max_length=INSTANCE_ID_MAX_LENGTH)
    # The placed-calls ledger, under the name the caller function knows it by.
    placed_calls_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", pattern=_TABLE_NAME)
    result_event_bus_name: str = Field(alias="RESULT_EVENT_BUS_NAME", pattern=RESULT_EVENT_BUS_PATTERN)


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
