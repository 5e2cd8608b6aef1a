"""A local stand-in for Lambda's SQS event source mapping and the function containers it invokes.

Faithful where it shows: pollers long-poll the queue and gather a batch up to the batch size or the batching
window; at most `max_concurrency` invocations run at once, each in its own process that imports the handler
once and is then reused like a warm container; the event is a real SQS event; the partial batch response is
honoured (succeeded records deleted, failed ones left to reappear after the visibility timeout); an invocation
that outlives the function timeout is killed with its container and its whole batch left on the queue. Moving
messages to the dead-letter queue after maxReceiveCount is SQS's job (its redrive policy), not this runner's.

On request (DeliveryFaults) it also misbehaves as SQS and Lambda really do: it delivers a message a second time
(standard queues are at-least-once), and it kills busy containers at random, as a dying sandbox would.
"""

from __future__ import annotations

import base64
import itertools
import multiprocessing
import random
import threading
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from local.account import LOCAL_REGION
from local.function_container import (
    CRASHED,
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
# SQS promises neither when nor to whom a duplicate comes. By default half go to another invocation while the
# original runs, and the rest arrive this many seconds later: long enough to land after the original invocation
# (and its delete) in a test run, short enough that a run does not wait on them.
DEFAULT_CONCURRENT_DUPLICATE_SHARE = 0.5
LATE_DUPLICATE_DELAY_SECONDS = (0.5, 3.0)
# Kills of busy containers come every kill_busy_worker_interval_seconds, give or take this share of it.
KILL_INTERVAL_JITTER = 0.5


@dataclass(frozen=True)
class EventSourceMappingSpec:
    """The event source mapping's settings, as the stack configures them."""

    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    max_concurrency: int


@dataclass(frozen=True)
class DeliveryFaults:
    """Misbehaviour of SQS and Lambda to inject: duplicate deliveries and busy containers killed; seeded."""

    duplicate_rate: float = 0.0  # probability (0..1) that a received message is delivered a second time
    # Of those duplicates, the share offered to another invocation while the original runs; the rest come later.
    concurrent_duplicate_share: float = DEFAULT_CONCURRENT_DUPLICATE_SHARE
    kill_busy_worker_interval_seconds: float | None = None  # None: no container is killed at random
    seed: int | None = None  # None: unseeded

    def __post_init__(self) -> None:
        """Reject probabilities outside 0..1 and an interval that is not positive."""
        for name in ("duplicate_rate", "concurrent_duplicate_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.kill_busy_worker_interval_seconds is not None and self.kill_busy_worker_interval_seconds <= 0:
            raise ValueError("kill_busy_worker_interval_seconds must be greater than 0")


@dataclass
class EventSourceStats:
    """What the runner observed: invocations and what each one answered."""

    invocations: int = 0
    records_delivered: int = 0
    redeliveries: int = 0  # records delivered with ApproximateReceiveCount > 1
    records_deleted: int = 0  # delete entries SQS accepted; deleting a duplicate's message again counts again
    batch_item_failures: int = 0  # records the function listed in batchItemFailures
    records_in_failed_invocations: int = 0  # records of invocations that errored, timed out or crashed
    outcomes: Counter[str] = field(default_factory=Counter)  # invocation outcome -> count
    cold_starts: int = 0
    in_flight: int = 0  # invocations running right now
    max_in_flight: int = 0
    duplicates_delivered: int = 0  # records delivered a second time by DeliveryFaults.duplicate_rate
    duplicates_pending: int = 0  # duplicates whose invocation has not started; a run has not settled until 0
    workers_killed: int = 0  # busy containers killed by DeliveryFaults.kill_busy_worker_interval_seconds

    @property
    def retried(self) -> int:
        """Records left on the queue for redelivery, whichever way the invocation failed them."""
        return self.batch_item_failures + self.records_in_failed_invocations

    @property
    def crashed_invocations(self) -> int:
        """Invocations whose container died under them: injected deaths, random kills, any other crash."""
        return self.outcomes[CRASHED]


def sqs_event_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """Turn a ReceiveMessage result into the record Lambda puts in an SQS event."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: attributes[key]
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


@dataclass
class _Duplicate:
    message: MessageTypeDef
    due_at: float  # time.monotonic()
    held_from_slot: int | None  # the slot running the original, which must leave this duplicate to another


class _DuplicateDeliveries:
    """Second deliveries of received messages (same messageId, body, attributes, receipt handle), awaiting a batch.

    A concurrent duplicate is offered at once to every poller but the one running the original; when that
    invocation ends, one no other poller took goes to any poller, the original's included. A late duplicate
    waits LATE_DUPLICATE_DELAY_SECONDS and then goes to any poller.
    """

    def __init__(self, faults: DeliveryFaults, max_concurrency: int) -> None:
        self._rate = faults.duplicate_rate
        # With one slot, no other invocation can run at the same time as the original.
        self._concurrent_share = faults.concurrent_duplicate_share if max_concurrency > 1 else 0.0
        self._chance = random.Random(None if faults.seed is None else f"{faults.seed}/duplicates")
        self._lock = threading.Lock()
        self._pending: list[_Duplicate] = []
        self._undelivered = 0  # pending, plus taken into a batch whose invocation has not started

    @property
    def undelivered(self) -> int:
        """Duplicates scheduled whose invocation has not started yet."""
        with self._lock:
            return self._undelivered

    def schedule(self, messages: list[MessageTypeDef], slot: int) -> None:
        """Decide, for each message `slot` is about to deliver, whether and how it is delivered a second time."""
        if self._rate == 0:
            return
        now = time.monotonic()
        with self._lock:
            for message in messages:
                if self._chance.random() >= self._rate:
                    continue
                if self._chance.random() < self._concurrent_share:
                    self._pending.append(_Duplicate(message, now, slot))
                else:
                    delay = self._chance.uniform(*LATE_DUPLICATE_DELAY_SECONDS)
                    self._pending.append(_Duplicate(message, now + delay, None))
                self._undelivered += 1

    def settle(self, count: int) -> None:
        """`count` taken duplicates are done with: their invocation started, or SQS's own delivery replaced them."""
        with self._lock:
            self._undelivered -= count

    def release(self, slot: int) -> None:
        """The invocation of `slot` ended: the duplicates held from it may go to any poller, itself included."""
        with self._lock:
            for duplicate in self._pending:
                if duplicate.held_from_slot == slot:
                    duplicate.held_from_slot = None

    def take(self, slot: int, in_batch: Collection[str], room: int) -> list[MessageTypeDef]:
        """Up to `room` duplicates due now that `slot` may deliver, none with a messageId already in the batch."""
        now = time.monotonic()
        taken: dict[str, MessageTypeDef] = {}
        with self._lock:
            for duplicate in list(self._pending):
                message_id = duplicate.message["MessageId"]
                if len(taken) >= room:
                    break
                if duplicate.due_at > now or duplicate.held_from_slot == slot:
                    continue
                if message_id in in_batch or message_id in taken:
                    continue
                taken[message_id] = duplicate.message
                self._pending.remove(duplicate)
        return list(taken.values())

    def clear(self) -> None:
        """Forget every pending duplicate, as a stopped mapping delivers nothing more."""
        with self._lock:
            self._pending.clear()
            self._undelivered = 0


class SqsEventSource:
    """Polls the queue and invokes the function like the event source mapping; use as a context manager."""

    def __init__(
        self, mapping: EventSourceMappingSpec, function: FunctionSpec, faults: DeliveryFaults | None = None
    ) -> None:
        """Prepare one poller per slot of `max_concurrency`, and a killer of busy containers when faults ask."""
        self.mapping = mapping
        self.function = function
        self.faults = faults or DeliveryFaults()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stats = EventSourceStats()
        self._spawn = multiprocessing.get_context("spawn")
        self._containers: list[FunctionContainer | None] = [None] * mapping.max_concurrency
        self._container_numbers = itertools.count()
        self._busy: dict[int, FunctionContainer] = {}  # slot -> container in the middle of an invocation
        self._duplicates = _DuplicateDeliveries(self.faults, mapping.max_concurrency)
        self._threads = [
            threading.Thread(target=self._poller, args=(slot,), name=f"esm-poller-{slot}", daemon=True)
            for slot in range(mapping.max_concurrency)
        ]
        if self.faults.kill_busy_worker_interval_seconds is not None:
            self._threads.append(
                threading.Thread(
                    target=self._kill_busy_workers,
                    args=(self.faults.kill_busy_worker_interval_seconds,),
                    name="esm-sandbox-killer",
                    daemon=True,
                )
            )
        self.init_error: FunctionInitError | None = None
        self.started_at: float | None = None  # time.time() when the pollers started

    @property
    def stats(self) -> EventSourceStats:
        """A snapshot of what the runner has observed."""
        with self._lock:
            return EventSourceStats(
                **{
                    **self._stats.__dict__,
                    "outcomes": Counter(self._stats.outcomes),
                    "duplicates_pending": self._duplicates.undelivered,
                }
            )

    def start(self) -> SqsEventSource:
        """Start the pollers."""
        self.function.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
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
        self._duplicates.clear()

    def __enter__(self) -> SqsEventSource:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _poller(self, slot: int) -> None:
        sqs: SQSClient = boto3.client("sqs")
        while not self._stop.is_set():
            batch, duplicate_ids = self._gather_batch(sqs, slot)
            if not batch or self._stop.is_set():
                continue
            try:
                container = self._container(slot)
            except FunctionInitError as error:
                with self._lock:
                    self.init_error = self.init_error or error
                self._stop.set()
                return
            self._invoke(sqs, slot, container, batch, duplicate_ids)

    def _container(self, slot: int) -> FunctionContainer:
        container = self._containers[slot]
        if container is None or not container.alive:
            container = FunctionContainer(self.function, self._spawn, next(self._container_numbers))
            self._containers[slot] = container
            with self._lock:
                self._stats.cold_starts += 1
        return container

    def _gather_batch(self, sqs: SQSClient, slot: int) -> tuple[list[MessageTypeDef], set[str]]:
        """Long-poll until a batch is full, the batching window has passed since its first record, or 6 MB.

        Returns the batch and the messageIds in it that are duplicate deliveries.
        """
        # By messageId: Lambda never puts one message twice in a batch. A message whose visibility timeout ran
        # out during a long window comes back from SQS: its newest receipt replaces the older one.
        batch: dict[str, MessageTypeDef] = {}
        duplicate_ids: set[str] = set()
        payload_bytes = 0
        window_ends: float | None = None
        while not self._stop.is_set() and len(batch) < self.mapping.batch_size:
            remaining = None if window_ends is None else window_ends - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            duplicates = self._duplicates.take(slot, batch.keys(), self.mapping.batch_size - len(batch))
            for message in duplicates:
                batch[message["MessageId"]] = message
                duplicate_ids.add(message["MessageId"])
            messages: list[MessageTypeDef] = []
            if len(batch) < self.mapping.batch_size:
                wait = POLL_WAIT_SECONDS if remaining is None else max(0, min(POLL_WAIT_SECONDS, int(remaining)))
                if duplicates and self.mapping.batching_window_seconds == 0:
                    wait = 0  # the duplicates make a batch already: add what is there, don't wait for more
                messages = sqs.receive_message(
                    QueueUrl=self.mapping.queue_url,
                    MaxNumberOfMessages=min(SQS_MAX_MESSAGES_PER_RECEIVE, self.mapping.batch_size - len(batch)),
                    WaitTimeSeconds=wait,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            for message in messages:
                if message["MessageId"] in duplicate_ids:  # SQS delivered it again: its newer receipt replaces ours
                    duplicate_ids.discard(message["MessageId"])
                    self._duplicates.settle(1)
                batch[message["MessageId"]] = message
            for message in [*duplicates, *messages]:
                payload_bytes += len(message["Body"].encode())
            if batch and window_ends is None:
                window_ends = time.monotonic() + self.mapping.batching_window_seconds
            if payload_bytes >= MAX_EVENT_PAYLOAD_BYTES:
                break
            if self.mapping.batching_window_seconds == 0 and batch:
                break
        return list(batch.values()), duplicate_ids

    def _invoke(
        self,
        sqs: SQSClient,
        slot: int,
        container: FunctionContainer,
        batch: list[MessageTypeDef],
        duplicate_ids: set[str],
    ) -> None:
        records = [sqs_event_record(message, self.mapping.queue_arn) for message in batch]
        redelivered = sum(1 for record in records if int(record["attributes"].get("ApproximateReceiveCount", 1)) > 1)
        # Scheduled before the invocation starts, so that another poller can deliver a duplicate while it runs.
        self._duplicates.schedule([message for message in batch if message["MessageId"] not in duplicate_ids], slot)
        with self._lock:
            self._stats.invocations += 1
            self._stats.records_delivered += len(records)
            self._stats.redeliveries += redelivered
            self._stats.duplicates_delivered += len(duplicate_ids)
            # Under the stats lock, so that no snapshot sees a duplicate neither pending nor in flight.
            self._duplicates.settle(len(duplicate_ids))
            self._stats.in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
            self._busy[slot] = container
        try:
            result = container.invoke({"Records": records})
        finally:
            with self._lock:
                self._busy.pop(slot, None)
            self._duplicates.release(slot)
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

    def _kill_busy_workers(self, interval_seconds: float) -> None:
        """About every `interval_seconds`, kill a container in the middle of an invocation, as a dying sandbox.

        Its invocation ends CRASHED, its batch stays on the queue until the visibility timeout, and the slot's
        next batch cold-starts a new container.
        """
        seed = self.faults.seed
        chance = random.Random(None if seed is None else f"{seed}/killer")
        while not self._stop.wait(
            interval_seconds * chance.uniform(1 - KILL_INTERVAL_JITTER, 1 + KILL_INTERVAL_JITTER)
        ):
            with self._lock:
                busy = sorted(self._busy.items(), key=lambda item: item[0])
                if not busy:
                    continue
                _, container = chance.choice(busy)
                self._stats.workers_killed += 1
            container.kill()
