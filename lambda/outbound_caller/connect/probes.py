"""While the deployment's ended calls hand their slots on (connect/slots.py), how a full instance is watched for room
the hand-overs do not see: no opening on a timer until the hand-overs go quiet, and meanwhile a probe now and then.

Pure: the state in, the state out; back_pressure.py reads and writes it. A probe is one call let through beyond the
hand-overs: one the instance refuses doubles the interval to the next (up to the longest), one it takes halves it. At
a full instance that is a few refused calls an hour; with room (other traffic ended, contact events lost) a call
more every few seconds, until the instance is full again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from outbound_caller.connect.instance_state import InstanceState

# Openings on a timer wait until no slot has been handed on for this long (or a hold, if longer). Calls of minutes on
# a few slots end tens of seconds apart; a minute without one is what a lost contact event or other traffic ending
# looks like.
HAND_OVER_QUIET_MS = 60_000
# The first and the longest interval between probes.
PROBE_MIN_MS = 10_000
PROBE_MAX_MS = 900_000

Jitter = Callable[[int], int]


def quiet_from(state: InstanceState, hold_ms: int) -> int:
    """While slots are handed on, when openings on a timer may come back (0: no slot was ever handed on)."""
    return state.handed_at_ms + max(hold_ms, HAND_OVER_QUIET_MS) if state.handed_at_ms else 0


def handing_on(state: InstanceState, hold_ms: int, now_ms: int) -> bool:
    """Whether the instance's slots are being handed on as calls end, now."""
    return quiet_from(state, hold_ms) > now_ms


def probe_let_through(state: InstanceState, now_ms: int, jittered: Jitter) -> InstanceState:
    """The state once a probe is let through now (or, the first time, only scheduled): the interval halves when the
    last probe found room."""
    if state.probe_at_ms == 0:
        return dataclasses.replace(state, probe_at_ms=now_ms + jittered(PROBE_MIN_MS), probe_ms=PROBE_MIN_MS)
    interval = state.probe_ms or PROBE_MIN_MS
    if not state.probe_failed:
        interval = max(PROBE_MIN_MS, interval // 2)
    return dataclasses.replace(state, probe_at_ms=now_ms + jittered(interval), probe_ms=interval, probe_failed=False)


def probe_refused(state: InstanceState, now_ms: int, jittered: Jitter) -> InstanceState:
    """The state once a probe (or a handed-over slot, taken meanwhile) met a full instance: the next probe comes
    twice as late, and no slot is counted free. No hold: the hand-overs go on."""
    interval = min(PROBE_MAX_MS, 2 * (state.probe_ms or PROBE_MIN_MS))
    return dataclasses.replace(
        state, probe_at_ms=now_ms + jittered(interval), probe_ms=interval, probe_failed=True, slots=0
    )
