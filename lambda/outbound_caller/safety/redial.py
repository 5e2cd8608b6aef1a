"""Whether an attempt of a request is followed by another, and when: the one rule the caller (deciding to dial
again) and the completion (announcing Final and NextAttemptAt) both apply, to what the ledger keeps of the attempt.

Fail closed: an attempt whose outcome is not known within the policy's wait, or is known only after it, is the last
(a call that may have been answered is never rung again). An attempt past the request's bound is the last too.
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound_caller.config.redial import RedialPolicy

# While an attempt's outcome is awaited, the request looks again this often (an SQS delay, within its 15 minutes).
OUTCOME_POLL_SECONDS = 300
_MS = 1000


@dataclass(frozen=True)
class Dial:
    """What the ledger keeps of one attempt for its redial: its number and placing time, the request's own policy and
    bound, and once the call has ended, its outcome (with when it ended and when it became known)."""

    attempt: int
    policy: RedialPolicy
    deadline_ms: int
    placed_at_ms: int
    outcome: str | None = None
    ended_at_ms: int | None = None
    outcome_at_ms: int | None = None


@dataclass(frozen=True)
class Awaiting:
    """The attempt's outcome is not known yet: look again at ``check_at_ms``."""

    check_at_ms: int


@dataclass(frozen=True)
class NextAttempt:
    """Another attempt follows, no sooner than ``at_ms``."""

    attempt: int
    at_ms: int


@dataclass(frozen=True)
class Final:
    """No attempt follows, for ``reason``."""

    reason: str


Step = Awaiting | NextAttempt | Final


def next_step(dial: Dial, now_ms: int) -> Step:
    """What follows the attempt, as known at ``now_ms``."""
    policy = dial.policy
    if dial.attempt >= policy.max_attempts or not policy.on:
        return Final("the last attempt the policy allows")
    wait_ends_ms = dial.placed_at_ms + policy.outcome_wait_seconds * _MS
    if dial.outcome is None or dial.ended_at_ms is None or dial.outcome_at_ms is None:
        if now_ms >= wait_ends_ms:
            return Final("its outcome was not known within REDIAL_OUTCOME_WAIT_SECONDS")
        # The next attempt comes no sooner than the interval after this one ended: an earlier look finds nothing.
        first_look_ms = dial.placed_at_ms + policy.interval_seconds * _MS
        if first_look_ms >= dial.deadline_ms:
            return Final("the next attempt would come after the request's bound")
        # Before that first look, wait for it (however short the interval); after it, poll every few minutes.
        next_look_ms = first_look_ms if now_ms < first_look_ms else now_ms + OUTCOME_POLL_SECONDS * _MS
        check_at_ms = min(wait_ends_ms, next_look_ms)
        return Awaiting(min(check_at_ms, dial.deadline_ms - 1))
    if dial.outcome_at_ms > wait_ends_ms:
        return Final("its outcome became known after REDIAL_OUTCOME_WAIT_SECONDS")
    if dial.outcome not in policy.on:
        return Final(f"its outcome ({dial.outcome}) earns no redial")
    at_ms = dial.ended_at_ms + policy.interval_seconds * _MS
    if at_ms >= dial.deadline_ms:
        return Final("the next attempt would come after the request's bound")
    return NextAttempt(dial.attempt + 1, at_ms)
