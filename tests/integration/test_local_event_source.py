"""The local SQS event source runner against moto: batches, partial batch responses, timeouts, redrive, and the
faults it injects on request: duplicate deliveries and busy containers killed."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from infra.context_loading import settings_from_context
from local.aws import IntakeResources, LocalAws, create_intake, local_sdk_environment, scoped_environment
from local.event_source import (
    LATE_DUPLICATE_DELAY_SECONDS,
    DeliveryFaults,
    EventSourceMappingSpec,
    SqsEventSource,
    failed_message_ids,
)
from local.function_container import (
    CRASHED,
    FUNCTION_ERROR,
    INVALID_RESPONSE,
    SUCCEEDED,
    TIMED_OUT,
    FunctionInitError,
    FunctionSpec,
)
from tests.support.stub_function import STUB_CODE_ROOT, STUB_HANDLER

UNUSED_CONNECT_URL = "http://127.0.0.1:9"  # the stub never calls Connect
VISIBILITY_TIMEOUT_SECONDS = 2  # the queue's, unless a test asks the harness for another
# A container spawns and imports the stub in well under this; it separates a message's receive from its start.
COLD_START_ALLOWANCE_SECONDS = 0.5


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


class Harness:
    """moto with the stack's queues, and a runner for the stub function."""

    def __init__(self, tmp_path: Path, intake: IntakeResources) -> None:
        self.tmp_path = tmp_path
        self.intake = intake
        self.sqs = boto3.client("sqs")
        self.events_path = tmp_path / "events.jsonl"
        self.runners: list[SqsEventSource] = []

    def send(self, *actions: dict[str, Any], **attributes: str) -> None:
        for action in actions:
            self.sqs.send_message(
                QueueUrl=self.intake.queue_url,
                MessageBody=json.dumps(action),
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )

    def start(
        self,
        *,
        batch_size: int = 10,
        window: float = 0,
        concurrency: int = 1,
        timeout: float = 10,
        handler: str = STUB_HANDLER,
        faults: DeliveryFaults | None = None,
    ) -> SqsEventSource:
        runner = SqsEventSource(
            EventSourceMappingSpec(
                queue_url=self.intake.queue_url,
                queue_arn=self.intake.queue_arn,
                batch_size=batch_size,
                batching_window_seconds=window,
                max_concurrency=concurrency,
            ),
            FunctionSpec(
                environment={"STUB_EVENTS_PATH": str(self.events_path)},
                timeout_seconds=timeout,
                log_path=self.tmp_path / "function.log",
                handler=handler,
                code_root=STUB_CODE_ROOT,
            ),
            faults,
        )
        self.runners.append(runner)
        return runner.start()

    def invocations(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines()]

    def deliveries(self) -> dict[str, list[dict[str, Any]]]:
        """messageId -> every record delivered with it, with the container and start time of its invocation."""
        delivered: dict[str, list[dict[str, Any]]] = {}
        for invocation in self.invocations():
            for record in invocation["event"]["Records"]:
                delivered.setdefault(record["messageId"], []).append(
                    {"record": record, "container": invocation["container"], "started_at": invocation["started_at"]}
                )
        return delivered

    def settled(self, runner: SqsEventSource) -> bool:
        """The queue is empty, no invocation runs and no duplicate waits to be delivered."""
        stats = runner.stats
        return self.queue_is_empty() and stats.in_flight == 0 and stats.duplicates_pending == 0

    def queue_is_empty(self) -> bool:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.intake.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            attributes["ApproximateNumberOfMessages"] == "0"
            and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
        )

    def dead_letter_bodies(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.intake.dead_letter_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        return sorted((json.loads(m["Body"]) for m in messages), key=json.dumps)


@pytest.fixture
def harness(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Queues as the stack configures them, with maxReceiveCount 2 and a 2 s visibility timeout.

    A test can ask for another visibility timeout with @pytest.mark.parametrize("harness", [seconds], indirect=True).
    """
    visibility_timeout_seconds = getattr(request, "param", VISIBILITY_TIMEOUT_SECONDS)
    settings = settings_from_context(
        {
            "connectInstanceId": "00000000-0000-0000-0000-000000000000",
            "connectContactFlowId": "11111111-1111-1111-1111-111111111111",
            "sourcePhoneNumber": "+15555550100",
            "maxReceiveCount": 2,
        }
    )
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, UNUSED_CONNECT_URL, tmp_path)):
        harness = Harness(tmp_path, create_intake(settings, visibility_timeout_seconds=visibility_timeout_seconds))
        try:
            yield harness
        finally:
            for runner in harness.runners:
                runner.stop()
    # Then no container process outlives its runner
    assert multiprocessing.active_children() == []


def test_records_are_the_sqs_event_lambda_would_send(harness: Harness) -> None:
    # Given two messages on the queue, one with a message attribute
    harness.send({"do": "ok"}, {"do": "ok"}, Source="crm")
    # When the runner invokes the function
    runner = harness.start(timeout=10)
    wait_for(harness.queue_is_empty)
    # Then the event parses as Powertools' model of a Lambda SQS event and carries the queue's details
    [invocation] = harness.invocations()
    event = SqsModel.model_validate(invocation["event"])
    assert len(event.Records) == 2
    record = event.Records[0]
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == harness.intake.queue_arn
    assert record.attributes.ApproximateReceiveCount == "1"
    assert record.messageAttributes["Source"].stringValue == "crm"
    # And the context counts down from the function timeout
    assert 0 < invocation["remaining_ms"] <= 10_000
    # And both records were deleted after success
    stats = runner.stats
    assert (stats.invocations, stats.records_deleted, stats.outcomes[SUCCEEDED]) == (1, 2, 1)


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


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": "a"}, None),
        ("a", None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(response: Any, expected: set[str] | None) -> None:
    # Given a batch of messages a and b / When the function answers / Then these records are retried (None: all)
    assert failed_message_ids(response, {"a", "b"}) == expected


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
