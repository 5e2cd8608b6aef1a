"""CALLING_HOURS' value: windows of calling hours per weekday, in the callee's local time.

Two forms: ``08:00-21:00`` (every day), or clauses per weekday, ``Mon-Fri 08:00-21:00; Sat 10:00-18:00`` (days not
named are closed). A window may cross midnight (``22:00-06:00``) and belongs to the day it starts: Friday's
``22:00-02:00`` runs into Saturday's small hours even when Saturday names no window. A clause may name several days
(``Mon-Wed,Fri``) and several windows (``09:00-12:00,14:00-18:00``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MINUTES_PER_DAY = 24 * 60
_MS_PER_MINUTE = 60_000
# Weekday names as datetime.weekday() numbers them (Monday 0).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = re.compile(r"([0-9]{2}):([0-9]{2})\s*-\s*([0-9]{2}):([0-9]{2})")
_DAY_RANGE = re.compile(r"([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?")
_EXPECTED_FORM = (
    "HH:MM-HH:MM, 24-hour, every day (08:00-21:00, or 22:00-06:00 across midnight), or windows per weekday like"
    " 'Mon-Fri 08:00-21:00; Sat 10:00-18:00'"
)


@dataclass(frozen=True)
class Window:
    """A span of local time, in minutes after midnight: ``start`` > ``end`` crosses into the next day."""

    start: int  # 0 .. 1439
    end: int  # 0 .. 1440, 1440 being "24:00"

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window runs on past midnight into the next day."""
        return self.start > self.end

    def __str__(self) -> str:
        return f"{_hh_mm(self.start)}-{_hh_mm(self.end)}"


@dataclass(frozen=True)
class CallingHours:
    """The windows of each weekday (index 0 Monday), each belonging to the day it starts."""

    days: tuple[tuple[Window, ...], ...]

    def __str__(self) -> str:
        if len(set(self.days)) == 1:
            return ",".join(map(str, self.days[0]))
        clauses, day = [], 0
        while day < len(WEEKDAYS):
            last = day
            while last + 1 < len(WEEKDAYS) and self.days[last + 1] == self.days[day]:
                last += 1
            if self.days[day]:
                days = WEEKDAYS[day] if last == day else f"{WEEKDAYS[day]}-{WEEKDAYS[last]}"
                clauses.append(f"{days} {','.join(map(str, self.days[day]))}")
            day = last + 1
        return "; ".join(clauses)

    def holds_at(self, weekday: int, ms_of_day: int, *, today_open: bool = True, yesterday_open: bool = True) -> bool:
        """Whether a local wall-clock time (weekday, milliseconds after midnight) is within a window.

        ``today_open``/``yesterday_open``: False on a closed day (a holiday, a blackout date): its own windows do not
        open, and neither does the part of the day before's window that runs into it.
        """
        if not today_open:
            return False
        for window in self.days[weekday]:
            start = window.start * _MS_PER_MINUTE
            end = MINUTES_PER_DAY * _MS_PER_MINUTE if window.crosses_midnight else window.end * _MS_PER_MINUTE
            if start <= ms_of_day < end:
                return True
        if yesterday_open:
            return any(
                window.crosses_midnight and ms_of_day < window.end * _MS_PER_MINUTE
                for window in self.days[(weekday - 1) % 7]
            )
        return False

    def minutes_of_change(self, weekday: int) -> frozenset[int]:
        """The minutes of a weekday at which whether the hours hold may change: midnight (the day, and whether it is
        closed, changes), each window's start, and each end that falls on this day."""
        minutes = {0}
        minutes.update(window.start for window in self.days[weekday])
        minutes.update(window.end for window in self.days[weekday] if not window.crosses_midnight)
        minutes.update(window.end for window in self.days[(weekday - 1) % 7] if window.crosses_midnight)
        return frozenset(minute for minute in minutes if minute < MINUTES_PER_DAY)


# Open every minute of every day: the hours when none are set but holidays or blackout dates still close some days.
ALWAYS = CallingHours(tuple((Window(0, MINUTES_PER_DAY),) for _ in WEEKDAYS))


def _hh_mm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _window(text: str, whole: str) -> Window:
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{whole!r}: {text.strip()!r} is not a window; expected {_EXPECTED_FORM}")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
    if start_minute > 59 or end_minute > 59 or start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
        raise ValueError(f"{whole!r} names a time that is not on a 24-hour clock; expected {_EXPECTED_FORM}")
    if start == end:
        raise ValueError(f"{whole!r} has a window that opens and closes at the same time; expected {_EXPECTED_FORM}")
    return Window(start, end)


def _weekday(name: str, whole: str) -> int:
    for index, weekday in enumerate(WEEKDAYS):
        if name.lower() == weekday.lower():
            return index
    raise ValueError(f"{whole!r}: {name!r} is not a weekday ({', '.join(WEEKDAYS)}); expected {_EXPECTED_FORM}")


def _days(text: str, whole: str) -> list[int]:
    days: list[int] = []
    if not text.strip():
        raise ValueError(f"{whole!r} has windows that name no weekday; expected {_EXPECTED_FORM}")
    for part in text.split(","):
        match = _DAY_RANGE.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"{whole!r}: {part.strip()!r} names no weekday; expected {_EXPECTED_FORM}")
        first = _weekday(match[1], whole)
        last = _weekday(match[2], whole) if match[2] else first
        # A range wraps the week's end: Sat-Mon is Saturday, Sunday and Monday.
        days.extend((first + offset) % 7 for offset in range((last - first) % 7 + 1))
    return days


def parse_calling_hours(text: str) -> CallingHours:
    """CALLING_HOURS, e.g. ``08:00-21:00`` or ``Mon-Fri 08:00-21:00; Sat 10:00-18:00``, as CallingHours."""
    stripped = text.strip()
    if stripped[:1].isdigit():
        windows = tuple(_window(part, text) for part in stripped.split(","))
        return CallingHours(tuple(windows for _ in WEEKDAYS))
    per_day: list[list[Window]] = [[] for _ in WEEKDAYS]
    for clause in (part.strip() for part in stripped.split(";")):
        if not clause:
            continue
        # The days are what comes before the first digit: "Mon - Fri 08:00-21:00" as well as "Mon-Fri 08:00-21:00".
        split = next((index for index, char in enumerate(clause) if char.isdigit()), len(clause))
        days_text, windows_text = clause[:split], clause[split:]
        if not windows_text.strip():
            raise ValueError(f"{text!r}: {clause!r} names no window; expected {_EXPECTED_FORM}")
        clause_windows = [_window(part, text) for part in windows_text.split(",")]
        for day in _days(days_text, text):
            per_day[day].extend(clause_windows)
    if not any(per_day):
        raise ValueError(f"{text!r} opens on no day; expected {_EXPECTED_FORM}")
    return CallingHours(tuple(tuple(windows) for windows in per_day))
