"""Back-pressure: a full instance stops the batch, is left alone for a hold that adapts, then tried by one at a time."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from outbound_caller.back_pressure import (
    INITIAL_HOLD_MS,
    MAX_HOLD_MS,
    MIN_HOLD_MS,
    THROTTLE_PAUSE_MS,
    BackPressure,
    back_pressure_reason,
)
from outbound_caller.deferral import INSTANCE_AT_CAPACITY, THROTTLED
from outbound_caller.instance_state import InstanceState, InstanceStateUnavailableError, MemoryInstanceStateStore

START = 1_000_000.0  # seconds
LIMIT = 10


class Clock:
    """Wall-clock seconds the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def make() -> tuple[MemoryInstanceStateStore, Clock]:
    clock = Clock()
    return MemoryInstanceStateStore(clock), clock


def invocation(store: MemoryInstanceStateStore, name: str, rng: float = 0.5) -> BackPressure:
    """One container's back-pressure at the start of a batch whose invocation may run a minute."""
    pressure = BackPressure(store, LIMIT, rng=lambda: rng)
    pressure.begin(name, store.now_ms() + 60_000)
    return pressure


def connect_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "StartOutboundVoiceContact",
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (connect_error("LimitExceededException", 429), INSTANCE_AT_CAPACITY),
        (connect_error("ThrottlingException", 429), THROTTLED),
        (connect_error("TooManyRequestsException", 429), THROTTLED),
        (connect_error("InternalServiceException", 500), None),
        (connect_error("DestinationNotAllowedException", 403), None),
        (ValueError("not Connect's answer"), None),
    ],
)
def test_back_pressure_is_a_full_instance_or_any_other_429(error: BaseException, reason: str | None) -> None:
    # Given Connect's answer
    # When it is classified
    # Then only the instance's limit and the rate's 429s are back-pressure
    assert back_pressure_reason(error) == reason


def test_a_free_instance_lets_every_record_call() -> None:
    # Given an instance never found full
    store, _ = make()
    pressure = invocation(store, "a")
    # When records ask
    # Then each may call, and the state is read once per batch
    assert [pressure.wait() for _ in range(3)] == [None, None, None]


def test_a_full_instance_stops_the_rest_of_the_batch_until_the_hold_ends() -> None:
    # Given an invocation whose call met LimitExceededException
    store, clock = make()
    pressure = invocation(store, "a", rng=0.5)
    deferral = pressure.instance_full()
    # When the next records of the batch ask
    following = [pressure.wait() for _ in range(3)]
    # Then none may call: each is deferred past the hold (jitter at its middle: exactly the initial hold)
    assert deferral.reason == INSTANCE_AT_CAPACITY
    assert all(held is not None and held.reason == INSTANCE_AT_CAPACITY for held in following)
    open_at = store.load().open_at_ms
    assert open_at == clock.now * 1000 + INITIAL_HOLD_MS
    assert all(held is not None and open_at <= held.until_ms <= open_at + INITIAL_HOLD_MS / 2 for held in following)


def test_other_invocations_defer_during_the_hold_and_one_tries_after_it() -> None:
    # Given an instance found full by one invocation
    store, clock = make()
    invocation(store, "a").instance_full()
    # When another invocation's record asks during the hold, and two more after it
    during = invocation(store, "b").wait()
    clock.now += INITIAL_HOLD_MS / 1000 * 1.25 + 0.001
    first, second = invocation(store, "c"), invocation(store, "d")
    # Then the one during the hold is deferred; after it the first to ask holds the instance, the other defers
    assert during is not None
    assert during.reason == INSTANCE_AT_CAPACITY
    assert first.wait() is None
    assert store.load().holder == "c"
    assert second.wait() is not None


def test_a_holder_that_died_lets_go_at_its_deadline() -> None:
    # Given a holder whose invocation died (its batch never finished)
    store, clock = make()
    invocation(store, "a").instance_full()
    clock.now += INITIAL_HOLD_MS / 1000 * 2
    assert invocation(store, "dead").wait() is None
    # When another invocation asks after the dead one's deadline
    clock.now += 61 + 1
    # Then it holds the instance in its place
    assert invocation(store, "b").wait() is None
    assert store.load().holder == "b"


def test_the_hold_doubles_while_the_instance_stays_full() -> None:
    # Given a hold found full at once by the invocation trying after it (it freed no call)
    store, clock = make()
    invocation(store, "a", rng=0.5).instance_full()
    clock.now += INITIAL_HOLD_MS / 1000 * 2
    prober = invocation(store, "b", rng=0.5)
    assert prober.wait() is None
    # When its call meets LimitExceededException too
    prober.instance_full()
    # Then the next hold is twice as long
    assert store.load().hold_ms == 2 * INITIAL_HOLD_MS


def test_the_hold_shrinks_when_it_frees_more_calls_than_needed() -> None:
    # Given a hold after which ten calls fitted before the instance was full again (six are the target)
    store, clock = make()
    invocation(store, "a").instance_full()
    clock.now += INITIAL_HOLD_MS / 1000 * 2
    prober = invocation(store, "b")
    assert prober.wait() is None
    for _ in range(9):
        prober.placed()
    # When its next call meets the limit
    prober.instance_full()
    # Then the next hold is shorter, by the square root of the ratio
    assert store.load().hold_ms == round(INITIAL_HOLD_MS * (6 / 9) ** 0.5)


def test_holds_stay_within_their_bounds() -> None:
    # Given holds that keep finding the instance full, then holds that keep freeing it
    store, clock = make()
    invocation(store, "first").instance_full()
    for index in range(20):
        clock.now += MAX_HOLD_MS / 1000 * 2
        prober = invocation(store, f"full-{index}")
        assert prober.wait() is None
        prober.instance_full()
    longest = store.load().hold_ms
    for index in range(40):
        clock.now += MAX_HOLD_MS / 1000 * 2
        prober = invocation(store, f"free-{index}")
        assert prober.wait() is None
        for _ in range(LIMIT - 1):
            prober.placed()
        prober.instance_full()
    # Then they never pass the longest nor the shortest hold
    assert longest == MAX_HOLD_MS
    assert store.load().hold_ms == MIN_HOLD_MS


def test_a_holder_hands_back_and_a_full_load_reopens_the_instance_to_all() -> None:
    # Given a holder that placed a few calls, then one that placed a full instance's worth without meeting the limit
    store, clock = make()
    invocation(store, "a").instance_full()
    clock.now += INITIAL_HOLD_MS / 1000 * 2
    first = invocation(store, "b")
    assert first.wait() is None
    for _ in range(4):
        first.placed()
    first.finish()
    handed_back = store.load()
    second = invocation(store, "c")
    assert second.wait() is None
    for _ in range(6):
        second.placed()
    second.finish()
    # When other invocations ask
    # Then after the first the instance is still busy (tried one at a time); after the second it is open to all
    assert (handed_back.busy, handed_back.holder, handed_back.placed) == (True, None, 4)
    assert store.load().busy is False
    assert invocation(store, "d").wait() is None
    assert invocation(store, "e").wait() is None


def test_throttling_pauses_the_batch_for_a_moment_only() -> None:
    # Given an invocation whose call was throttled beyond botocore's retries, on the request's first try
    store, clock = make()
    pressure = invocation(store, "a", rng=0.0)
    # When it reports it and the next record asks
    deferral = pressure.throttled(earlier_deferrals=0)
    following = pressure.wait()
    # Then both wait about a second, and no other invocation is held back
    assert deferral.reason == THROTTLED
    assert deferral.until_ms == clock.now * 1000 + THROTTLE_PAUSE_MS
    assert following is not None
    assert following.reason == THROTTLED
    assert invocation(store, "b").wait() is None


@pytest.mark.parametrize(("earlier", "longest_ms"), [(0, 1_000), (1, 2_000), (3, 8_000), (20, 512_000)])
def test_a_request_throttled_again_and_again_backs_off(earlier: int, longest_ms: int) -> None:
    # Given a request already deferred `earlier` times, throttled again (the jitter at its longest)
    store, clock = make()
    pressure = invocation(store, "a", rng=1.0)
    # When its deferral is taken
    deferral = pressure.throttled(earlier_deferrals=earlier)
    # Then it waits up to twice as long per earlier deferral, never beyond the longest hold
    assert deferral.until_ms == clock.now * 1000 + THROTTLE_PAUSE_MS + min(longest_ms, MAX_HOLD_MS) - THROTTLE_PAUSE_MS
    # While the rest of the batch only pauses a moment
    following = pressure.wait()
    assert following is not None
    assert following.until_ms <= clock.now * 1000 + 2 * THROTTLE_PAUSE_MS


def test_an_unreadable_state_lets_calls_go_on() -> None:
    # Given a shared state that cannot be read (its table unavailable)
    class Unavailable(MemoryInstanceStateStore):
        def load(self) -> InstanceState:
            raise InstanceStateUnavailableError("down")

    store = Unavailable(Clock())
    pressure = BackPressure(store, LIMIT)
    pressure.begin("a", store.now_ms() + 60_000)
    # When a record asks, and then one meets the limit
    # Then calls go on (Connect's own answer decides), and the full instance still stops the batch
    assert pressure.wait() is None
    assert pressure.instance_full().reason == INSTANCE_AT_CAPACITY
    assert pressure.wait() is not None
