"""When not to call Connect: the instance is full, the quota throttles, and what the rest of the batch does then.

A full instance (LimitExceededException: its concurrent active calls are at their limit) frees up only as calls
end, minutes apart. Trying it again and again spends quota and, at SQS's pace, the redrive budget. So:

- the first record to meet it stops its batch: the records after it are deferred without a Connect call;
- the instance is left alone for a hold, shared by every container (instance_state.py); records arriving meanwhile
  are deferred to the hold's end, spread over a part of the next hold so the reopening is no thundering herd;
- after the hold, the instance opens for a budget of calls, about TARGET_FREED_SHARE of its concurrent calls,
  taken one by one by any container (compare-and-set); a spent budget closes it for the next hold, with no
  LimitExceeded answer at all;
- the hold adapts to how fast calls end: it doubles while the instance is still full within an opening, shrinks by
  the square root of the shortfall when an opening fills it early, and shrinks a little when an opening's whole
  budget fits. At the shortest hold, openings grow by a call after a few in a row fit, and shrink back when one
  fills the instance; once one as large as the instance fits, the instance keeps up: it is open to all again.

With a waiting room (WAITING_ROOM_QUEUE_URL), the deployment's own calls hand their slots on as they end
(connect/slots.py, completion/freed_slots.py), and the timers above become the fallback:

- a request drawn with a slot handed over calls at once; a slot freed with nobody waiting is taken by the next call;
- while slots are being handed on, no opening comes on a timer (it would find the instance full); instead one call
  now and then (a probe) tries for room the hand-overs do not see, other traffic ended or a contact event lost:
  each refused probe doubles the interval to the next, each that finds room halves it;
- once no slot has been handed on for a while (probes.HAND_OVER_QUIET_MS), the openings above take over.

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

from outbound_caller.connect import probes
from outbound_caller.connect.instance_state import InstanceState, InstanceStateStore, InstanceStateUnavailableError
from outbound_caller.decisions import INSTANCE_AT_CAPACITY, THROTTLED, Deferral
from outbound_caller.observability import logger

# The first hold is a guess: short, as a hold that is too long leaves the instance idle while a hold that is too
# short costs one LimitExceeded answer and doubles (3 s reaches calls of minutes within 6 doublings). Simulated
# (tests/unit/test_busy_instance_simulation.py): 10 s gave the same requests per call, with calls of 2-6 s less
# of the capacity used.
INITIAL_HOLD_MS = 3_000
# SQS delays are whole seconds: a shorter hold could not be kept by the deferred requests.
MIN_HOLD_MS = 1_000
# However long calls last, a full instance is tried at least this often.
MAX_HOLD_MS = 300_000
# Each hold is drawn within +-25% of its length, so containers that closed it at once do not reopen it in step.
HOLD_JITTER = 0.25
# An opening allows this share of the instance's calls (4 of 10): the hold that frees them is short enough to keep
# most of the capacity in use, and a LimitExceeded answer only comes when a hold was too short for the opening
# (tests/unit/test_busy_instance_simulation.py: about 1.13 Connect requests per placed call; 0.6 gave 1.10 with
# less of the capacity used, 0.2 reached 1.2).
TARGET_FREED_SHARE = 0.4
# One hold changes the next by at most this factor either way, so one unlucky count does not swing it.
MAX_HOLD_CHANGE = 2.0
# The quota's bucket refills within a second: a throttled batch waits that long.
THROTTLE_PAUSE_MS = 1_000
# A request throttled again and again waits up to 2 ** this pauses (then MAX_HOLD_MS bounds it anyway).
MAX_THROTTLE_DOUBLINGS = 9
# An opening whose calls were all placed without meeting the limit: the next hold is this much shorter.
SPENT_OPENING_HOLD_FACTOR = 0.8
# At the shortest hold, an opening grows by a call only after this many in a row fitted: one that then fills the
# instance costs a LimitExceeded answer or two, so growing after every fitting opening would cost one per two.
OPENINGS_FITTED_BEFORE_GROWING = 3
# Containers taking an opening's calls at once retry the compare-and-set at most this often, then wait a moment.
MAX_STATE_RACES = 3
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
        # The calls one opening of the instance allows: what a hold should free.
        self._budget = max(1, round(TARGET_FREED_SHARE * concurrent_calls_limit))
        self._random = rng
        self.begin()

    def begin(self) -> None:
        """Start a batch: nothing stops it yet."""
        self._stopped: tuple[str, int, int] | None = None  # reason, from when, spread over how long (ms)
        self._known_open = False
        self._last_seen: InstanceState | None = None
        # The last call let through tried for room beyond an opening: a probe, or a slot handed over that another
        # call (a probe, other traffic) may have taken meanwhile.
        self._probing = False

    def wait(self, *, slot_handed_over: bool = False) -> Deferral | None:
        """None when the next record may call Connect (taking a freed slot or one of the opening's calls); else until
        when it waits. ``slot_handed_over``: the record holds the slot an ended call handed it, and calls at once,
        unless this batch found the instance full meanwhile."""
        self._probing = False
        if self._stopped is not None:
            return self._deferral()
        if slot_handed_over:
            self._probing = True
            return None
        if self._known_open:
            return None
        state = self._last_seen or self._load()
        for _ in range(MAX_STATE_RACES):
            if state is None or not state.busy:
                self._known_open = True
                return None
            now = self._store.now_ms()
            hold = state.hold_ms or INITIAL_HOLD_MS
            if state.slots > 0:
                # A slot an ended call freed with nobody waiting: no need to wait for an opening.
                taken_slot = dataclasses.replace(state, slots=state.slots - 1)
                won = self._replace(taken_slot, state.version)
                if won is None:
                    self._last_seen = dataclasses.replace(taken_slot, version=state.version + 1)
                    self._probing = True
                    return None
                state = won
                continue
            if state.open_at_ms > now:
                return self._stop(state.open_at_ms, hold)
            quiet_from = probes.quiet_from(state, hold)
            if quiet_from > now:
                # Ended calls are handing their slots on as they end: an opening on a timer would only find the
                # instance full. Openings come back once no slot has been handed on for a while (lost contact
                # events, other traffic ending); meanwhile a probe now and then finds room the hand-overs do not see.
                if state.probe_at_ms > now:
                    return self._stop(min(quiet_from, state.probe_at_ms), hold)
                probe = probes.probe_let_through(state, now, self._jittered)
                won = self._replace(probe, state.version)
                if won is None:
                    self._last_seen = dataclasses.replace(probe, version=state.version + 1)
                    if state.probe_at_ms == 0:
                        return self._stop(probe.probe_at_ms, hold)  # the first probe comes a while from now
                    self._probing = True
                    return None
                state = won
                continue
            if state.budget == 0:
                state = self._close_spent_opening(state, now)
                continue
            taken = dataclasses.replace(state, budget=state.budget - 1)
            winner = self._replace(taken, state.version)
            if winner is None:
                self._last_seen = dataclasses.replace(taken, version=state.version + 1)
                return None
            state = winner
        return self._stop(self._store.now_ms(), THROTTLE_PAUSE_MS)  # too many containers at once: a moment later

    def instance_full(self) -> Deferral:
        """Connect answered LimitExceededException: close the instance for a hold; return the record's deferral."""
        state = self._load()
        now = self._store.now_ms()
        if state is None:
            return self._stop(now + INITIAL_HOLD_MS, INITIAL_HOLD_MS)
        hold = state.hold_ms or INITIAL_HOLD_MS
        if self._probing and state.busy and probes.handing_on(state, hold, now):
            # A probe found no more room than the hand-overs give, or a handed-over slot was gone (taken by a probe
            # or by other traffic).
            in_force = self._in_force(probes.probe_refused(state, now, self._jittered), state.version)
            return self._stop(in_force.probe_at_ms, hold)
        if state.busy and state.open_at_ms > now:
            # Closed by another container already; a slot counted free was not (other traffic took it).
            if state.slots:
                self._in_force(dataclasses.replace(state, slots=0), state.version)
            return self._stop(state.open_at_ms, hold)
        if not state.busy:
            # Full with the instance open to all: the first time, no hold to judge yet.
            return self._close(state, now, hold, None, self._budget)
        # Full within an opening: its hold freed fewer calls than it allowed (this one took a call and got none).
        opening = state.opening or self._budget
        freed = opening - state.budget - 1
        if opening > self._budget:
            # An opening grown beyond the usual at the shortest hold was too large: back to what fitted.
            return self._close(state, now, hold, freed, max(self._budget, freed))
        return self._close(state, now, self._next_hold(hold, freed), freed, opening)

    def _close_spent_opening(self, state: InstanceState, now: int) -> InstanceState:
        """Every call of the opening was placed without meeting the limit: the hold freed enough, maybe more."""
        hold = round((state.hold_ms or INITIAL_HOLD_MS) * SPENT_OPENING_HOLD_FACTOR)
        opening, fitted = state.opening or self._budget, state.fitted + 1
        if hold < MIN_HOLD_MS:
            hold = MIN_HOLD_MS
            # The shortest hold keeps freeing a whole opening's calls: a larger opening, until one of the instance's
            # whole size fits; then the instance keeps up with the calls, and it is open to all again.
            if fitted >= OPENINGS_FITTED_BEFORE_GROWING and opening >= self._limit:
                return self._in_force(InstanceState(busy=False, hold_ms=MIN_HOLD_MS), state.version)
            if fitted >= OPENINGS_FITTED_BEFORE_GROWING:
                opening, fitted = opening + 1, 0
        open_at = now + self._jittered(hold)
        return self._in_force(
            dataclasses.replace(
                state, open_at_ms=open_at, hold_ms=hold, budget=opening, opening=opening, fitted=fitted
            ),
            state.version,
        )

    def _in_force(self, new: InstanceState, expected_version: int) -> InstanceState:
        """Write ``new`` over the version read: the state in force afterwards, this one or the one that won."""
        return self._replace(new, expected_version) or dataclasses.replace(new, version=expected_version + 1)

    def _close(self, state: InstanceState, now: int, hold: int, freed: int | None, opening: int) -> Deferral:
        open_at = now + self._jittered(hold)
        # Found full: any slot counted free was taken by calls this deployment does not see (other traffic).
        closed = InstanceState(
            busy=True,
            open_at_ms=open_at,
            hold_ms=hold,
            budget=opening,
            opening=opening,
            fitted=0,
            slots=0,
            handed_at_ms=state.handed_at_ms,
            version=state.version,
        )
        winner = self._replace(closed, state.version)
        if winner is not None and winner.busy and winner.open_at_ms > now:
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

    def _jittered(self, hold_ms: int) -> int:
        return round(hold_ms * (1 - HOLD_JITTER + 2 * HOLD_JITTER * self._random()))

    def _next_hold(self, hold_ms: int, freed: int | None) -> int:
        if freed is None:
            return hold_ms
        factor = MAX_HOLD_CHANGE if freed <= 0 else math.sqrt(self._budget / freed)
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
