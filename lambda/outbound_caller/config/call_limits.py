"""DESTINATION_CALL_LIMIT's value: at most so many calls to one number in a sliding window (``3/24h``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# An item lives as long as its window (TTL: the newest call + window), so a longer window would be a list of who was
# called kept for ever; 30 days is beyond any campaign's "not again this month".
MAX_CALL_LIMIT_WINDOW_SECONDS = 30 * 24 * 60 * 60
# The item holds one entry (about 50 bytes) per call in the window, and a DynamoDB item is at most 400 KB.
MAX_CALL_LIMIT_CALLS = 1_000
_UNIT_SECONDS = {"d": 24 * 60 * 60, "h": 60 * 60, "m": 60, "s": 1}
# ASCII digits only ([0-9], not \d, which matches other scripts' digits too).
_CALL_LIMIT = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*([smhd])\s*")
_FORM = "like 3/24h (calls per window; the window in s, m, h or d)"


def duration_text(seconds: int) -> str:
    """Seconds in the largest unit that holds them exactly, a day as 24h (as operators write it): 5400 is 90m."""
    unit = next(
        unit for unit, size in _UNIT_SECONDS.items() if seconds % size == 0 and not (unit == "d" and seconds == size)
    )
    return f"{seconds // _UNIT_SECONDS[unit]}{unit}"


def _problem(calls: int, window_seconds: int) -> str | None:
    if calls < 1:
        return "it allows no call at all (at least 1 per window)"
    if calls > MAX_CALL_LIMIT_CALLS:
        return f"it allows more than {MAX_CALL_LIMIT_CALLS} calls per window"
    if window_seconds < 1:
        return "its window is empty (at least 1s)"
    if window_seconds > MAX_CALL_LIMIT_WINDOW_SECONDS:
        return f"its window is longer than {duration_text(MAX_CALL_LIMIT_WINDOW_SECONDS)}"
    return None


@dataclass(frozen=True)
class CallLimit:
    """At most ``calls`` calls to one number in any ``window_seconds``."""

    calls: int
    window_seconds: int

    def __post_init__(self) -> None:
        problem = _problem(self.calls, self.window_seconds)
        if problem:
            raise ValueError(f"{self.calls} calls per {self.window_seconds}s is not a usable call limit: {problem}")

    def __str__(self) -> str:
        return f"{self.calls}/{duration_text(self.window_seconds)}"


def parse_call_limit(text: str) -> CallLimit:
    """Read a DESTINATION_CALL_LIMIT value such as ``3/24h``; ValueError names the value and the expected form."""
    match = _CALL_LIMIT.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a call limit {_FORM}")
    calls, window_seconds = int(match[1]), int(match[2]) * _UNIT_SECONDS[match[3]]
    problem = _problem(calls, window_seconds)
    if problem:
        raise ValueError(f"{text!r} is not a usable call limit: {problem}")
    return CallLimit(calls, window_seconds)


@dataclass(frozen=True)
class CallLimits:
    """Several limits at once (``2/24h,6/14d``): a call must fit every one."""

    limits: tuple[CallLimit, ...]

    def __str__(self) -> str:
        return ",".join(map(str, self.limits))

    @property
    def longest_window_seconds(self) -> int:
        """The window whose calls must all be remembered: a call older than it counts against no limit."""
        return max(limit.window_seconds for limit in self.limits)


def parse_call_limits(text: str) -> CallLimits:
    """DESTINATION_CALL_LIMIT or SOURCE_CALL_LIMIT, e.g. ``3/24h`` or ``2/24h,6/14d``; ValueError names the part at
    fault and the form expected."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError(f"{text!r} is not a call limit {_FORM}")
    limits = tuple(parse_call_limit(part) for part in parts)
    windows = [limit.window_seconds for limit in limits]
    if len(set(windows)) != len(windows):
        raise ValueError(f"{text!r} names one window twice; give each window one limit")
    return CallLimits(limits)
