"""Spacing Connect calls so that all concurrent invocations together stay within the quota share."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """A token bucket per container: ``calls_per_second`` refill it, it holds at most ``burst`` calls.

    Connect's quota is itself a token bucket (a rate and a burst), so a backlog starts with the burst and then
    runs at the rate: the drain time the quota allows, and no faster. botocore's in-call retries are requests
    too: ``charge`` bills them after the fact, so retries on throttling spend this container's share instead
    of exceeding it.
    """

    def __init__(
        self,
        calls_per_second: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least one call")
        self._rate = calls_per_second
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        return self._tokens

    def delay(self) -> float:
        """Seconds until the next call may start."""
        return max(0.0, (1.0 - self._refill()) / self._rate)

    def wait_turn(self) -> None:
        """Sleep until the bucket holds a call, and take it."""
        wait = self.delay()
        if wait > 0:
            self._sleep(wait)
            self._refill()
        self._tokens -= 1.0

    def charge(self, requests_sent: int) -> None:
        """Bill the requests the last call sent beyond the one its turn paid for."""
        if requests_sent > 1:
            self._tokens -= requests_sent - 1
