"""Back-pressure: a full instance stops the batch, is left alone for a hold that adapts, then tried by one at a time."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from outbound_caller.connect.back_pressure import (
    INITIAL_HOLD_MS,
    MAX_HOLD_MS,
    MIN_HOLD_MS,
    OPENINGS_FITTED_BEFORE_GROWING,
    TARGET_FREED_SHARE,
    THROTTLE_PAUSE_MS,
    BackPressure,
    back_pressure_reason,
)
from outbound_caller.connect.instance_state import (
    InstanceState,
    InstanceStateUnavailableError,
    MemoryInstanceStateStore,
)
from outbound_caller.decisions import INSTANCE_AT_CAPACITY, THROTTLED

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


# The calls an opening of a 10-call instance allows.
BUDGET = round(TARGET_FREED_SHARE * LIMIT)


def invocation(store: MemoryInstanceStateStore, name: str, rng: float = 0.5) -> BackPressure:
    """One container's back-pressure at the start of a batch (``name`` only tells the containers apart)."""
    pressure = BackPressure(store, LIMIT, rng=lambda: rng)
    pressure.begin()
    return pressure


def after_the_hold(store: MemoryInstanceStateStore, clock: Clock) -> None:
    """Move past the current hold, its jitter included."""
    clock.now = max(clock.now, store.load().open_at_ms / 1000 + 0.001)


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


def test_during_the_hold_others_defer_and_after_it_any_container_takes_the_opening_s_calls() -> None:
    # Given an instance found full by one invocation
    store, clock = make()
    invocation(store, "a").instance_full()
    # When another invocation's record asks during the hold, and two invocations' records after it
    during = invocation(store, "b").wait()
    after_the_hold(store, clock)
    first, second = invocation(store, "c"), invocation(store, "d")
    answers = [(first if turn % 2 else second).wait() for turn in range(BUDGET)]
    # Then the one during the hold is deferred; after it both call, until the opening's calls are all taken
    assert during is not None
    assert during.reason == INSTANCE_AT_CAPACITY
    assert answers == [None] * BUDGET
    assert store.load().budget == 0


def test_an_opening_whose_calls_all_fit_closes_without_a_limit_answer_and_the_next_hold_is_shorter() -> None:
    # Given an opening whose calls were all placed
    store, clock = make()
    invocation(store, "a").instance_full()
    after_the_hold(store, clock)
    pressure = invocation(store, "b")
    assert [pressure.wait() for _ in range(BUDGET)] == [None] * BUDGET
    # When one more record asks
    one_more = pressure.wait()
    # Then it is deferred to the next hold, a fifth shorter, and no call met the limit
    assert one_more is not None
    assert one_more.reason == INSTANCE_AT_CAPACITY
    assert store.load().hold_ms == round(INITIAL_HOLD_MS * 0.8)


def test_the_hold_doubles_while_the_instance_stays_full() -> None:
    # Given an opening whose first call meets the limit (the hold freed no call)
    store, clock = make()
    invocation(store, "a", rng=0.5).instance_full()
    after_the_hold(store, clock)
    prober = invocation(store, "b", rng=0.5)
    assert prober.wait() is None
    # When it reports the instance full
    prober.instance_full()
    # Then the next hold is twice as long
    assert store.load().hold_ms == 2 * INITIAL_HOLD_MS


def test_the_hold_grows_when_an_opening_fills_the_instance_early() -> None:
    # Given an opening where half its calls fit and the next met the limit
    store, clock = make()
    invocation(store, "a").instance_full()
    after_the_hold(store, clock)
    pressure = invocation(store, "b")
    fitted = BUDGET // 2
    assert [pressure.wait() for _ in range(fitted + 1)] == [None] * (fitted + 1)
    # When that one reports the instance full
    pressure.instance_full()
    # Then the next hold is longer, by the square root of the shortfall
    assert store.load().hold_ms == round(INITIAL_HOLD_MS * (BUDGET / fitted) ** 0.5)


def test_holds_stay_within_their_bounds_and_an_instance_that_keeps_up_opens_to_all() -> None:
    # Given holds that keep finding the instance full at once
    store, clock = make()
    invocation(store, "first").instance_full()
    for index in range(20):
        after_the_hold(store, clock)
        prober = invocation(store, f"full-{index}")
        assert prober.wait() is None
        prober.instance_full()
    longest = store.load().hold_ms
    # When openings then keep having room for all their calls
    for index in range(60):
        after_the_hold(store, clock)
        pressure = invocation(store, f"free-{index}")
        while pressure.wait() is None and store.load().busy:
            pass
        if not store.load().busy:
            break
    # Then holds never passed the longest, and once even the shortest frees a whole opening, all may call
    assert longest == MAX_HOLD_MS
    assert store.load().busy is False
    assert invocation(store, "later").wait() is None


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
    pressure.begin()
    # When a record asks, and then one meets the limit
    # Then calls go on (Connect's own answer decides), and the full instance still stops the batch
    assert pressure.wait() is None
    assert pressure.instance_full().reason == INSTANCE_AT_CAPACITY
    assert pressure.wait() is not None


def test_at_the_shortest_hold_openings_grow_after_a_few_fit_and_shrink_back_when_one_fills_the_instance() -> None:
    # Given a busy instance at the shortest hold whose opening was all placed
    store, clock = make()
    store.replace(InstanceState(busy=True, open_at_ms=0, hold_ms=MIN_HOLD_MS, budget=0, opening=BUDGET), 0)
    # When the next records ask, through openings that all fit
    sizes = []
    for _ in range(2 * OPENINGS_FITTED_BEFORE_GROWING):
        assert invocation(store, "a").wait() is not None  # the spent opening closes for the shortest hold
        after_the_hold(store, clock)
        sizes.append(store.load().opening)
        pressure = invocation(store, "b")
        assert [pressure.wait() for _ in range(sizes[-1])] == [None] * sizes[-1]
    # Then an opening grows by one call each time a few in a row have fitted
    grown = OPENINGS_FITTED_BEFORE_GROWING
    assert sizes == [BUDGET] * (grown - 1) + [BUDGET + 1] * grown + [BUDGET + 2]
    # And when the next fills the instance after two calls, the one after is back to the usual size
    assert invocation(store, "c").wait() is not None
    after_the_hold(store, clock)
    pressure = invocation(store, "d")
    assert [pressure.wait() for _ in range(3)] == [None] * 3
    pressure.instance_full()
    assert (store.load().opening, store.load().hold_ms, store.load().fitted) == (BUDGET, MIN_HOLD_MS, 0)
