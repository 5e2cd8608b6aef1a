"""Slots handed on as calls end, against a simulated full instance in simulated minutes: the issue's targets hold.

A discrete-event simulation (no sleeping) of the whole loop with the real policy: a backlog of requests, invocations
taking batches of due requests at the paced rate, an instance of 10 concurrent calls lasting 60-180 s, the real
BackPressure and SlotHandOver over the in-memory shared state, and the completion's real hand_on and tick. What is
simulated: the source queue (due times), the waiting room (oldest first), and each call's contact event, which
arrives seconds after the call ended, or never (lost). Beside it, in the same run, the timed deferrals of a
deployment without a waiting room, the baseline the hand-over must beat.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

import pytest

from outbound_caller.completion.collaborators import SlotHandOverParts
from outbound_caller.completion.freed_slots import hand_on, tick
from outbound_caller.connect.back_pressure import BackPressure
from outbound_caller.connect.instance_state import MemoryInstanceStateStore
from outbound_caller.connect.slots import SlotHandOver

CAPACITY = 10
CALL_SECONDS = (60.0, 180.0)
BATCH_SIZE = 10
INVOCATIONS = 2
SECONDS_PER_CALL = 1 / 2  # 2 calls/s in all
POLL_SECONDS = 0.05
# A contact event reaches the completion this long after the call ended; the drawn request reaches the caller after
# the source queue's poll.
EVENT_LATENCY_SECONDS = (1.0, 5.0)
DRAWN_DELIVERY_SECONDS = 1.0
TICK_SECONDS = 60.0


@dataclass
class Instance:
    """Connect's concurrent-call limit, shared with other traffic: a call is refused while ``capacity`` are live."""

    capacity: int
    rng: random.Random
    ends: list[float] = field(default_factory=list)
    requests: int = 0
    seconds_called: float = 0.0

    def call(self, now: float) -> float | None:
        """The end of the call placed now; None when the instance is full (LimitExceededException)."""
        self.requests += 1
        self.ends = [end for end in self.ends if end > now]
        if len(self.ends) >= self.capacity:
            return None
        duration = self.rng.uniform(*CALL_SECONDS)
        self.seconds_called += duration
        self.ends.append(now + duration)
        return now + duration


@dataclass
class Room:
    """The waiting room: parked requests, oldest first, drawn into the source queue."""

    due: list[tuple[float, int, bool]]
    clock: list[float]
    parked: deque[int] = field(default_factory=deque)
    draws: int = 0

    def draw(self, count: int, *, key: bytes | None, handed_over_at_ms: int | None = None) -> int:
        moved = 0
        while moved < count and self.parked:
            request = self.parked.popleft()
            heapq.heappush(self.due, (self.clock[0] + DRAWN_DELIVERY_SECONDS, request, handed_over_at_ms is not None))
            moved += 1
        self.draws += moved
        return moved


class Key:
    def get(self) -> bytes:
        return b"key"


@dataclass(frozen=True)
class Drained:
    placed: int
    connect_requests: int
    seconds: float
    ideal_seconds: float
    hops_per_request: float
    longest_wait: float

    @property
    def drain_ratio(self) -> float:
        """The ideal drain (the calls' total length over the capacity) over the drain it took."""
        return self.ideal_seconds / self.seconds

    @property
    def requests_per_call(self) -> float:
        return self.connect_requests / self.placed


def drain(requests: int, seed: int, *, waiting_room: bool, lost_events: float = 0.0) -> Drained:
    """Run the backlog through the instance until every request is placed."""
    rng = random.Random(seed)
    clock = [0.0]
    store = MemoryInstanceStateStore(clock=lambda: clock[0])
    pressures = [BackPressure(store, CAPACITY, rng=rng.random) for _ in range(INVOCATIONS)]
    instance = Instance(CAPACITY, rng)
    due: list[tuple[float, int, bool]] = [(0.0, index, False) for index in range(requests)]
    heapq.heapify(due)
    room = Room(due, clock)
    parts = SlotHandOverParts(room=room, slots=SlotHandOver(store, CAPACITY), signing_key=Key())
    events: list[float] = []  # when each contact event reaches the completion
    next_tick = TICK_SECONDS
    placed, hops, turn, longest_wait = 0, 0, 0, 0.0
    while placed < requests:
        # The next thing to happen: a due request, a contact event, or the tick.
        upcoming = [due[0][0]] if due else []
        upcoming += [events[0]] if events else []
        upcoming += [next_tick] if waiting_room else []
        clock[0] = max(clock[0], min(upcoming))
        if events and events[0] <= clock[0]:
            heapq.heappop(events)
            hand_on(parts, int(clock[0] * 1000))
            continue
        if waiting_room and next_tick <= clock[0]:
            tick(parts, CAPACITY, int(clock[0] * 1000))
            next_tick += TICK_SECONDS
            continue
        batch: list[tuple[int, bool]] = []
        while due and due[0][0] <= clock[0] and len(batch) < BATCH_SIZE:
            _, request, handed = heapq.heappop(due)
            batch.append((request, handed))
        pressure = pressures[turn % INVOCATIONS]
        turn += 1
        pressure.begin()
        for request, handed in batch:
            held = pressure.wait(slot_handed_over=handed)
            if held is None:
                clock[0] += SECONDS_PER_CALL
                ends = instance.call(clock[0])
                if ends is not None:
                    placed += 1
                    longest_wait = max(longest_wait, clock[0])
                    # Without a waiting room, nothing hands a slot on: the contact events go unused.
                    if waiting_room and rng.random() >= lost_events:
                        heapq.heappush(events, ends + rng.uniform(*EVENT_LATENCY_SECONDS))
                    continue
                held = pressure.instance_full()
            hops += 1
            if waiting_room:
                room.parked.append(request)
            else:
                # SQS delays are whole seconds, and a deferred request comes back no sooner than asked.
                heapq.heappush(due, (max(clock[0] + 1, held.until_ms / 1000), request, False))
        clock[0] += POLL_SECONDS
    return Drained(
        placed=placed,
        connect_requests=instance.requests,
        seconds=max(clock[0], max(instance.ends, default=0.0)),
        ideal_seconds=instance.seconds_called / CAPACITY,
        hops_per_request=(hops + room.draws) / requests,
        longest_wait=longest_wait,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_slots_handed_on_drain_a_backlog_close_to_capacity_with_almost_no_refusals_and_few_hops(seed: int) -> None:
    # Given 300 queued requests and an instance of 10 concurrent calls lasting 60-180 s, each call's end reported
    # seconds later
    # When the backlog drains through the waiting room, beside timed deferrals alone
    ours = drain(300, seed, waiting_room=True)
    baseline = drain(300, seed, waiting_room=False)
    # Then every request is placed, each figure beats the baseline's, and the targets hold: requests per call
    # and hops as set; the drain within the seconds each hand-over takes here (the event's 1-5 s and the queue's
    # 1 s, of calls of 2 minutes on average: 0.95 would need hand-overs faster than Connect's events come)
    assert ours.placed == baseline.placed == 300
    assert ours.drain_ratio >= 0.93 > 0.8 > baseline.drain_ratio
    assert ours.requests_per_call <= 1.05 < baseline.requests_per_call
    assert ours.hops_per_request <= 3 < 10 < baseline.hops_per_request
    assert ours.longest_wait < baseline.longest_wait


@pytest.mark.parametrize("lost", [0.2, 1.0])
def test_lost_contact_events_slow_the_drain_but_never_stop_it(lost: float) -> None:
    # Given contact events lost (a fifth of them, or all: no completion reaches the function)
    # When the backlog drains through the waiting room
    result = drain(300, 7, waiting_room=True, lost_events=lost)
    # Then every request is still placed: probes (a fifth lost) or the tick and the timed openings (all lost) find the
    # capacity the hand-overs miss; it never shrinks for good
    assert result.placed == 300
    assert result.drain_ratio >= (0.8 if lost < 1 else 0.7)
