"""Pacing: this container's calls stay within its share of the Connect quota."""

from __future__ import annotations

import pytest

from outbound_caller.connect.pacing import Pacer
from tests.support.clock import FakeClock


def test_calls_are_spaced_by_the_rate() -> None:
    # Given a pacer at 2 calls per second
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock, sleep=clock.sleep)
    # When three calls take their turn back to back
    for _ in range(3):
        pacer.wait_turn()
    # Then the first starts at once and the others half a second apart
    assert clock.slept == [0.5, 0.5]


def test_time_already_spent_is_not_waited_again() -> None:
    # Given a pacer at 1 call per second whose last call was 0.7 s ago
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    clock.now += 0.7
    # When the next call asks
    # Then only the rest of the interval is waited
    assert pacer.delay() == pytest.approx(0.3)
    pacer.wait_turn()
    assert clock.slept == [pytest.approx(0.3)]


def test_no_wait_after_a_pause() -> None:
    # Given a pacer idle for longer than its interval
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    clock.now += 5
    # When the next call asks
    # Then it starts at once
    assert pacer.delay() == 0.0


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_rate_must_be_positive(rate: float) -> None:
    # Given a non-positive rate
    # When a pacer is made
    # Then it is refused
    with pytest.raises(ValueError, match="positive"):
        Pacer(rate)


def test_retried_requests_are_charged_to_the_next_call() -> None:
    # Given a pacer at 1 call per second whose last call needed 3 requests (2 botocore retries)
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    pacer.charge(3)
    # When the next call takes its turn
    pacer.wait_turn()
    # Then it waits for all three requests' share of the quota, not one
    assert clock.slept == [3.0]


@pytest.mark.parametrize("requests_sent", [0, 1])
def test_a_single_request_costs_nothing_extra(requests_sent: int) -> None:
    # Given a call that sent one request (or none)
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    pacer.charge(requests_sent)
    # When the next call asks
    # Then its turn is one interval away, as paid at wait_turn
    assert pacer.delay() == 1.0


def test_a_backlog_starts_with_the_burst_then_runs_at_the_rate() -> None:
    # Given a pacer at 2 calls per second with a burst of 3, as Connect's own quota bucket is shaped
    clock = FakeClock()
    pacer = Pacer(2.0, burst=3, clock=clock, sleep=clock.sleep)
    # When five calls take their turn back to back
    for _ in range(5):
        pacer.wait_turn()
    # Then the first three start at once and the rest half a second apart
    assert clock.slept == [0.5, 0.5]


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    # Given a pacer with a burst of 2 that has been idle for a minute
    clock = FakeClock()
    pacer = Pacer(1.0, burst=2, clock=clock, sleep=clock.sleep)
    clock.now += 60
    # When four calls take their turn back to back
    for _ in range(4):
        pacer.wait_turn()
    # Then only two start at once: the idle minute bought no more than the burst
    assert clock.slept == [1.0, 1.0]


def test_a_burst_below_one_call_is_refused() -> None:
    # Given a burst of half a call
    # When a pacer is made
    # Then it is refused: it could never start a call
    with pytest.raises(ValueError, match="at least one call"):
        Pacer(1.0, burst=0.5)
