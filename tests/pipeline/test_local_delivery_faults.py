"""The faults the local event source injects on request, against moto: duplicate deliveries and busy containers
killed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.delivery_faults import LATE_DUPLICATE_DELAY_SECONDS, DeliveryFaults
from local.function_container import (
    CRASHED,
    SUCCEEDED,
)
from tests.support.event_source_harness import (
    COLD_START_ALLOWANCE_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
    Harness,
    event_source_harness,
    wait_for,
)


@pytest.fixture
def harness(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Queues as the stack configures them, with maxReceiveCount 2 and a 2 s visibility timeout.

    A test can ask for another visibility timeout with @pytest.mark.parametrize("harness", [seconds], indirect=True).
    """
    with event_source_harness(tmp_path, getattr(request, "param", VISIBILITY_TIMEOUT_SECONDS)) as harness:
        yield harness


def test_with_duplicate_rate_1_every_message_comes_twice_never_twice_in_a_batch_and_the_queue_drains(
    harness: Harness,
) -> None:
    # Given six messages and a runner that delivers every message a second time
    harness.send(*[{"do": "ok"}] * 6)
    # When it processes them with two concurrent invocations of up to three records
    runner = harness.start(batch_size=3, concurrency=2, faults=DeliveryFaults(duplicate_rate=1.0, seed=7))
    wait_for(lambda: harness.settled(runner))
    # Then every message was delivered twice, both times with the same messageId, body, attributes and receipt
    deliveries = harness.deliveries()
    assert len(deliveries) == 6
    for delivered in deliveries.values():
        assert len(delivered) == 2
        assert delivered[0]["record"] == delivered[1]["record"]
    # And no invocation got one message twice
    for invocation in harness.invocations():
        ids = [record["messageId"] for record in invocation["event"]["Records"]]
        assert len(ids) == len(set(ids))
    # And every invocation succeeded: deleting a message a second time was harmless
    stats = runner.stats
    assert stats.duplicates_delivered == 6
    assert stats.outcomes == Counter({SUCCEEDED: stats.invocations})
    assert stats.records_deleted == stats.records_delivered == 12
    assert harness.dead_letter_bodies() == []


# The original sleeps longer than another poller takes to pick its duplicate up (one long poll, POLL_WAIT_SECONDS,
# plus a cold start), and less than the visibility timeout, so SQS itself does not deliver it again.
@pytest.mark.parametrize("harness", [6], indirect=True)
def test_a_concurrent_duplicate_runs_in_another_container_while_the_original_runs(harness: Harness) -> None:
    # Given a slow message and a runner that delivers every duplicate concurrently
    harness.send({"do": "sleep", "seconds": 2})
    # When two pollers process it
    runner = harness.start(
        batch_size=1, concurrency=2, faults=DeliveryFaults(duplicate_rate=1.0, concurrent_duplicate_share=1.0)
    )
    wait_for(lambda: harness.settled(runner))
    # Then the two deliveries ran in different containers, the second starting before the first ended
    [(first, second)] = [sorted(d, key=lambda item: item["started_at"]) for d in harness.deliveries().values()]
    assert first["container"] != second["container"]
    assert second["started_at"] - first["started_at"] < 2
    assert runner.stats.max_in_flight == 2


# A visibility timeout no cold start outlasts, even on a loaded CI machine: SQS's own redelivery of the original
# would otherwise merge with its late duplicate.
@pytest.mark.parametrize("harness", [30], indirect=True)
def test_a_late_duplicate_comes_after_the_original_was_deleted(harness: Harness) -> None:
    # Given a message and a runner that delivers every duplicate late
    harness.send({"do": "ok"})
    # When it processes it
    runner = harness.start(
        concurrency=2, faults=DeliveryFaults(duplicate_rate=1.0, concurrent_duplicate_share=0.0, seed=1)
    )
    wait_for(lambda: harness.settled(runner))
    # Then the duplicate came a little later, when the original had long been deleted, and was deleted again
    [(first, second)] = [sorted(d, key=lambda item: item["started_at"]) for d in harness.deliveries().values()]
    assert second["started_at"] - first["started_at"] >= LATE_DUPLICATE_DELAY_SECONDS[0]
    assert second["record"] == first["record"]
    stats = runner.stats
    assert (stats.duplicates_delivered, stats.records_deleted, stats.outcomes[SUCCEEDED]) == (1, 2, 2)


def test_busy_workers_killed_at_random_leave_their_batch_for_redelivery_and_the_queue_drains(harness: Harness) -> None:
    # Given slow messages and a runner that kills a busy container about every 0.6 s
    harness.send(*[{"do": "sleep", "seconds": 0.6}] * 4)
    # When it processes them
    runner = harness.start(
        batch_size=1, concurrency=2, faults=DeliveryFaults(kill_busy_worker_interval_seconds=0.6, seed=3)
    )
    wait_for(lambda: harness.settled(runner))
    # Then containers were killed mid-invocation, each such invocation crashed, and new containers replaced them
    stats = runner.stats
    assert stats.workers_killed > 0
    assert 0 < stats.crashed_invocations == stats.outcomes[CRASHED] <= stats.workers_killed
    assert stats.records_in_failed_invocations == stats.crashed_invocations
    assert len({invocation["container"] for invocation in harness.invocations()}) > 2
    # And a killed batch came back only after the visibility timeout
    redelivered = [sorted(d, key=lambda item: item["started_at"]) for d in harness.deliveries().values() if len(d) > 1]
    assert redelivered
    for first, second, *_ in redelivered:
        assert second["record"]["attributes"]["ApproximateReceiveCount"] == "2"
        assert second["started_at"] - first["started_at"] >= VISIBILITY_TIMEOUT_SECONDS - COLD_START_ALLOWANCE_SECONDS
    # And every message was either deleted once or dead-lettered by SQS after maxReceiveCount
    assert stats.records_deleted + len(harness.dead_letter_bodies()) == 4


@pytest.mark.parametrize(
    "faults",
    [
        {"duplicate_rate": 1.5},
        {"duplicate_rate": -0.1},
        {"concurrent_duplicate_share": 2.0},
        {"kill_busy_worker_interval_seconds": 0},
    ],
)
def test_delivery_faults_that_describe_nothing_possible_are_rejected(faults: dict[str, float]) -> None:
    # Given a probability outside 0..1 or an interval that is not positive / When DeliveryFaults is built / Then
    with pytest.raises(ValueError, match=next(iter(faults))):
        DeliveryFaults(**faults)
