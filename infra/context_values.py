"""How one context value is read: unset as `-c key=` gives it, lists as `-c key=a,b` or JSON give them, and the check
each kind of value gets, as the annotated types the settings declare their fields with (infra/settings.py).

A check says what was expected and what came; the settings name the context key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from infra.producers import check_principal
from outbound_caller.api_limits import E164_PATTERN as FUNCTION_E164_PATTERN
from outbound_caller.config.call_limits import parse_call_limits
from outbound_caller.config.calling_hours import parse_calling_hours
from outbound_caller.config.closed_days import parse_blackout_dates, parse_holidays
from outbound_caller.config.destinations import DEFAULT_BLOCKED_NUMBER_TYPES, parse_number_types, parse_region_codes
from outbound_caller.config.pacing_fields import MAX_AGENT_METRICS_TTL_SECONDS, MAX_AGENT_PACING_RATIO
from outbound_caller.config.redial import (
    MAX_REDIAL_ATTEMPTS,
    MAX_REDIAL_OUTCOME_WAIT_SECONDS,
    MIN_REDIAL_INTERVAL_SECONDS,
    parse_outcomes,
)

# allowedDestinationCountries' value for "any country": the stack's default is the caller ID's country only.
ANY_COUNTRY = "*"
# The stack's blocked number types: the contract's default pair, and numbers libphonenumber cannot validate (UNKNOWN):
# a premium-rate number with a digit too many is UNKNOWN to it, and open numbering plans (Germany, Austria) may still
# connect it. Secure by default, like the countries; an operator who needs such numbers removes UNKNOWN.
STACK_BLOCKED_NUMBER_TYPES = tuple(sorted(DEFAULT_BLOCKED_NUMBER_TYPES | {"UNKNOWN"}))

# The patterns below are applied with fullmatch: re.match's "$" also matches before a trailing newline.
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# E.164: '+', first digit 1-9, at most 15 digits in all (the function's own pattern).
E164_PATTERN = re.compile(FUNCTION_E164_PATTERN)
# EventBridge event bus names: 1-256 of letters, digits, '.', '-', '_', '/'.
EVENT_BUS_NAME_PATTERN = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")
EVENT_BUS_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[/.\-_A-Za-z0-9]{1,256}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Standard (not FIFO: CloudWatch alarms cannot publish to FIFO topics, and a FIFO topic can only deliver to FIFO
# queues, which the source queue is not) SNS topic ARNs.
SNS_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")

_UNSET_STRINGS = frozenset({"", "null", "none"})


def blank_to_none(value: Any) -> Any:
    """Treat '', 'null' and 'none' (as `-c key=` gives them) as unset."""
    if isinstance(value, str) and value.strip().lower() in _UNSET_STRINGS:
        return None
    return value


def to_tuple(value: Any) -> Any:
    """Accept a list, a JSON list string or a comma-separated string (as `-c key=a,b` gives it)."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"is not a valid JSON list ({error.msg})") from error
        else:
            return tuple(item.strip() for item in text.split(",") if item.strip())
    if isinstance(value, list | tuple):
        return tuple(item.strip() if isinstance(item, str) else item for item in value)
    return value


def _when_set(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """The check for a value that may be unset: None passes as it is."""
    return lambda value: None if value is None else check(value)


def _connect_id(value: str) -> str:
    """Return a Connect resource ID normalised to lower case, or raise naming the problem."""
    normalised = value.strip().lower()
    if normalised.startswith("arn:"):
        raise ValueError(f"must be the ID (a UUID), not an ARN: got {value!r}")
    if not UUID_PATTERN.fullmatch(normalised):
        raise ValueError(f"must be a UUID like 12345678-abcd-4ef0-9876-0123456789ab, got {value!r}")
    return normalised


def _connect_ids(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_connect_id(item) for item in value))


def _unique(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value))


def _e164(value: str) -> str:
    if not E164_PATTERN.fullmatch(value):
        raise ValueError(f"must be an E.164 number like +15555550100, got {value!r}")
    return value


def _non_empty_items(value: tuple[str, ...]) -> tuple[str, ...]:
    if any(not item for item in value):
        raise ValueError("must not contain empty strings")
    return value


def _principals(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(check_principal(item) for item in value))


def _bus_name(value: str) -> str:
    # Unset: the stack creates a bus of its own. A name (also "default") is an existing bus others share.
    if not EVENT_BUS_NAME_PATTERN.fullmatch(value):
        raise ValueError(f"must be an event bus name (not an ARN), got {value!r}")
    return value


def _bus_name_or_arn(value: str) -> str:
    if not any(pattern.fullmatch(value) for pattern in (EVENT_BUS_NAME_PATTERN, EVENT_BUS_ARN_PATTERN)):
        raise ValueError(
            f"must be an event bus name or ARN (arn:aws:events:<region>:<account>:event-bus/<name>), got {value!r}"
        )
    return value


def _email(value: str) -> str:
    if not EMAIL_PATTERN.fullmatch(value):
        raise ValueError(f"must be an email address, got {value!r}")
    return value


def _topic_arn(value: str) -> str:
    if not SNS_TOPIC_ARN_PATTERN.fullmatch(value):
        raise ValueError(f"must be a standard SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got {value!r}")
    return value


def _topic_arns(value: tuple[str, ...]) -> tuple[str, ...]:
    for arn in value:
        if not SNS_TOPIC_ARN_PATTERN.fullmatch(arn):
            raise ValueError(f"must hold standard SNS topic ARNs (arn:aws:sns:<region>:<account>:<name>), got {arn!r}")
    return tuple(dict.fromkeys(value))


def _optional_list(value: Any) -> Any:
    value = blank_to_none(value)
    return None if value is None else to_tuple(value)


def _region_codes(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None or value == (ANY_COUNTRY,):
        return value
    if ANY_COUNTRY in value:
        raise ValueError(f"{ANY_COUNTRY!r} (any country) cannot be combined with region codes, got {list(value)!r}")
    if not value:
        raise ValueError(f"must name at least one region code, or {ANY_COUNTRY!r} for any country")
    return tuple(sorted(parse_region_codes(",".join(value))))


def _blocked_types_or_default(value: Any) -> Any:
    # Unset (null, as cdk.json says "the default", or `-c blockedNumberTypes=`) keeps the default: it must never
    # switch the toll-fraud guard off. Only an explicit empty list blocks no type.
    value = blank_to_none(value)
    return STACK_BLOCKED_NUMBER_TYPES if value is None else to_tuple(value)


def _number_types(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(parse_number_types(",".join(value))))


def _calling_hours(value: str) -> str:
    return str(parse_calling_hours(value))


def _list_as_text(value: Any) -> Any:
    """Unset as blank_to_none says; a list (JSON, as cdk.json writes several limits) as the function's comma-separated
    text (`-c destinationCallLimit=2/24h,6/14d` gives that text already)."""
    value = blank_to_none(value)
    if isinstance(value, list | tuple):
        return ",".join(str(item).strip() for item in value) or None
    return value


def _call_limits(value: str) -> str:
    return str(parse_call_limits(value))


def _holidays(value: str) -> str:
    return parse_holidays(value)


def _blackout_dates(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(day.isoformat() for day in sorted(parse_blackout_dates(",".join(value))))


def _redial_outcomes(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(parse_outcomes(",".join(value))))


# Unset text, and lists, as -c gives them.
Unset = BeforeValidator(blank_to_none)
AsList = BeforeValidator(to_tuple)

ConnectId = Annotated[str, AfterValidator(_connect_id)]
OptionalConnectId = Annotated[str | None, Unset, AfterValidator(_when_set(_connect_id))]
ConnectIds = Annotated[tuple[str, ...], AsList, AfterValidator(_connect_ids)]
OptionalE164Number = Annotated[str | None, Unset, AfterValidator(_when_set(_e164))]
# Checked by the function's own configuration, on the environment built from them (infra/context_loading.py).
PhoneNumbers = Annotated[tuple[str, ...], AsList, AfterValidator(_unique)]
# An event pattern's detail-types or sources.
PatternValues = Annotated[tuple[str, ...], AsList, AfterValidator(_non_empty_items)]
Principals = Annotated[tuple[str, ...], AsList, AfterValidator(_principals)]
SnsTopicArns = Annotated[tuple[str, ...], AsList, AfterValidator(_topic_arns)]
OptionalSnsTopicArn = Annotated[str | None, Unset, AfterValidator(_when_set(_topic_arn))]
OptionalEventBusName = Annotated[str | None, Unset, AfterValidator(_when_set(_bus_name))]
OptionalEventBusNameOrArn = Annotated[str | None, Unset, AfterValidator(_when_set(_bus_name_or_arn))]
OptionalEmailAddress = Annotated[str | None, Unset, AfterValidator(_when_set(_email))]
# Calling safety, checked with the function's own parsers.
OptionalRegionCodes = Annotated[tuple[str, ...] | None, BeforeValidator(_optional_list), AfterValidator(_region_codes)]
BlockedNumberTypes = Annotated[
    tuple[str, ...], BeforeValidator(_blocked_types_or_default), AfterValidator(_number_types)
]
# Weekly windows (`Mon-Fri 09:00-20:00; Sat 10:00-14:00`) or one daily window, as the function writes them back.
OptionalCallingHours = Annotated[str | None, Unset, AfterValidator(_when_set(_calling_hours))]
# `national`, or unset.
OptionalHolidays = Annotated[str | None, Unset, AfterValidator(_when_set(_holidays))]
# Local calendar dates, sorted, without repeats.
BlackoutDates = Annotated[tuple[str, ...], AsList, AfterValidator(_blackout_dates)]
# One window or several (`2/24h,6/14d`, or a list of them), as the function writes them back.
OptionalCallLimits = Annotated[str | None, BeforeValidator(_list_as_text), AfterValidator(_when_set(_call_limits))]
# The outcomes that earn another attempt, sorted (never Answered).
RedialOutcomes = Annotated[tuple[str, ...], AsList, AfterValidator(_redial_outcomes)]
# The function's own bounds: attempts in all (the first included), the least interval, the longest outcome wait.
RedialAttempts = Annotated[int, Field(ge=1, le=MAX_REDIAL_ATTEMPTS)]
RedialIntervalSeconds = Annotated[int, Field(ge=MIN_REDIAL_INTERVAL_SECONDS)]
RedialOutcomeWait = Annotated[int, Field(ge=MIN_REDIAL_INTERVAL_SECONDS, le=MAX_REDIAL_OUTCOME_WAIT_SECONDS)]
# A switch whose unset value (null, or `-c key=`) follows another setting.
OptionalSwitch = Annotated[bool | None, Unset]
# Agent pacing, with the function's own bounds (config/pacing_fields.py): checked even while agentPacing is off, so a
# value that would be refused the day it is switched on is refused now.
AgentPacingRatio = Annotated[float, Field(gt=0, le=MAX_AGENT_PACING_RATIO, allow_inf_nan=False)]
AgentMetricsTtlSeconds = Annotated[int, Field(ge=1, le=MAX_AGENT_METRICS_TTL_SECONDS)]
