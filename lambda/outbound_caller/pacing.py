"""Spacing Connect calls so that all concurrent invocations together stay within the quota share."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Lets one Connect request start every 1/rate seconds in this container, across its invocations.

    botocore's in-call retries are requests too: ``charge`` bills them after the fact, pushing the next
    call back, so retries on throttling spend this container's share instead of exceeding it.
    """

    def __init__(
        self,
        calls_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self._interval = 1.0 / calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._next_start: float | None = None

    def delay(self) -> float:
        """Seconds until the next call may start."""
        if self._next_start is None:
            return 0.0
        return max(0.0, self._next_start - self._clock())

    def wait_turn(self) -> None:
        """Sleep until the next call may start, and reserve that start for the caller."""
        wait = self.delay()
        if wait > 0:
            self._sleep(wait)
        self._next_start = self._clock() + self._interval

    def charge(self, requests_sent: int) -> None:
        """Bill the requests the last call sent beyond the one its turn paid for."""
        if self._next_start is not None and requests_sent > 1:
            self._next_start += (requests_sent - 1) * self._interval
