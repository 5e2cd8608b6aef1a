"""The opt-out function's configuration, parsed once from its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbound_caller.config.common import (
    RESULT_EVENT_BUS_PATTERN,
    SECRET_ID_MAX_LENGTH,
    TABLE_NAME_PATTERN,
    ConfigurationError,
)


class OptOutSettings(BaseModel):
    """The suppression list the function changes, its key, and where each change is announced."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    suppression_table_name: str = Field(alias="SUPPRESSION_TABLE_NAME", pattern=TABLE_NAME_PATTERN)
    suppression_key_secret_id: str = Field(
        alias="SUPPRESSION_KEY_SECRET_ID", min_length=1, max_length=SECRET_ID_MAX_LENGTH, pattern=r"^\S+$"
    )
    result_event_bus_name: str | None = Field(
        alias="RESULT_EVENT_BUS_NAME", default=None, pattern=RESULT_EVENT_BUS_PATTERN
    )


def load_optout_settings(environ: Mapping[str, str] | None = None) -> OptOutSettings:
    """Parse the settings; raise ConfigurationError naming each missing or malformed variable."""
    source = dict(os.environ if environ is None else environ)
    if not (source.get("RESULT_EVENT_BUS_NAME") or "").strip():
        source.pop("RESULT_EVENT_BUS_NAME", None)
    try:
        return OptOutSettings.model_validate(source)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
            for detail in error.errors(include_input=False, include_url=False)
        ]
        raise ConfigurationError("Invalid opt-out function configuration: " + "; ".join(problems)) from None
