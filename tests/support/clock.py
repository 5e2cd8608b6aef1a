"""A clock and sleep the tests control, for pacing."""

from __future__ import annotations

import time


class FakeClock:
    """Monotonic time that only moves when something sleeps (or a test moves it)."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move time forward by it."""
        self.slept.append(round(seconds, 6))
        self.now += seconds


class WallClock:
    """Wall-clock seconds (epoch) that stand still unless a test moves them: a hold, a TTL or a deadline never ends
    by itself. Starts now, or at ``start``."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        """The time in epoch milliseconds."""
        return int(self.now * 1000)
