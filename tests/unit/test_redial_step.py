"""What follows an attempt (safety/redial.py): the one rule by which the caller redials and the completion announces
Final and NextAttemptAt. Fail closed: an attempt that may have been answered is never followed by another."""

from __future__ import annotations

from dataclasses import replace

import pytest

from outbound_caller.config.redial import RedialPolicy
from outbound_caller.safety.redial import OUTCOME_POLL_SECONDS, Awaiting, Dial, Final, NextAttempt, next_step

MINUTE_MS = 60_000
PLACED_MS = 1_800_000_000_000
POLICY = RedialPolicy(
    on=frozenset({"NoAnswer", "Busy"}), max_attempts=3, interval_seconds=600, outcome_wait_seconds=3600
)
FIRST = Dial(attempt=1, policy=POLICY, deadline_ms=PLACED_MS + 24 * 60 * MINUTE_MS, placed_at_ms=PLACED_MS)


def ended(dial: Dial, outcome: str, *, after_minutes: int = 1, known_after_minutes: int = 2) -> Dial:
    """The attempt with its outcome recorded by the completion."""
    return replace(
        dial,
        outcome=outcome,
        ended_at_ms=dial.placed_at_ms + after_minutes * MINUTE_MS,
        outcome_at_ms=dial.placed_at_ms + known_after_minutes * MINUTE_MS,
    )


def test_an_outcome_that_earns_a_redial_brings_the_next_attempt_an_interval_after_the_call_ended() -> None:
    step = next_step(ended(FIRST, "NoAnswer"), PLACED_MS + 3 * MINUTE_MS)
    assert step == NextAttempt(attempt=2, at_ms=PLACED_MS + MINUTE_MS + 600_000)


@pytest.mark.parametrize("outcome", ["Answered", "Voicemail", "InvalidNumber", "Failed", "Unknown"])
def test_an_outcome_the_policy_does_not_name_ends_the_request(outcome: str) -> None:
    assert isinstance(next_step(ended(FIRST, outcome), PLACED_MS + 3 * MINUTE_MS), Final)


def test_the_last_attempt_the_policy_allows_is_final_whatever_its_outcome() -> None:
    third = replace(FIRST, attempt=3)
    assert isinstance(next_step(third, PLACED_MS), Final)
    assert isinstance(next_step(ended(third, "NoAnswer"), PLACED_MS + 3 * MINUTE_MS), Final)


def test_while_the_outcome_is_unknown_the_request_first_looks_when_the_next_attempt_could_first_come() -> None:
    # Just placed: the next attempt comes no sooner than the interval after this one (which ends later still)
    assert next_step(FIRST, PLACED_MS) == Awaiting(PLACED_MS + 600_000)


def test_an_interval_shorter_than_the_polling_keeps_its_first_look() -> None:
    # Given a policy that redials a minute after a call ended, shorter than the look every few minutes
    dial = replace(FIRST, policy=replace(POLICY, interval_seconds=60))
    # When the attempt was just placed: the request first looks a minute later, not at the next poll
    assert next_step(dial, PLACED_MS) == Awaiting(PLACED_MS + MINUTE_MS)
    # And once past that look, it polls
    assert next_step(dial, PLACED_MS + 2 * MINUTE_MS) == Awaiting(
        PLACED_MS + 2 * MINUTE_MS + OUTCOME_POLL_SECONDS * 1000
    )


def test_after_its_first_look_the_request_looks_again_every_few_minutes_until_the_wait_is_over() -> None:
    now_ms = PLACED_MS + 20 * MINUTE_MS
    assert next_step(FIRST, now_ms) == Awaiting(now_ms + OUTCOME_POLL_SECONDS * 1000)
    # Never past the end of the wait
    late_ms = PLACED_MS + 58 * MINUTE_MS
    assert next_step(FIRST, late_ms) == Awaiting(PLACED_MS + 60 * MINUTE_MS)


def test_an_outcome_still_unknown_when_the_wait_is_over_ends_the_request() -> None:
    # Fail closed: the call may have been answered
    step = next_step(FIRST, PLACED_MS + 60 * MINUTE_MS)
    assert isinstance(step, Final)
    assert "REDIAL_OUTCOME_WAIT_SECONDS" in step.reason


def test_an_outcome_known_only_after_the_wait_ends_the_request_even_if_it_would_earn_a_redial() -> None:
    # The request may already have ended for want of it; a late NoAnswer does not revive it
    late = ended(FIRST, "NoAnswer", known_after_minutes=61)
    assert isinstance(next_step(late, PLACED_MS + 62 * MINUTE_MS), Final)


def test_a_next_attempt_that_would_come_after_the_requests_bound_is_not_made() -> None:
    # The bound (ExpiresAt or the deferral bound) falls before the call's end plus the interval
    bounded = replace(FIRST, deadline_ms=PLACED_MS + 10 * MINUTE_MS)
    assert isinstance(next_step(ended(bounded, "NoAnswer"), PLACED_MS + 3 * MINUTE_MS), Final)
    # Known before the outcome: no first look can find a next attempt within the bound
    assert isinstance(next_step(replace(FIRST, deadline_ms=PLACED_MS + 5 * MINUTE_MS), PLACED_MS), Final)


def test_a_look_is_never_scheduled_past_the_requests_bound() -> None:
    bounded = replace(FIRST, deadline_ms=PLACED_MS + 30 * MINUTE_MS)
    step = next_step(bounded, PLACED_MS + 29 * MINUTE_MS)
    assert isinstance(step, Awaiting)
    assert step.check_at_ms < bounded.deadline_ms


def test_a_policy_that_names_no_outcome_never_redials() -> None:
    assert isinstance(next_step(replace(FIRST, policy=replace(POLICY, on=frozenset())), PLACED_MS), Final)
