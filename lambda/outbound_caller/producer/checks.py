"""Checking a call request before it is sent, with the function's own model, settings and calling-safety policy.

Nothing here is a copy of the function's rules: the request is validated by CallRequest with the deployment's
Settings, the destination by the same allowed_destination and calling-hours code the function runs. What is told
about a failure never quotes a phone number, an attribute or a producer's key (privacy.py, request/problems.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from outbound_caller.config.common import ConfigurationError
from outbound_caller.config.settings import Settings, load_settings
from outbound_caller.decisions import DESTINATION_NOT_ALLOWED_BY_POLICY
from outbound_caller.privacy import redact_phone_numbers
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.problems import validation_problems
from outbound_caller.safety.calling_hours import NoCallingHoursError, next_opening
from outbound_caller.safety.closed_days import closed_days
from outbound_caller.safety.destinations import DestinationNotAllowedError, allowed_destination
from outbound_caller.safety.policy import calling_hours_of

# Exit codes, one per way a send can fail, so that a script can tell them apart. 2 is argparse's usage error.
EXIT_USAGE = 2
EXIT_UNREADABLE = 3
EXIT_INVALID_JSON = 4
EXIT_INVALID_REQUEST = 5
EXIT_REFUSED_BY_POLICY = 6
EXIT_SETTINGS_UNAVAILABLE = 7
EXIT_SEND_FAILED = 8
EXIT_EVENT_NOT_ACCEPTED = 9

# The function's required variables (config.Settings): any of them in the environment means "validate with these".
REQUIRED_VARIABLES = ("CONNECT_INSTANCE_ID", "CONNECT_CONTACT_FLOW_ID", "DEAD_LETTER_QUEUE_URL")
# Where the ClientToken sent came from.
TOKEN_FROM_OPTION = "option"  # noqa: S105 - a name, not a secret
TOKEN_FROM_REQUEST = "request"  # noqa: S105 - a name, not a secret
TOKEN_GENERATED = "generated"  # noqa: S105 - a name, not a secret
# Stand-ins a model-only check gives the deployment's members that the request does not name.
_MODEL_ONLY = "model-only"
_MODEL_ONLY_CALLER_ID = "+10000000000"
_MODEL_ONLY_QUEUE_URL = "https://model-only.invalid/"


class ProducerError(Exception):
    """A request that cannot be sent as asked: a message safe to print, its problems, and the exit code."""

    def __init__(self, message: str, exit_code: int, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.problems = problems or []


def read_request(source: str, stdin: TextIO) -> dict[str, Any]:
    """The request as a JSON object, from inline JSON (starting with '{'), '-' for stdin, or a file path."""
    if source == "-":
        text, where = stdin.read(), "stdin"
    elif source.lstrip().startswith("{"):
        text, where = source, "the inline request"
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ProducerError(f"cannot read the request file {source}: {reason}", EXIT_UNREADABLE) from None
        where = source
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # error.msg names the problem, never the text around it (which may hold a phone number).
        message = f"{where} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise ProducerError(message, EXIT_INVALID_JSON) from None
    if not isinstance(document, dict):
        message = f"{where} is a JSON {type(document).__name__}, not an object: a call request is a JSON object"
        raise ProducerError(message, EXIT_INVALID_REQUEST)
    return document


def with_client_token(document: dict[str, Any], option: str | None) -> tuple[dict[str, Any], str, str]:
    """The request carrying its ClientToken, the token, and where it came from.

    The token goes in the body, so every delivery of this message (a redelivery, a deferral, a redrive) is the
    same call to Connect, whatever envelope carries it.
    """
    own = document.get("ClientToken")
    if option is not None:
        if own is not None and own != option:
            raise ProducerError(
                "--client-token differs from the request's own ClientToken: a token names one call, give one only",
                EXIT_USAGE,
            )
        return {**document, "ClientToken": option}, option, TOKEN_FROM_OPTION
    if isinstance(own, str):
        return document, own, TOKEN_FROM_REQUEST
    if own is not None:
        # Not text: left for the model to refuse, with its own message.
        return document, "", TOKEN_FROM_REQUEST
    token = str(uuid.uuid4())
    return {**document, "ClientToken": token}, token, TOKEN_GENERATED


def has_function_settings(environ: Mapping[str, str]) -> bool:
    """Whether the environment sets any of the function's required variables (then it must set them all)."""
    return any(name in environ for name in REQUIRED_VARIABLES)


def parse_settings(variables: Mapping[str, str], where: str) -> Settings:
    """The function's Settings from its variables, as the function parses them; ProducerError when invalid."""
    try:
        return load_settings(variables)
    except ConfigurationError as error:
        raise ProducerError(f"the settings of {where} are unusable: {error}", EXIT_SETTINGS_UNAVAILABLE) from None


def model_only_settings(document: Mapping[str, Any]) -> Settings:
    """Settings that allow whatever the request names: only the model's own rules apply, none of a deployment's."""

    def named(member: str) -> str | None:
        value = document.get(member)
        return value if isinstance(value, str) else None

    # Not validated: the stand-ins only need to admit the request's own values, which the model still checks.
    return Settings.model_construct(
        instance_id=named("InstanceId") or _MODEL_ONLY,
        contact_flow_id=named("ContactFlowId") or _MODEL_ONLY,
        source_phone_number=named("SourcePhoneNumber") or _MODEL_ONLY_CALLER_ID,
        queue_id=named("QueueId"),
        allow_related_contact=True,
        dead_letter_queue_url=_MODEL_ONLY_QUEUE_URL,
        message_signing_key_secret_id=_MODEL_ONLY,
    )


def validate(document: Mapping[str, Any], settings: Settings) -> CallRequest:
    """The request validated exactly as the function validates it; ProducerError listing each problem."""
    try:
        return CallRequest.model_validate(document, context=settings)
    except ValidationError as error:
        problems = [redact_phone_numbers(problem) for problem in validation_problems(error)]
        message = f"the request is invalid ({len(problems)} problem(s)); the function would dead-letter it"
        raise ProducerError(message, EXIT_INVALID_REQUEST, problems) from None


def check_calling_safety(request: CallRequest, settings: Settings, now: datetime) -> list[str]:
    """Refuse a destination the deployment never calls (ProducerError); else a note if calling hours defer it."""
    try:
        destination = allowed_destination(request.DestinationPhoneNumber, settings)
        hours = calling_hours_of(settings)
        opening = (
            next_opening(
                hours, destination.time_zones, int(now.timestamp() * 1000), closed_days(settings, destination.region)
            )
            if hours is not None
            else None
        )
    except (DestinationNotAllowedError, NoCallingHoursError) as error:
        message = f"the deployment's calling-safety policy refuses the destination: {error}"
        raise ProducerError(
            f"{message} (the function would dead-letter it as {DESTINATION_NOT_ALLOWED_BY_POLICY})",
            EXIT_REFUSED_BY_POLICY,
        ) from None
    if opening is None:
        return []
    start = datetime.fromtimestamp(opening.start_ms / 1000, UTC).isoformat(timespec="minutes")
    return [
        "outside CALLING_HOURS (or on a closed day) in the callee's time zone now:"
        f" the function will defer it to {start}"
    ]


def timing_notes(request: CallRequest, now: datetime) -> list[str]:
    """What the request's own NotBefore and ExpiresAt mean for it, sent now."""
    if request.ExpiresAt is not None and request.ExpiresAt <= now:
        return ["ExpiresAt has passed: the function will dead-letter it as Expired, never dial it"]
    if request.NotBefore is not None and request.NotBefore > now:
        return [f"NotBefore is ahead: the function will defer it until {request.NotBefore.isoformat()}"]
    return []
