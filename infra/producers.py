"""Who may hand the queue a call request: the intake rule's event pattern and the producer principals.

Pure (no aws_cdk import), so the stack, the settings and the local pipeline share one definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from outbound_caller.names import (
    COMPLETED_EVENT,
    DEFERRED_EVENT,
    OPT_IN_EVENT,
    OPT_OUT_EVENT,
    PLACED_EVENT,
    REJECTED_EVENT,
    RESULT_SOURCE,
)

# EventBridge adds a top-level `replay-name` (the replay's name) to every event it re-sends from an archive, and
# matches `"exists": false` on it: the EventBridge user guide, "Archiving and replaying events", section "Preventing
# replayed events from being delivered to an archive" (docs.aws.amazon.com/eventbridge/latest/userguide/
# eb-archive.html), shows the managed rule EventBridge itself puts on an archive's bus with exactly this pattern
# (Powertools' EventBridgeModel carries the same top-level `replay-name` field). An existence filter is one of the
# pattern operators of "Content filtering in event patterns" (eb-create-pattern-operators.html). A replay re-sends
# requests that were already handled: it must not ring anyone again. The function also refuses events carrying
# `replay-name` (CONTRACT.md), so a replay routed here by some other rule still places no call.
REPLAY_NAME = "replay-name"
REPLAY_NAME_ABSENT: list[dict[str, bool]] = [{"exists": False}]

# A 12-digit AWS account ID (every principal of that account), or the ARN of an IAM role or user (an assumed role's
# requests carry its role's ARN in aws:PrincipalArn, so sessions are named by their role). No wildcards and no
# account-root ARNs: in aws:PrincipalArn a root ARN names only the root user, not the account it seems to name.
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
IAM_PRINCIPAL_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$")

# The detail-types that ask for a number to join or leave the suppression list (the opt-out function's rule), on the
# intake bus; the opt-out function announces each change on the result bus under the same two.
OPT_OUT_DETAIL_TYPES = (OPT_OUT_EVENT, OPT_IN_EVENT)
# The result events' detail-types, which the intake and opt-out rules must not match when they share a bus.
RESULT_EVENT_DETAIL_TYPES = frozenset(
    {PLACED_EVENT, REJECTED_EVENT, DEFERRED_EVENT, COMPLETED_EVENT, *OPT_OUT_DETAIL_TYPES}
)


def call_request_event_pattern(detail_types: Sequence[str], sources: Sequence[str]) -> dict[str, Any]:
    """The intake rule's event pattern: the configured detail types and sources, and never an archive replay.

    With no detail types (any), every type but the opt-out ones: an opt-out is never a call request, and as one it
    would be dead-lettered with the number that asked not to be called in its body.
    """
    pattern: dict[str, Any] = {
        "detail-type": list(detail_types) if detail_types else [{"anything-but": list(OPT_OUT_DETAIL_TYPES)}]
    }
    if sources:
        pattern["source"] = list(sources)
    pattern[REPLAY_NAME] = REPLAY_NAME_ABSENT
    return pattern


def opt_out_event_pattern(sources: Sequence[str]) -> dict[str, Any]:
    """The opt-out rule's event pattern: both opt-out detail-types, from the intake rule's sources, never a replay (a
    replayed opt-in would take a number off the list after its owner opted out again)."""
    pattern: dict[str, Any] = {"detail-type": list(OPT_OUT_DETAIL_TYPES)}
    if sources:
        pattern["source"] = list(sources)
    pattern[REPLAY_NAME] = REPLAY_NAME_ABSENT
    return pattern


def pattern_matches_result_events(detail_types: Sequence[str], sources: Sequence[str]) -> bool:
    """Whether the intake rule's pattern would match the stack's own result events (an empty list matches any)."""
    sources_match = not sources or RESULT_SOURCE in sources
    types_match = not detail_types or bool(RESULT_EVENT_DETAIL_TYPES & set(detail_types))
    return sources_match and types_match


def intake_rules_conflict(
    detail_types: Sequence[str],
    sources: Sequence[str],
    *,
    event_bus_name: str | None,
    result_bus_name: str | None,
    opt_out_rule: bool,
) -> str | None:
    """Why the intake bus's rules would take what they must not, or None: an opt-out as a call request, or the stack's
    own result events (a loop) when they are published on the intake bus (a bus the stack creates cannot be named)."""
    if set(OPT_OUT_DETAIL_TYPES) & set(detail_types):
        return (
            f"eventDetailTypes {list(detail_types)} names an opt-out detail-type: those events ask for a number not to"
            " be called, never for a call (the opt-out function's rule takes them)"
        )
    if event_bus_name is None or result_bus_name is None or result_bus_name.split(":event-bus/")[-1] != event_bus_name:
        return None
    if pattern_matches_result_events(detail_types, sources) or (
        opt_out_rule and pattern_matches_result_events(OPT_OUT_DETAIL_TYPES, sources)
    ):
        return (
            f"resultEventBusName {result_bus_name!r} is the bus the intake rule listens on, and the rule (eventSources"
            f" {list(sources)}, eventDetailTypes {list(detail_types)}) or the opt-out rule would match result events:"
            " each would come back as a call request or an opt-out. Use another bus, or narrow eventSources"
        )
    return None


def check_principal(value: str) -> str:
    """Return an account ID or IAM principal ARN unchanged, or raise naming what was expected."""
    if ACCOUNT_ID_PATTERN.fullmatch(value) or IAM_PRINCIPAL_ARN_PATTERN.fullmatch(value):
        return value
    raise ValueError(
        "must hold 12-digit account IDs or IAM role/user ARNs like arn:aws:iam::123456789012:role/orders,"
        f" without wildcards, got {value!r}"
    )


def split_principals(principals: Iterable[str]) -> tuple[list[str], list[str]]:
    """Account IDs and principal ARNs, apart: IAM conditions name them with different keys."""
    accounts: list[str] = []
    arns: list[str] = []
    for principal in principals:
        (accounts if ACCOUNT_ID_PATTERN.fullmatch(principal) else arns).append(principal)
    return accounts, arns


def intake_settings_refusal(
    detail_types: Sequence[str],
    sources: Sequence[str],
    *,
    event_bus_name: str | None,
    event_bus_producer_principals: Sequence[str],
    result_bus_name: str | None,
    opt_out_rule: bool,
) -> str | None:
    """Why the intake's settings cannot be deployed together, naming the context keys; None when they can."""
    conflict = intake_rules_conflict(
        detail_types, sources, event_bus_name=event_bus_name, result_bus_name=result_bus_name, opt_out_rule=opt_out_rule
    )
    if conflict is not None:
        return conflict
    if not detail_types and not sources:
        return "eventDetailTypes and eventSources are both empty: the rule would have no event pattern"
    if event_bus_name is not None and not sources:
        return (
            f"eventBusName={event_bus_name!r} is an existing bus that others may put events on: set"
            " eventSources to the sources allowed to request calls, or unset eventBusName to let the stack"
            " create a bus of its own"
        )
    if event_bus_name is not None and event_bus_producer_principals:
        return (
            f"eventBusProducerPrincipals applies to the bus the stack creates; eventBusName={event_bus_name!r}"
            " is an existing bus whose policy is its owner's: unset one of them"
        )
    return None
