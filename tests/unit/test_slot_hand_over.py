"""Slots handed on as calls end (connect/slots.py) and what the caller's back-pressure makes of them: a freed slot is
taken at once, timed openings wait while slots are handed on, and probes look for room the hand-overs do not see."""

from __future__ import annotations

import dataclasses

from outbound_caller.connect.back_pressure import BackPressure
from outbound_caller.connect.instance_state import InstanceState, MemoryInstanceStateStore
from outbound_caller.connect.probes import HAND_OVER_QUIET_MS, PROBE_MAX_MS, PROBE_MIN_MS
from outbound_caller.connect.slots import SlotHandOver
from outbound_caller.decisions import INSTANCE_AT_CAPACITY
from tests.support.clock import WallClock

START = 1_000_000.0  # seconds
LIMIT = 10


def full_instance() -> tuple[MemoryInstanceStateStore, WallClock, SlotHandOver]:
    """A store holding an instance just found full (held for a while), and the completion's hand-over on it."""
    clock = WallClock(START)
    store = MemoryInstanceStateStore(clock)
    pressure = BackPressure(store, LIMIT, rng=lambda: 0.5)
    pressure.begin()
    assert pressure.wait() is None
    pressure.instance_full()
    return store, clock, SlotHandOver(store, LIMIT)


def batch(store: MemoryInstanceStateStore) -> BackPressure:
    pressure = BackPressure(store, LIMIT, rng=lambda: 0.5)
    pressure.begin()
    return pressure


def test_a_slot_freed_with_nobody_waiting_is_taken_at_once_hold_or_not() -> None:
    # Given a held instance, and one of our calls ending with nobody in the waiting room
    store, _clock, slots = full_instance()
    assert slots.is_held()
    assert slots.freed()
    # When the next request arrives while the hold is still in force
    # Then it takes the slot and calls; the one after it waits
    assert batch(store).wait() is None
    held = batch(store).wait()
    assert held is not None
    assert held.reason == INSTANCE_AT_CAPACITY


def test_as_many_slots_freed_as_the_instance_has_calls_open_it_to_all() -> None:
    # Given a held instance whose calls all end with nobody waiting
    store, _clock, slots = full_instance()
    for _ in range(LIMIT):
        slots.freed()
    # Then it keeps up: open to all, and nothing more is counted
    assert not store.load().busy
    assert not slots.is_held()
    assert not slots.freed()


def test_found_full_again_every_counted_slot_is_forgotten() -> None:
    # Given two slots counted free, then a call refused (other traffic took the room)
    store, clock, slots = full_instance()
    slots.freed()
    slots.freed()
    pressure = batch(store)
    assert pressure.wait() is None
    clock.now += 1
    pressure.instance_full()
    # Then no slot is counted any more
    assert store.load().slots == 0


def test_an_instance_open_to_all_counts_no_slot() -> None:
    # Given an instance never found full
    store = MemoryInstanceStateStore(WallClock(START))
    slots = SlotHandOver(store, LIMIT)
    # Then an ended call neither counts a slot nor notes a hand-over
    assert not slots.is_held()
    assert not slots.freed()
    slots.handed()
    assert store.load() == InstanceState(version=0)


def test_while_slots_are_handed_on_no_opening_comes_on_a_timer() -> None:
    # Given a held instance whose hold has passed, and a slot handed to a waiting request just now
    store, clock, slots = full_instance()
    clock.now = store.load().open_at_ms / 1000 + 1
    slots.handed()
    # When a new request arrives
    held = batch(store).wait()
    # Then it waits: the hand-overs pace the instance, until none has come for a while
    assert held is not None
    assert held.until_ms > clock.now * 1000
    clock.now += HAND_OVER_QUIET_MS / 1000 + 1
    assert batch(store).wait() is None  # an opening on the timer again


def test_probes_look_for_more_room_and_come_half_as_often_each_time_one_is_refused() -> None:
    # Given slots being handed on (one every few seconds), the hold long passed
    store, clock, slots = full_instance()
    clock.now = store.load().open_at_ms / 1000 + 1

    def hand_over_now() -> None:
        slots.handed()

    hand_over_now()
    # The first request waits, and schedules the first probe a while from now
    assert batch(store).wait() is not None
    intervals = []
    for _ in range(8):
        probe_at = store.load().probe_at_ms
        clock.now = probe_at / 1000
        hand_over_now()
        pressure = batch(store)
        # When the probe's time comes, one request is let through (the next waits)
        assert pressure.wait() is None
        assert batch(store).wait() is not None
        # And the instance refuses it: the next probe comes twice as late, up to the longest interval
        pressure.instance_full()
        intervals.append(store.load().probe_ms)
    assert intervals[:3] == [2 * PROBE_MIN_MS, 4 * PROBE_MIN_MS, 8 * PROBE_MIN_MS]
    assert intervals[-1] == PROBE_MAX_MS
    # A refused probe does not close the instance for a hold: the hand-overs go on
    assert store.load().open_at_ms < clock.now * 1000


def test_a_probe_that_found_room_brings_the_next_one_sooner() -> None:
    # Given a probe interval grown by refusals, the last probe refused
    store, clock, slots = full_instance()
    state = store.load()
    store.replace(
        dataclasses.replace(
            state, probe_at_ms=int(clock.now * 1000), probe_ms=8 * PROBE_MIN_MS, probe_failed=True, handed_at_ms=1
        ),
        state.version,
    )
    clock.now = max(clock.now, store.load().open_at_ms / 1000) + 1
    slots.handed()
    # When a probe is let through (at the same interval: the last was refused), is not refused, and the next
    # probe's time comes
    assert batch(store).wait() is None
    assert store.load().probe_ms == 8 * PROBE_MIN_MS
    clock.now = store.load().probe_at_ms / 1000
    slots.handed()
    assert batch(store).wait() is None
    # Then the interval halved
    assert store.load().probe_ms == 4 * PROBE_MIN_MS


def test_a_handed_over_slot_found_taken_counts_as_a_refused_probe() -> None:
    # Given a request holding a slot an ended call handed it, and slots being handed on
    store, clock, slots = full_instance()
    clock.now = store.load().open_at_ms / 1000 + 1
    slots.handed()
    pressure = batch(store)
    # It calls at once, whatever the hold
    assert pressure.wait(slot_handed_over=True) is None
    # When the instance refuses it (a probe or other traffic took the slot), the probes slow down
    before = store.load().probe_ms or PROBE_MIN_MS
    pressure.instance_full()
    assert store.load().probe_ms == 2 * before
    assert store.load().probe_failed
