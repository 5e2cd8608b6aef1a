"""What an ended call and the minute's tick do for the requests waiting in the waiting room (hand_over.py says why).

Never fails the completion: a slot not handed on is found by the tick, or by the timed openings of a full instance.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from outbound_caller.completion.collaborators import SlotHandOverParts
from outbound_caller.connect.back_pressure import BackPressure
from outbound_caller.names import SLOTS_FREED, SLOTS_HANDED_OVER, WAITING_ROOM_DRAWN
from outbound_caller.observability import logger, metrics
from outbound_caller.request.signing_key import SigningKeyUnavailableError

# While the instance is open to all, a tick draws at most this many waiting requests (the rest at the next tick).
OPEN_DRAW_PER_TICK = 100


def hand_on(parts: SlotHandOverParts, now_ms: int) -> None:
    """One of the deployment's calls ended (reported for the first time): its slot goes to a waiting request, or is
    counted free while the instance is held."""
    try:
        if not parts.slots.is_held():
            return
        if parts.room.draw(1, key=_key(parts), handed_over_at_ms=now_ms):
            parts.slots.handed()
            metrics.add_metric(name=SLOTS_HANDED_OVER, unit=MetricUnit.Count, value=1)
        elif parts.slots.freed():
            metrics.add_metric(name=SLOTS_FREED, unit=MetricUnit.Count, value=1)
    except Exception as error:  # noqa: BLE001 - the completion is published whatever becomes of the slot
        logger.warning("Slot not handed on", extra={"error": type(error).__name__})


def tick(parts: SlotHandOverParts, concurrent_calls_limit: int, now_ms: int) -> int:
    """Draw the waiting requests the instance can take now, as a caller would place them: each takes a freed slot or
    an opening's call (back_pressure.py), so it calls at once; return how many were drawn."""
    pressure = BackPressure(parts.slots.store, concurrent_calls_limit)
    drawn = 0
    try:
        key = _key(parts)
        while drawn < OPEN_DRAW_PER_TICK and pressure.wait() is None:
            if not parts.room.draw(1, key=key, handed_over_at_ms=now_ms):
                break  # the room is empty (the call just taken is one call of an opening unused)
            drawn += 1
    except Exception as error:  # noqa: BLE001 - the next tick tries again
        logger.warning("Waiting room not drawn", extra={"error": type(error).__name__, "drawn": drawn})
    if drawn:
        metrics.add_metric(name=WAITING_ROOM_DRAWN, unit=MetricUnit.Count, value=drawn)
        logger.info("Waiting requests drawn", extra={"drawn": drawn})
    return drawn


def _key(parts: SlotHandOverParts) -> bytes | None:
    """The key that signs a handed-over slot; None (the request then waits for an opening like any) if unreadable."""
    try:
        return parts.signing_key.get()
    except SigningKeyUnavailableError as error:
        logger.warning("Message-signing key unavailable: drawn requests not marked", extra={"error": str(error)})
        return None
