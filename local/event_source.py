"""A local stand-in for Lambda's SQS event source mapping and the function containers it invokes.

Faithful where it shows: pollers long-poll the queue and gather a batch up to the batch size or the batching
window; at most `max_concurrency` invocations run at once, each in its own process that imports the handler
once and is then reused like a warm container; the event is a real SQS event; the partial batch response is
honoured (succeeded records deleted, failed ones left to reappear after the visibility timeout); an invocation
that outlives the function timeout is killed with its container and its whole batch left on the queue. Moving
messages to the dead-letter queue after maxReceiveCount is SQS's job (its redrive policy), not this runner's.
"""

from __future__ import annotations

import base64
import multiprocessing
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from local.account import LOCAL_REGION
from local.function_container import (
    INVALID_RESPONSE,
    SUCCEEDED,
    FunctionContainer,
    FunctionInitError,
    FunctionSpec,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# SQS limits: ReceiveMessage returns at most 10 messages; long polls wait at most 20 s.
SQS_MAX_MESSAGES_PER_RECEIVE = 10
# Pollers wait this long per ReceiveMessage (the real ones wait 20 s), so stopping is prompt.
POLL_WAIT_SECONDS = 1
# Lambda's invocation payload limit for synchronous invokes, which also bounds an SQS batch (6 MB).
MAX_EVENT_PAYLOAD_BYTES = 6 * 1024 * 1024
# Delete calls accept at most 10 entries (SQS DeleteMessageBatch).
SQS_MAX_BATCH_ENTRIES = 10


@dataclass(frozen=True)
class EventSourceMappingSpec:
    """The event source mapping's settings, as the stack configures them."""

    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    max_concurrency: int


@dataclass
class EventSourceStats:
    """What the runner observed: invocations and what each one answered."""

    invocations: int = 0
    records_delivered: int = 0
    redeliveries: int = 0  # records delivered with ApproximateReceiveCount > 1
    records_deleted: int = 0
    batch_item_failures: int = 0  # records the function listed in batchItemFailures
    records_in_failed_invocations: int = 0  # records of invocations that errored, timed out or crashed
    outcomes: Counter[str] = field(default_factory=Counter)  # invocation outcome -> count
    cold_starts: int = 0
    in_flight: int = 0  # invocations running right now
    max_in_flight: int = 0

    @property
    def retried(self) -> int:
        """Records left on the queue for redelivery, whichever way the invocation failed them."""
        return self.batch_item_failures + self.records_in_failed_invocations


def sqs_event_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """Turn a ReceiveMessage result into the record Lambda puts in an SQS event."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: attributes[key]  # type: ignore[literal-required]
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "AWSTraceHeader",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
            )
            if key in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(value["BinaryValue"]).decode() if "BinaryValue" in value else None,
                "stringListValues": list(value.get("StringListValues", [])),
                "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
    for item in record["messageAttributes"].values():
        for key in ("stringValue", "binaryValue"):
            if item[key] is None:
                del item[key]
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(response: Any, batch_ids: set[str]) -> set[str] | None:
    """The messageIds a partial batch response lists, or None when Lambda would treat the response as invalid.

    An empty or missing list means every record succeeded; an itemIdentifier that is empty or not in the batch
    makes the whole batch fail (Lambda, "Reporting batch item failures").
    """
    if response is None or (isinstance(response, dict) and not response.get("batchItemFailures")):
        return set()
    if not isinstance(response, dict) or not isinstance(response["batchItemFailures"], list):
        return None
    failed = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return None
        failed.add(identifier)
    return failed


class SqsEventSource:
    """Polls the queue and invokes the function like the event source mapping; use as a context manager."""

    def __init__(self, mapping: EventSourceMappingSpec, function: FunctionSpec) -> None:
        self.mapping = mapping
        self.function = function
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stats = EventSourceStats()
        self._spawn = multiprocessing.get_context("spawn")
        self._containers: list[FunctionContainer | None] = [None] * mapping.max_concurrency
        self._threads = [
            threading.Thread(target=self._poller, args=(slot,), name=f"esm-poller-{slot}", daemon=True)
            for slot in range(mapping.max_concurrency)
        ]
        self.init_error: FunctionInitError | None = None

    @property
    def stats(self) -> EventSourceStats:
        """A snapshot of what the runner has observed."""
        with self._lock:
            return EventSourceStats(**{**self._stats.__dict__, "outcomes": Counter(self._stats.outcomes)})

    def start(self) -> SqsEventSource:
        """Start the pollers."""
        self.function.log_path.parent.mkdir(parents=True, exist_ok=True)
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop polling; kill containers that are still running an invocation; stop the idle ones."""
        self._stop.set()
        for container in list(self._containers):
            if container is not None:
                container.kill()
        for thread in self._threads:
            thread.join(timeout=POLL_WAIT_SECONDS + 10)
        for container in self._containers:
            if container is not None:
                container.stop()

    def __enter__(self) -> SqsEventSource:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _poller(self, slot: int) -> None:
        sqs: SQSClient = boto3.client("sqs")
        while not self._stop.is_set():
            batch = self._gather_batch(sqs)
            if not batch or self._stop.is_set():
                continue
            try:
                container = self._container(slot)
            except FunctionInitError as error:
                with self._lock:
                    self.init_error = self.init_error or error
                self._stop.set()
                return
            self._invoke(sqs, container, batch)

    def _container(self, slot: int) -> FunctionContainer:
        container = self._containers[slot]
        if container is None or not container.alive:
            container = FunctionContainer(self.function, self._spawn)
            self._containers[slot] = container
            with self._lock:
                self._stats.cold_starts += 1
        return container

    def _gather_batch(self, sqs: SQSClient) -> list[MessageTypeDef]:
        """Long-poll until a batch is full, the batching window has passed since its first record, or 6 MB."""
        batch: list[MessageTypeDef] = []
        payload_bytes = 0
        window_ends: float | None = None
        while not self._stop.is_set() and len(batch) < self.mapping.batch_size:
            remaining = None if window_ends is None else window_ends - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            wait = POLL_WAIT_SECONDS if remaining is None else max(0, min(POLL_WAIT_SECONDS, int(remaining)))
            messages = sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_MESSAGES_PER_RECEIVE, self.mapping.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in messages:
                payload_bytes += len(message["Body"].encode())
                batch.append(message)
            # A message whose visibility timeout ran out during a long window comes back: keep its newest receipt.
            batch = list({message["MessageId"]: message for message in batch}.values())
            if messages and window_ends is None:
                window_ends = time.monotonic() + self.mapping.batching_window_seconds
            if payload_bytes >= MAX_EVENT_PAYLOAD_BYTES:
                break
            if self.mapping.batching_window_seconds == 0 and batch:
                break
        return batch

    def _invoke(self, sqs: SQSClient, container: FunctionContainer, batch: list[MessageTypeDef]) -> None:
        records = [sqs_event_record(message, self.mapping.queue_arn) for message in batch]
        redelivered = sum(1 for record in records if int(record["attributes"].get("ApproximateReceiveCount", 1)) > 1)
        with self._lock:
            self._stats.invocations += 1
            self._stats.records_delivered += len(records)
            self._stats.redeliveries += redelivered
            self._stats.in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
        result = container.invoke({"Records": records})
        outcome = result.outcome
        batch_ids = {message["MessageId"] for message in batch}
        failed = batch_ids
        if outcome == SUCCEEDED:
            listed = failed_message_ids(result.response, batch_ids)
            if listed is None:
                outcome = INVALID_RESPONSE
            else:
                failed = listed
        succeeded = [message for message in batch if message["MessageId"] not in failed]
        deleted = self._delete(sqs, succeeded)
        with self._lock:
            self._stats.in_flight -= 1
            self._stats.outcomes[outcome] += 1
            self._stats.records_deleted += deleted
            if outcome == SUCCEEDED:
                self._stats.batch_item_failures += len(failed)
            else:
                self._stats.records_in_failed_invocations += len(batch)

    def _delete(self, sqs: SQSClient, messages: list[MessageTypeDef]) -> int:
        deleted = 0
        for start in range(0, len(messages), SQS_MAX_BATCH_ENTRIES):
            chunk = messages[start : start + SQS_MAX_BATCH_ENTRIES]
            response = sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)],
            )
            deleted += len(response.get("Successful", []))
        return deleted
