"""From the app's context to the deployment's settings: every problem at once, each named by its context key, a key's
likely typo guessed, and what the function itself would refuse at its cold start caught at synth instead.

Pure pydantic (no aws_cdk import): app.py, preflight, the local pipeline and the bench load settings through it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from infra.function_check import (
    PLACEHOLDER_BUS_ARN,
    PLACEHOLDER_FIFO_QUEUE_URL,
    PLACEHOLDER_QUEUE_URL,
    PLACEHOLDER_SECRET_ARN,
    PLACEHOLDER_TABLE_NAME,
    function_refusals,
    stack_function_refusals,
)
from infra.function_environment import SlotHandOverResources, completion_environment, optout_environment
from infra.repository import CDK_JSON_PATH
from infra.settings import DeploymentSettings

CONTEXT_KEYS: tuple[str, ...] = tuple(
    field.alias for field in DeploymentSettings.model_fields.values() if field.alias is not None
)


class InvalidDeploymentSettings(ValueError):  # noqa: N818 - the name local/ and app.py import
    """A context value is missing or invalid; the message names the context key."""


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    if error["type"] == "missing":
        return f"context value {location!r} is required: set it in cdk.json or with -c {location}=..."
    if error["type"] == "extra_forbidden":
        return f"context key {location!r} is not a setting of this app"
    message = message[0].lower() + message[1:]
    return f"context value {location!r}: {message}" + ("" if "got " in message else f" (got {error.get('input')!r})")


def _misspelt_keys(context: Mapping[str, Any]) -> list[str]:
    """Context keys that are not settings but look like a typo of one (CDK's own keys contain ':' or '@')."""
    problems = []
    for key in context:
        if key in CONTEXT_KEYS or ":" in key or key.startswith("@"):
            continue
        close = difflib.get_close_matches(key, CONTEXT_KEYS, n=1, cutoff=0.85)
        if close:
            problems.append(f"context key {key!r} is not a setting; did you mean {close[0]!r}?")
    return problems


def settings_from_context(context: Mapping[str, Any]) -> DeploymentSettings:
    """Validate the app's context values; raise InvalidDeploymentSettings naming each bad key."""
    problems = _misspelt_keys(context)
    settings = None
    try:
        settings = DeploymentSettings.model_validate({key: context[key] for key in CONTEXT_KEYS if key in context})
    except ValidationError as error:
        problems.extend(_describe(detail) for detail in error.errors())
    if settings is not None:
        problems.extend(_function_refusals(settings))
    if problems or settings is None:
        raise InvalidDeploymentSettings("Invalid deployment settings:\n  - " + "\n  - ".join(problems))
    return settings


def _function_refusals(settings: DeploymentSettings) -> list[str]:
    """The functions' own checks, on the environments the stack would give them: what one would refuse at every cold
    start fails synth instead, naming the context key."""
    # A bus the stack creates is its own ARN; a named one is the context value, checked as the functions do.
    result_bus = (settings.result_event_bus_name or PLACEHOLDER_BUS_ARN) if settings.result_events else None
    suppression = (PLACEHOLDER_TABLE_NAME, PLACEHOLDER_SECRET_ARN) if settings.suppression_list else (None, None)
    caller = settings.function_environment(
        PLACEHOLDER_QUEUE_URL,
        PLACEHOLDER_TABLE_NAME,
        source_queue_url=PLACEHOLDER_QUEUE_URL,
        message_signing_key_secret_id=PLACEHOLDER_SECRET_ARN,
        destination_calls_table_name=PLACEHOLDER_TABLE_NAME,
        result_event_bus_name=result_bus,
        suppression_table_name=suppression[0],
        suppression_key_secret_id=suppression[1],
        waiting_room_queue_url=PLACEHOLDER_FIFO_QUEUE_URL if settings.has_waiting_room else None,
    )
    hand_over = (
        SlotHandOverResources(
            PLACEHOLDER_FIFO_QUEUE_URL, PLACEHOLDER_QUEUE_URL, PLACEHOLDER_SECRET_ARN, settings.concurrent_calls_limit
        )
        if settings.has_waiting_room
        else None
    )
    completion = (
        completion_environment(
            settings.instance_id,
            PLACEHOLDER_TABLE_NAME,
            result_bus,
            hand_over=hand_over,
            agent_pacing=settings.agent_pacing,
        )
        if result_bus
        else None
    )
    optout = (
        optout_environment(PLACEHOLDER_TABLE_NAME, PLACEHOLDER_SECRET_ARN, result_bus)
        if settings.suppression_list
        else None
    )
    return function_refusals(caller) + stack_function_refusals(completion, optout)


def load_cdk_json_settings(path: Path = CDK_JSON_PATH) -> DeploymentSettings:
    """Read and validate the context values committed in cdk.json."""
    return settings_from_context(json.loads(path.read_text(encoding="utf-8")).get("context", {}))
