"""How a redialled request ends once an attempt is placed: it waits for the attempt's outcome, then for its next
attempt, or ends. The rule is safety/redial.py's; the placed-calls ledger keeps each attempt's facts and, once the
completion has recorded it, its outcome.

Where the request waits between attempts: in the source queue, like any deferral (reason Redial), its body never
stored elsewhere. After an attempt is placed, the request is sent back, unannounced, to look for its outcome when the
next attempt could first come (the attempt's placing plus the interval), then every few minutes until the outcome is
known or the policy's wait is over; an outcome that earns another attempt sends it back, announced, for that attempt.
"""

from __future__ import annotations

from outbound_caller.connect.calls import PlacedCall
from outbound_caller.connect.placed_calls import PlacedCallsLedger
from outbound_caller.decisions import REDIAL, Deferral, Outcome
from outbound_caller.safety.redial import Awaiting, Dial, Final, NextAttempt, next_step
from outbound_caller.settling.settlement import Settle


def redial_after_placing(
    settle: Settle, ledger: PlacedCallsLedger | None, placed: PlacedCall, token: str, dial: Dial, now_ms: int
) -> Outcome:
    """The attempt was placed now (or answered from the ledger): placed, then sent back as its redial asks."""
    # A replay finds the attempt placed earlier, with its own time and perhaps its outcome.
    recorded = ledger.dial(token) if ledger is not None and placed.replayed else None
    step = next_step(recorded or dial, now_ms)
    if isinstance(step, Awaiting):
        return settle.placed(placed, now_ms, Deferral(REDIAL, step.check_at_ms), settle.attempt)
    if isinstance(step, NextAttempt):
        return settle.placed(placed, now_ms, Deferral(REDIAL, step.at_ms), step.attempt)
    return settle.placed(placed, now_ms)


def redial_after_placed(settle: Settle, ledger: PlacedCallsLedger | None, token: str, now_ms: int) -> Outcome | None:
    """A request back to look for its attempt's outcome: what follows it; None when that attempt is not placed yet
    (the request came back for its next attempt, to be dialled like any)."""
    dial = ledger.dial(token) if ledger is not None else None
    if dial is None:
        return None
    step = next_step(dial, now_ms)
    if isinstance(step, Awaiting):
        return settle.deferral(Deferral(REDIAL, step.check_at_ms), now_ms, hop=True)
    if isinstance(step, NextAttempt):
        return settle.deferral(Deferral(REDIAL, step.at_ms), now_ms, attempt=step.attempt)
    assert isinstance(step, Final)  # noqa: S101 - the third step
    return settle.redial_ended(step.reason)
