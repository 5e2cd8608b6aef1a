"""The local event source under test: moto with the stack's queues, and runners of the stub function
(tests/local/stub_function), which records every event it is invoked with."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from infra.context_loading import settings_from_context
from local.delivery_faults import DeliveryFaults
from local.event_source import EventSourceMappingSpec, SqsEventSource
from local.function_container import FunctionSpec
from local.intake import IntakeResources, create_intake
from local.moto_servers import LocalAws
from local.run_progress import SETTLED_LOOKS
from local.sdk_environment import local_sdk_environment, scoped_environment
from tests.support.stub_function import STUB_CODE_ROOT, STUB_HANDLER

UNUSED_CONNECT_URL = "http://127.0.0.1:9"  # the stub never calls Connect
VISIBILITY_TIMEOUT_SECONDS = 2  # the queue's, unless a test asks the harness for another
# A container spawns and imports the stub in well under this; it separates a message's receive from its start.
COLD_START_ALLOWANCE_SECONDS = 0.5
SETTLED_LOOK_INTERVAL_SECONDS = 0.2


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Look again every 0.1 s until `condition` holds; fail the test after `timeout` seconds."""
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
        """The queue is empty, no invocation runs and no duplicate waits to be delivered, at SETTLED_LOOKS looks in a
        row (one look at SQS's approximate counts can miss a message)."""
        for look in range(SETTLED_LOOKS):
            if look:
                time.sleep(SETTLED_LOOK_INTERVAL_SECONDS)
            stats = runner.stats
            if not (self._queue_looks_empty() and stats.in_flight == 0 and stats.duplicates_pending == 0):
                return False
        return True

    def queue_is_empty(self) -> bool:
        """No message visible or in flight, at SETTLED_LOOKS looks in a row."""
        for look in range(SETTLED_LOOKS):
            if look:
                time.sleep(SETTLED_LOOK_INTERVAL_SECONDS)
            if not self._queue_looks_empty():
                return False
        return True

    def _queue_looks_empty(self) -> bool:
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


@contextmanager
def event_source_harness(
    tmp_path: Path, visibility_timeout_seconds: int = VISIBILITY_TIMEOUT_SECONDS
) -> Iterator[Harness]:
    """Queues as the stack configures them, with maxReceiveCount 2; every runner started is stopped after.

    Checks, on the way out, that no container process outlives its runner.
    """
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
