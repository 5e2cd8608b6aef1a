"""When not to call Connect: the instance is full, the quota throttles, and what the rest of the batch does then.

A full instance (LimitExceededException: its concurrent active calls are at their limit) frees up only as calls
end, minutes apart. Trying it again and again spends quota and, at SQS's pace, the redrive budget. So:

- the first record to meet it stops its batch: the records after it are deferred without a Connect call;
- the instance is left alone for a hold, shared by every container (instance_state.py); records arriving meanwhile
  are deferred to the hold's end, spread over a part of the next hold so the reopening is no thundering herd;
- after the hold, one invocation at a time (the holder) tries it; the others defer until the instance has taken
  a full load of calls again;
- the hold adapts: it doubles while a try after it finds the instance still full, and shrinks when more calls fit
  than needed. Its target is that a hold frees about TARGET_FREED_SHARE of the instance's calls, so each time the
  instance is found full again (one LimitExceeded answer) pays for several placed calls.

Throttling beyond botocore's in-call retries stops the batch too, for a moment: the quota refills in a second.
The shared state is a hint, never a reason to lose a request: when it cannot be read or written, calls go on
and Connect's own answer decides.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable

from botocore.exceptions import ClientError

from outbound_caller.deferral import INSTANCE_AT_CAPACITY, THROTTLED, Deferral
from outbound_caller.instance_state import InstanceState, InstanceStateStore, InstanceStateUnavailableError
from outbound_caller.observability import logger

# Connect calls last minutes; the first hold is a guess that the adaptation corrects within a few holds.
INITIAL_HOLD_MS = 10_000
# SQS delays are whole seconds: a shorter hold could not be kept by the deferred requests.
MIN_HOLD_MS = 1_000
# However long calls last, a full instance is tried at least this often.
MAX_HOLD_MS = 300_000
# Each hold is drawn within +-25% of its length, so containers that closed it at once do not reopen it in step.
HOLD_JITTER = 0.25
# A hold should free about this share of the instance's calls: each LimitExceeded answer then pays for ~6 placed
# calls on a 10-call instance (at most 1.2 Connect requests per call), while most of the capacity stays in use.
TARGET_FREED_SHARE = 0.6
# One hold changes the next by at most this factor either way, so one unlucky count does not swing it.
MAX_HOLD_CHANGE = 2.0
# The quota's bucket refills within a second: a throttled batch waits that long.
THROTTLE_PAUSE_MS = 1_000
# A request throttled again and again waits up to 2 ** this pauses (then MAX_HOLD_MS bounds it anyway).
MAX_THROTTLE_DOUBLINGS = 9
# A holder that died lets go by its invocation's deadline, plus this margin.
HOLDER_LEASE_MARGIN_MS = 1_000
# Connect's answer when the instance's concurrent active calls are at their limit (HTTP 429 too, but no rate).
INSTANCE_FULL_ERROR = "LimitExceededException"
# "Too Many Requests": every other 429 (ThrottlingException, TooManyRequestsException) is the request-rate quota.
TOO_MANY_REQUESTS_STATUS = 429


def back_pressure_reason(error: BaseException) -> str | None:
    """INSTANCE_AT_CAPACITY or THROTTLED when Connect's answer was back-pressure, else None."""
    if not isinstance(error, ClientError):
        return None
    if error.response.get("Error", {}).get("Code") == INSTANCE_FULL_ERROR:
        return INSTANCE_AT_CAPACITY
    if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == TOO_MANY_REQUESTS_STATUS:
        return THROTTLED
    return None


class BackPressure:
    """The back-pressure of one container: per invocation, whether its batch may still call Connect."""

    def __init__(
        self, store: InstanceStateStore, concurrent_calls_limit: int, rng: Callable[[], float] = random.random
    ) -> None:
        self._store = store
        self._limit = concurrent_calls_limit
        self._target_freed = max(1, round(TARGET_FREED_SHARE * concurrent_calls_limit))
        self._random = rng
        self.begin("", 0)

    def begin(self, invocation_id: str, deadline_ms: int) -> None:
        """Start a batch: nothing stops it yet."""
        self._me = invocation_id
        self._deadline_ms = deadline_ms
        self._stopped: tuple[str, int, int] | None = None  # reason, from when, spread over how long (ms)
        self._known_open = False
        self._holding = False
        self._placed = 0

    def wait(self) -> Deferral | None:
        """None when the next record may call Connect; else why and until when it must wait."""
        if self._stopped is not None:
            return self._deferral()
        if self._holding or self._known_open:
            return None
        state = self._load()
        if state is None or not state.busy:
            self._known_open = True
            return None
        now = self._store.now_ms()
        hold = state.hold_ms or INITIAL_HOLD_MS
        if state.open_at_ms > now:
            return self._stop(state.open_at_ms, hold)
        if state.holder not in (None, self._me) and state.holder_until_ms > now:
            return self._stop(now, hold)  # another invocation is trying the instance right now
        claim = dataclasses.replace(state, holder=self._me, holder_until_ms=self._deadline_ms + HOLDER_LEASE_MARGIN_MS)
        if self._replace(claim, state.version) is not None:
            return self._stop(now, hold)  # another invocation claimed it first
        self._holding = True
        return None

    def placed(self) -> None:
        """A call of this batch was placed."""
        self._placed += 1

    def instance_full(self) -> Deferral:
        """Connect answered LimitExceededException: close the instance for a hold; return the record's deferral."""
        state = self._load()
        if state is None:
            return self._stop(self._store.now_ms() + INITIAL_HOLD_MS, INITIAL_HOLD_MS)
        now = self._store.now_ms()
        if state.busy and state.open_at_ms > now and not self._holding:
            return self._stop(state.open_at_ms, state.hold_ms or INITIAL_HOLD_MS)  # closed by another already
        # Calls placed since the instance was last found full: how many a hold freed, when it was in a hold at all.
        freed = state.placed + self._placed if state.busy else None
        hold = self._next_hold(state.hold_ms or INITIAL_HOLD_MS, freed)
        open_at = now + round(hold * (1 - HOLD_JITTER + 2 * HOLD_JITTER * self._random()))
        closed = InstanceState(busy=True, open_at_ms=open_at, hold_ms=hold, version=state.version)
        winner = self._replace(closed, state.version)
        self._holding = False
        self._placed = 0
        if winner is not None:
            return self._stop(winner.open_at_ms, winner.hold_ms or hold)
        logger.info("Connect instance full: calls held", extra={"hold_ms": hold, "calls_freed_by_last_hold": freed})
        return self._stop(open_at, hold)

    def throttled(self, earlier_deferrals: int) -> Deferral:
        """Connect throttled beyond botocore's retries: stop the batch for a moment; return the record's deferral.

        The record itself backs off with its own deferrals (1, 2, 4 ... s, with full jitter on the added part), so
        a request that keeps being throttled stops fewer and fewer batches of others.
        """
        now = self._store.now_ms()
        self._stopped = (THROTTLED, now + THROTTLE_PAUSE_MS, THROTTLE_PAUSE_MS)
        backoff_ms = min(MAX_HOLD_MS, THROTTLE_PAUSE_MS << min(earlier_deferrals, MAX_THROTTLE_DOUBLINGS))
        return Deferral(THROTTLED, now + THROTTLE_PAUSE_MS + round((backoff_ms - THROTTLE_PAUSE_MS) * self._random()))

    def finish(self) -> None:
        """End the batch: a holder hands the instance back, saying how many calls it placed."""
        if not self._holding:
            return
        self._holding = False
        state = self._load()
        if state is None or state.holder != self._me:
            return
        placed = state.placed + self._placed
        # A full instance's worth of calls fitted since it was last full: it has room again, everyone may call.
        room = placed >= self._limit
        hold = self._next_hold(state.hold_ms or INITIAL_HOLD_MS, placed) if room else state.hold_ms
        handed_back = dataclasses.replace(
            state, busy=not room, holder=None, holder_until_ms=0, placed=0 if room else placed, hold_ms=hold
        )
        self._replace(handed_back, state.version)

    def _next_hold(self, hold_ms: int, freed: int | None) -> int:
        if freed is None:
            return hold_ms
        factor = MAX_HOLD_CHANGE if freed == 0 else math.sqrt(self._target_freed / freed)
        factor = min(MAX_HOLD_CHANGE, max(1 / MAX_HOLD_CHANGE, factor))
        return min(MAX_HOLD_MS, max(MIN_HOLD_MS, round(hold_ms * factor)))

    def _stop(self, open_at_ms: int, hold_ms: int) -> Deferral:
        """Stop the batch: its records come back spread over the first half of a hold after the reopening."""
        self._stopped = (INSTANCE_AT_CAPACITY, open_at_ms, hold_ms // 2)
        return self._deferral()

    def _deferral(self) -> Deferral:
        assert self._stopped is not None  # noqa: S101 - only called once the batch is stopped
        reason, start_ms, spread_ms = self._stopped
        return Deferral(reason, start_ms + round(spread_ms * self._random()))

    def _load(self) -> InstanceState | None:
        try:
            return self._store.load()
        except InstanceStateUnavailableError as error:
            logger.warning("Connect instance state unavailable: calling on", extra={"error": str(error)})
            return None

    def _replace(self, new: InstanceState, expected_version: int) -> InstanceState | None:
        try:
            return self._store.replace(new, expected_version)
        except InstanceStateUnavailableError as error:
            logger.warning("Connect instance state not written", extra={"error": str(error)})
            return None
