"""The benchmark's arithmetic, without a run: the ideal drain times, the series it draws, the shares it reports."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.figures import LoadFigures, capacity_ideal_seconds, quota_ideal_seconds, targets
from bench.scenarios import BUSY, QUOTA
from bench.series import per_second
from local.connect_rules import PLACED
from local.connect_timeline import Answer

START = 1_000.0
DRAINED = LoadFigures(
    requests=500,
    requests_placed=500,
    calls_placed=500,
    requests_rung_twice=0,
    dead_lettered={},
    left_on_queue=0,
    complete=True,
    drain_seconds=50.0,
    ideal_seconds=49.5,
    answers={PLACED: 500, "ThrottlingException": 4, "TooManyRequestsException": 1, "LimitExceededException": 5},
    connect_requests=510,
    run_seconds=52.0,
    invocations=50,
    cold_starts=2,
    max_calls_in_progress=10,
)


def test_the_quota_ideal_places_the_burst_at_once_and_the_rest_at_the_rate() -> None:
    # Given the quota load: 500 requests at 10/s with a burst of 5
    # When / Then the last call is placed at 49.5 s at best
    assert quota_ideal_seconds(500, 10.0, 5) == 49.5
    # And a load within the burst is placed at once
    assert quota_ideal_seconds(3, 10.0, 5) == 0.0


def test_the_capacity_ideal_keeps_every_line_busy_until_the_last_call_ends() -> None:
    # Given 300 calls of 4 s on an instance of 10 concurrent calls
    # When / Then the last one ends at 120 s at best
    assert capacity_ideal_seconds([4.0] * 300, 10) == 120.0


def test_per_second_series_bin_the_answers_by_kind_and_count_the_calls_in_progress() -> None:
    # Given two calls placed in the first second (1.5 s and 0.2 s long), then two throttles and a full instance
    timeline = [
        Answer(START + 0.1, PLACED, 1, START + 1.6),
        Answer(START + 0.5, PLACED, 2, START + 0.7),
        Answer(START + 1.2, "ThrottlingException", 1),
        Answer(START + 1.3, "TooManyRequestsException", 1),
        Answer(START + 1.4, "LimitExceededException", 1),
        Answer(START + 7.0, PLACED, 1, START + 8.0),  # after the window
    ]
    # When they are binned over 3 s
    series = per_second(timeline, START, 3.0)
    # Then each second counts its own answers, and calls in progress are those started and not yet ended
    assert series.seconds == [0.0, 1.0, 2.0]
    assert series.placed == [2, 0, 0]
    assert series.throttled == [0, 2, 0]
    assert series.limit_exceeded == [0, 1, 0]
    assert series.calls_in_progress == [0, 1, 0]


def test_shares_count_the_quota_and_the_full_instance_apart() -> None:
    # Given a drained load's answers
    # When / Then throttles (both codes) and LimitExceeded are separate shares of all answers
    assert DRAINED.throttled_share == pytest.approx(5 / 510)
    assert DRAINED.limit_exceeded_share == pytest.approx(5 / 510)
    assert DRAINED.requests_per_placed_call == pytest.approx(510 / 500)
    assert DRAINED.ideal_over_actual == pytest.approx(0.99)


def test_a_load_not_drained_within_its_cap_has_no_ratio_and_misses_the_busy_targets() -> None:
    # Given a load still queued at the cap, with nothing dead-lettered yet
    capped = replace(DRAINED, complete=False, drain_seconds=None, left_on_queue=40)
    # When / Then it has no ideal/actual, and "0 dead-lettered" is not met by requests still waiting
    assert capped.ideal_over_actual is None
    assert {target.figure: target.met for target in targets(BUSY, capped)} == {
        "requests_per_placed_call": True,
        "dead_lettered_total": False,
    }


def test_the_quota_targets_hold_at_97_percent_of_the_ideal_and_1_percent_throttled() -> None:
    # Given ours at 0.99 of the ideal with under 1% throttled, and then slower
    slower = replace(DRAINED, drain_seconds=52.0)
    # When / Then the first meets both quota targets and the second misses the drain one
    assert all(target.met for target in targets(QUOTA, DRAINED))
    assert {target.figure: target.met for target in targets(QUOTA, slower)} == {
        "ideal_over_actual": False,
        "throttled_share": True,
    }
