"""A local stand-in for Lambda's SQS event source mapping: pollers that gather batches and invoke the function.

Faithful where it shows: pollers long-poll the queue and gather a batch up to the batch size or the batching
window; at most `max_concurrency` invocations run at once, each in its own process that imports the handler
once and is then reused like a warm container; the event is a real SQS event; the partial batch response is
honoured (succeeded records deleted, failed ones left to reappear after the visibility timeout); an invocation
that outlives the function timeout is killed with its container and its whole batch left on the queue. Moving
messages to the dead-letter queue after maxReceiveCount is SQS's job (its redrive policy), not this runner's.

The event is built as Lambda builds it (local/sqs_event.py). On request (local/delivery_faults.py) it also
misbehaves as SQS and Lambda really do: it delivers a message a second time, and it kills busy containers at random.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from local.delivery_faults import DeliveryFaults, DuplicateDeliveries, kill_busy_containers
from local.event_source_stats import EventSourceStats
from local.function_container import (
    INVALID_RESPONSE,
    SUCCEEDED,
    FunctionContainer,
    FunctionInitError,
    FunctionSpec,
)
from local.sqs_event import failed_message_ids, sqs_event_record

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
        self._duplicates = DuplicateDeliveries(self.faults, mapping.max_concurrency)
        self._threads = [
            threading.Thread(target=self._poller, args=(slot,), name=f"esm-poller-{slot}", daemon=True)
            for slot in range(mapping.max_concurrency)
        ]
        if self.faults.kill_busy_worker_interval_seconds is not None:
            self._threads.append(
                threading.Thread(
                    target=kill_busy_containers,
                    args=(self.faults, self._stop, self._kill_one_busy_container),
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

    def _kill_one_busy_container(self, chance: random.Random) -> None:
        """Kill one container in the middle of an invocation, if any is, chosen with `chance`."""
        with self._lock:
            busy = sorted(self._busy.items(), key=lambda item: item[0])
            if not busy:
                return
            _, container = chance.choice(busy)
            self._stats.workers_killed += 1
        container.kill()
