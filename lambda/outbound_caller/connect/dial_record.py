"""What the placed-calls ledger keeps of an attempt for its redial, beside the call's own record: the attempt's
number, the request's redial policy and bound, when it was placed, and (written by the completion) its outcome.

Kept in the attempt's own item, so that the caller, deciding whether to dial again, and the completion, announcing
Final and NextAttemptAt, apply one rule (safety/redial.py) to the same facts. Numbers only: no phone number, no token.
"""

from __future__ import annotations

from typing import Any

from outbound_caller.config.redial import RedialPolicy
from outbound_caller.safety.redial import Dial

# The item's attributes for the redial (the call's own are in placed_calls.py).
_ATTEMPT, _MAX, _ON, _INTERVAL, _WAIT = "dial_attempt", "dial_max_attempts", "dial_on", "dial_interval", "dial_wait"
_DEADLINE, _PLACED_AT = "dial_deadline_ms", "placed_at_ms"
OUTCOME, ENDED_AT, OUTCOME_AT = "outcome", "ended_at_ms", "outcome_at_ms"


def dial_assignments(dial: Dial) -> tuple[str, dict[str, Any]]:
    """The SET clauses (``, name = :value`` each) and their values that record an attempt about to be dialled."""
    values: dict[str, Any] = {
        f":{_ATTEMPT}": {"N": str(dial.attempt)},
        f":{_MAX}": {"N": str(dial.policy.max_attempts)},
        # A string, not a string set: a set cannot be empty, and no redial is an empty list of outcomes.
        f":{_ON}": {"S": ",".join(sorted(dial.policy.on))},
        f":{_INTERVAL}": {"N": str(dial.policy.interval_seconds)},
        f":{_WAIT}": {"N": str(dial.policy.outcome_wait_seconds)},
        f":{_DEADLINE}": {"N": str(dial.deadline_ms)},
        f":{_PLACED_AT}": {"N": str(dial.placed_at_ms)},
    }
    clauses = "".join(f", {name[1:]} = {name}" for name in values)
    return clauses, values


def dial_of(item: dict[str, Any]) -> Dial | None:
    """The attempt's redial facts in a ledger item; None for an item written without them (no redial asked)."""
    if _ATTEMPT not in item:
        return None

    def number(name: str) -> int:
        return int(item[name]["N"])

    def optional(name: str) -> int | None:
        return int(item[name]["N"]) if name in item else None

    on = item.get(_ON, {}).get("S", "")
    return Dial(
        attempt=number(_ATTEMPT),
        policy=RedialPolicy(
            on=frozenset(outcome for outcome in on.split(",") if outcome),
            max_attempts=number(_MAX),
            interval_seconds=number(_INTERVAL),
            outcome_wait_seconds=number(_WAIT),
        ),
        deadline_ms=number(_DEADLINE),
        placed_at_ms=number(_PLACED_AT),
        outcome=item.get(OUTCOME, {}).get("S"),
        ended_at_ms=optional(ENDED_AT),
        outcome_at_ms=optional(OUTCOME_AT),
    )
