"""A clock and sleep the tests control, for pacing."""

from __future__ import annotations


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
