"""The local SQS event source runner against moto: batches, partial batch responses, timeouts, redrive."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.function_container import (
    FUNCTION_ERROR,
    INVALID_RESPONSE,
    TIMED_OUT,
    FunctionInitError,
)
from tests.support.event_source_harness import (
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


def test_partial_batch_response_deletes_successes_and_sqs_redrives_the_failure(harness: Harness) -> None:
    # Given a batch where one record always fails
    harness.send({"do": "ok"}, {"do": "fail"}, {"do": "ok"})
    # When the runner processes it until the queue is empty
    runner = harness.start()
    wait_for(harness.queue_is_empty)
    # Then the successes were deleted once, the failure was delivered twice (maxReceiveCount 2),
    # and SQS, not the runner, moved it to the dead-letter queue
    stats = runner.stats
    assert stats.records_deleted == 2
    assert stats.batch_item_failures == 2
    assert stats.redeliveries == 1
    assert harness.dead_letter_bodies() == [{"do": "fail"}]


def test_containers_are_reused_across_invocations(harness: Harness) -> None:
    # Given a runner with one slot and batch size 1
    harness.send({"do": "ok"}, {"do": "ok"}, {"do": "ok"})
    runner = harness.start(batch_size=1)
    wait_for(harness.queue_is_empty)
    # Then three invocations ran in a single warm container
    assert {invocation["container"] for invocation in harness.invocations()} == {harness.invocations()[0]["container"]}
    assert (runner.stats.invocations, runner.stats.cold_starts) == (3, 1)


def test_an_invocation_past_the_timeout_is_killed_and_its_batch_left_on_the_queue(harness: Harness) -> None:
    # Given a record that makes the function run longer than its 1 s timeout
    harness.send({"do": "sleep", "seconds": 30})
    # When the runner invokes it
    runner = harness.start(timeout=1)
    wait_for(harness.queue_is_empty)
    # Then each delivery timed out in a fresh container, and after maxReceiveCount SQS dead-lettered it
    stats = runner.stats
    assert stats.outcomes[TIMED_OUT] == 2
    assert stats.cold_starts == 2
    assert len({invocation["container"] for invocation in harness.invocations()}) == 2
    assert stats.records_deleted == 0
    assert harness.dead_letter_bodies() == [{"do": "sleep", "seconds": 30}]


@pytest.mark.parametrize(("action", "outcome"), [("raise", FUNCTION_ERROR), ("unknown_id", INVALID_RESPONSE)])
def test_an_error_or_an_invalid_batch_response_fails_the_whole_batch(
    harness: Harness, action: str, outcome: str
) -> None:
    # Given a batch with a good record and one that breaks the invocation
    harness.send({"do": "ok"}, {"do": action})
    # When the runner processes it until the queue is empty
    runner = harness.start()
    wait_for(harness.queue_is_empty)
    # Then no record was deleted: both were redelivered and then dead-lettered by SQS
    stats = runner.stats
    assert stats.outcomes[outcome] == 2
    assert stats.records_deleted == 0
    assert stats.records_in_failed_invocations == 4
    assert harness.dead_letter_bodies() == sorted([{"do": action}, {"do": "ok"}], key=json.dumps)


def test_the_batching_window_gathers_records_sent_apart(harness: Harness) -> None:
    # Given a runner with a 1 s batching window (within the 2 s visibility timeout), and records arriving apart
    runner = harness.start(batch_size=10, window=1)
    harness.send({"do": "ok"}, {"do": "ok"})
    time.sleep(0.3)
    harness.send({"do": "ok"}, {"do": "ok"})
    wait_for(harness.queue_is_empty)
    # Then one invocation received all four
    assert [len(i["event"]["Records"]) for i in harness.invocations()] == [4]
    assert runner.stats.invocations == 1


def test_batch_size_caps_each_invocation(harness: Harness) -> None:
    # Given five records and a batch size of 2
    harness.send(*[{"do": "ok"}] * 5)
    # When the runner processes them
    harness.start(batch_size=2)
    wait_for(harness.queue_is_empty)
    # Then no invocation got more than two records
    sizes = [len(i["event"]["Records"]) for i in harness.invocations()]
    assert sum(sizes) == 5
    assert max(sizes) <= 2


def test_a_function_that_cannot_init_is_reported(harness: Harness) -> None:
    # Given a handler that cannot be imported
    harness.send({"do": "ok"})
    # When the runner tries to invoke it
    runner = harness.start(handler="no_such_module.handler")
    wait_for(lambda: runner.init_error is not None)
    # Then the init error names the problem and the log file
    assert isinstance(runner.init_error, FunctionInitError)
    assert "ModuleNotFoundError" in str(runner.init_error)
    assert "function.log" in str(runner.init_error)
