"""What an ended call of this deployment does for the requests waiting on a full instance: hands its slot on.

The completion function learns exactly when each of the deployment's calls ends. While the instance is held full
(back_pressure.py), each such end either hands its slot to a request waiting in the waiting room (which then calls at
once, hold or not), or, with nobody waiting, counts the slot free in the shared state (instance_state.py), for the
next request to take without waiting for an opening. As many slots freed with nobody waiting as the instance has
calls: it keeps up, and it is open to all again.

Connect's LimitExceededException stays the truth: other traffic shares the instance, and a contact event can come late
or never. A slot taken by a call this deployment does not see costs one LimitExceeded answer, which closes the
instance and forgets every counted slot; a lost event only means one slot is not handed on, and the timed openings of
back_pressure.py (which wait only while slots are being handed on) find it. The shared state is a hint: when it cannot
be read or written, nothing is counted, and nothing is lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from outbound_caller.connect.instance_state import InstanceState, InstanceStateStore, InstanceStateUnavailableError
from outbound_caller.observability import logger

# Containers changing the state at once retry the compare-and-set at most this often.
MAX_STATE_RACES = 5


class SlotHandOver:
    """The slots of the deployment's ended calls, handed on through the shared state of the instance."""

    def __init__(self, store: InstanceStateStore, concurrent_calls_limit: int) -> None:
        self.store = store
        self._limit = concurrent_calls_limit

    def is_held(self) -> bool:
        """Whether the instance is held full, so that waiting requests may be waiting for this slot."""
        state = self._load()
        return state is not None and state.busy

    def handed(self) -> None:
        """A waiting request took the slot: note when, so no opening on a timer competes with the hand-overs."""
        self._change(lambda state, now: dataclasses.replace(state, handed_at_ms=now))

    def freed(self) -> bool:
        """Nobody waited for the slot: count it free while the instance is held; return whether it was counted."""

        def counted(state: InstanceState, now: int) -> InstanceState:
            slots = state.slots + 1
            if slots >= self._limit:
                # As many slots free as the instance has calls: it keeps up, open to all.
                return InstanceState(busy=False, hold_ms=state.hold_ms)
            return dataclasses.replace(state, slots=slots, handed_at_ms=now)

        return self._change(counted)

    def _change(self, change: Callable[[InstanceState, int], InstanceState]) -> bool:
        """Apply ``change`` (of the state, at a time) while the instance is held; return whether it was written."""
        for _ in range(MAX_STATE_RACES):
            state = self._load()
            if state is None or not state.busy:
                return False
            try:
                if self.store.replace(change(state, self.store.now_ms()), state.version) is None:
                    return True
            except InstanceStateUnavailableError as error:
                logger.warning("Connect instance state not written: slot not counted", extra={"error": str(error)})
                return False
        return False

    def _load(self) -> InstanceState | None:
        try:
            return self.store.load()
        except InstanceStateUnavailableError as error:
            logger.warning("Connect instance state unavailable: slot not handed on", extra={"error": str(error)})
            return None
