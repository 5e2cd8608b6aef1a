"""Several call guards as one (connect/idempotency.py's CallGuard): the call limits, then an agent of its queue.

Each is taken in turn just before Connect is called; one that refuses or defers the call gives back those taken
before it, and a call Connect surely did not create gives back all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outbound_caller.connect.idempotency import CallGuard
from outbound_caller.observability import logger


@dataclass(frozen=True)
class Guards:
    """Guards taken in order, given back in reverse."""

    guards: tuple[CallGuard, ...]

    def reserve(self, params: dict[str, Any]) -> None:
        """Take every guard for the call of ``params``, or none."""
        taken: list[CallGuard] = []
        try:
            for guard in self.guards:
                guard.reserve(params)
                taken.append(guard)
        except BaseException:
            _give_back(taken, params)
            raise

    def release(self, params: dict[str, Any]) -> None:
        """Give every guard back: Connect surely created no contact for the call."""
        _give_back(list(self.guards), params)


def _give_back(guards: list[CallGuard], params: dict[str, Any]) -> None:
    """Best effort: a guard left taken only ever defers or refuses a call, never places one."""
    for guard in reversed(guards):
        try:
            guard.release(params)
        except Exception as error:  # noqa: BLE001 - the others are given back all the same
            logger.warning("Call guard not given back", extra={"error": type(error).__name__})
