"""CALLING_HOURS' value: a daily window of calling hours in the callee's local time (``08:00-21:00``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MINUTES_PER_DAY = 24 * 60
_MS_PER_MINUTE = 60_000
_CALLING_HOURS = re.compile(r"([0-9]{2}):([0-9]{2})\s*-\s*([0-9]{2}):([0-9]{2})")
_EXPECTED_FORM = "HH:MM-HH:MM, 24-hour, like 08:00-21:00 (or 22:00-06:00 across midnight)"


@dataclass(frozen=True)
class CallingHours:
    """A daily window in local time: ``start`` and ``end`` are minutes after midnight; start > end crosses it."""

    start: int  # 0 .. 1439
    end: int  # 0 .. 1440, 1440 being "24:00"

    def __str__(self) -> str:
        return f"{_hh_mm(self.start)}-{_hh_mm(self.end)}"

    def holds_at(self, ms_of_day: int) -> bool:
        """Whether a wall-clock time (milliseconds after local midnight) is within the window."""
        start, end = self.start * _MS_PER_MINUTE, self.end * _MS_PER_MINUTE
        if start < end:
            return start <= ms_of_day < end
        return ms_of_day >= start or ms_of_day < end


def _hh_mm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_calling_hours(text: str) -> CallingHours:
    """CALLING_HOURS, e.g. ``08:00-21:00``, as a CallingHours."""
    match = _CALLING_HOURS.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not calling hours of the form {_EXPECTED_FORM}")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
    if start_minute > 59 or end_minute > 59 or start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} names a time that is not on a 24-hour clock; expected {_EXPECTED_FORM}")
    if start == end:
        raise ValueError(f"{text!r} opens and closes at the same time; expected {_EXPECTED_FORM}")
    return CallingHours(start, end)
