"""Misbehaviour of SQS and Lambda injected on purpose (DeliveryFaults, seeded), as they really misbehave: a message
delivered a second time (standard queues are at-least-once); busy containers killed at random, as a dying sandbox.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# SQS promises neither when nor to whom a duplicate comes. By default half go to another invocation while the
# original runs, and the rest arrive this many seconds later: long enough to land after the original invocation
# (and its delete) in a test run, short enough that a run does not wait on them.
DEFAULT_CONCURRENT_DUPLICATE_SHARE = 0.5
LATE_DUPLICATE_DELAY_SECONDS = (0.5, 3.0)
# Kills of busy containers come every kill_busy_worker_interval_seconds, give or take this share of it.
KILL_INTERVAL_JITTER = 0.5


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
class _Duplicate:
    message: MessageTypeDef
    due_at: float  # time.monotonic()
    held_from_slot: int | None  # the slot running the original, which must leave this duplicate to another


class DuplicateDeliveries:
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


def kill_busy_containers(
    faults: DeliveryFaults, stop: threading.Event, kill_one: Callable[[random.Random], None]
) -> None:
    """About every kill_busy_worker_interval_seconds until `stop`, have `kill_one` kill a container in the middle of
    an invocation, chosen with the random source it is given, as a dying sandbox.

    Its invocation ends CRASHED, its batch stays on the queue until the visibility timeout, and the slot's next batch
    cold-starts a new container.
    """
    interval_seconds = faults.kill_busy_worker_interval_seconds
    if interval_seconds is None:
        return
    chance = random.Random(None if faults.seed is None else f"{faults.seed}/killer")
    while not stop.wait(interval_seconds * chance.uniform(1 - KILL_INTERVAL_JITTER, 1 + KILL_INTERVAL_JITTER)):
        kill_one(chance)
