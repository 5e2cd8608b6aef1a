"""A run's timeline as series over time: calls placed, throttled and refused per second, and calls in progress."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from local.connect_rules import PLACED
from local.connect_timeline import Answer

# The quota's answers (the token bucket's, and the service's own "too many requests"), and the full instance's.
THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException"})
LIMIT_EXCEEDED = "LimitExceededException"
BIN_SECONDS = 1.0


@dataclass(frozen=True)
class PerSecond:
    """Counts per BIN_SECONDS from the run's start, and the calls in progress at each bin's start."""

    seconds: list[float]
    placed: list[int]
    throttled: list[int]
    limit_exceeded: list[int]
    calls_in_progress: list[int]

    def to_json(self) -> dict[str, list[float] | list[int]]:
        """The series as results.json holds them."""
        return {
            "second": self.seconds,
            "placed": self.placed,
            "throttled": self.throttled,
            "limit_exceeded": self.limit_exceeded,
            "calls_in_progress": self.calls_in_progress,
        }


def calls(timeline: list[Answer], started_at: float) -> list[tuple[float, float]]:
    """(start, end) of every call the instance created, in seconds from the run's start."""
    return [
        (answer.at - started_at, answer.call_ends_at - started_at)
        for answer in timeline
        if answer.call_ends_at is not None
    ]


def calls_in_progress(intervals: list[tuple[float, float]], moments: list[float]) -> list[int]:
    """How many of the calls were in progress at each moment: started by then, and not yet ended."""
    starts = sorted(start for start, _ in intervals)
    ends = sorted(end for _, end in intervals)
    return [bisect_right(starts, moment) - bisect_right(ends, moment) for moment in moments]


def per_second(timeline: list[Answer], started_at: float, until: float) -> PerSecond:
    """Bin the answers from the run's start to `until` seconds after it."""
    bins = max(1, math.ceil(until / BIN_SECONDS))
    placed, throttled, limit_exceeded = [0] * bins, [0] * bins, [0] * bins
    for answer in timeline:
        index = int((answer.at - started_at) // BIN_SECONDS)
        if not 0 <= index < bins:
            continue
        if answer.outcome == PLACED:
            placed[index] += 1
        elif answer.outcome in THROTTLED:
            throttled[index] += 1
        elif answer.outcome == LIMIT_EXCEEDED:
            limit_exceeded[index] += 1
    seconds = [index * BIN_SECONDS for index in range(bins)]
    return PerSecond(
        seconds, placed, throttled, limit_exceeded, calls_in_progress(calls(timeline, started_at), seconds)
    )
