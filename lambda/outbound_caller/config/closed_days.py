"""CALLING_HOLIDAYS' and CALLING_BLACKOUT_DATES' values: which whole local days are closed for calls."""

from __future__ import annotations

import re
from datetime import date

# CALLING_HOLIDAYS: the public holidays of the callee's country (the `holidays` library, by the number's region).
NATIONAL_HOLIDAYS = "national"
HOLIDAY_RULES = frozenset({NATIONAL_HOLIDAYS})
# A blackout date is a local calendar date, ISO-8601: YYYY-MM-DD.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# More dates than a year's worth would be a list of every day: a typo or a pause (pause the caller instead).
MAX_BLACKOUT_DATES = 366


def parse_holidays(text: str) -> str:
    """CALLING_HOLIDAYS, e.g. ``national``; ValueError names the rules there are."""
    rule = text.strip().lower()
    if rule not in HOLIDAY_RULES:
        raise ValueError(f"{text!r} is not a holiday rule; the rules are {', '.join(sorted(HOLIDAY_RULES))}")
    return rule


def parse_blackout_dates(text: str) -> frozenset[date]:
    """CALLING_BLACKOUT_DATES, e.g. ``2026-12-24,2026-12-31``, as dates; ValueError names a date that is not one."""
    dates = set()
    for part in (item.strip() for item in text.split(",")):
        if not part:
            continue
        if not _DATE.fullmatch(part):
            raise ValueError(f"{part!r} is not a date of the form YYYY-MM-DD")
        try:
            dates.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a date of the calendar") from None
    if len(dates) > MAX_BLACKOUT_DATES:
        raise ValueError(f"{len(dates)} blackout dates; at most {MAX_BLACKOUT_DATES} (pause the caller instead)")
    return frozenset(dates)
