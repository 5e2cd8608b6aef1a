"""When a number may be called: weekly windows of calling hours, and closed days, in the callee's local time.

Regulators and decency bound when a business may ring someone (the US TCPA rules allow telephone solicitation
from 8 a.m. to 9 p.m., 47 CFR 64.1200(c)(1)), and the bound is the callee's clock, not the caller's. The callee's
clock is not known, only the zones the number's range may be in (libphonenumber's metadata): a US area code can
straddle two zones, an Australian mobile may be anywhere from Cocos to Lord Howe. So the window must hold in all
of them at once; a number with no known zone, or whose zones share no open hour, cannot be called safely at all.

Whether the window holds is decided per instant, exactly: the instant's wall-clock time in each zone. The next
opening is searched among the few instants where that answer can change (a zone's clock reaching the window's
start or end, or jumping over it at a daylight-saving change), so a call is never placed early however the
clocks move. Windows are per weekday (CALLING_HOURS may name some days only), and whole local days can be closed: the
callee country's public holidays (CALLING_HOLIDAYS, closures.py) and blackout dates (CALLING_BLACKOUT_DATES).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from outbound_caller.config.calling_hours import MINUTES_PER_DAY, CallingHours

_MS_PER_MINUTE = 60_000
_MS_PER_DAY = MINUTES_PER_DAY * _MS_PER_MINUTE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# How far ahead a common opening is looked for: a week and a day covers every day of the week, and the days
# around a daylight-saving change, when zones that share an hour most of the year may briefly share none.
HORIZON_DAYS = 8
# The morning's deferred requests must not all arrive at the opening: a thundering herd against Connect's
# default quota of 2 StartOutboundVoiceContact calls per second (config.DEFAULT_CALLS_PER_SECOND). Spread over
# 30 minutes, 3,600 requests can start at the quota's pace; beyond that, the busy-instance back-pressure defers
# the rest.
OPENING_SPREAD_SECONDS = 1800
# A deferral aims this long before its deadline at the latest, so it is still placeable when it arrives: SQS delays
# in whole seconds, the event source polls, and the record may wait for its pacing turn.
DEADLINE_MARGIN_MS = 30_000


# Days closed for calls (holidays, blackout dates) can push the next opening past the weekly horizon: a further week is
# searched, beyond any deferral's bound (at most retention.MAX_DEFERRAL_DAYS, 7), so a request that could wait for it
# finds it, and one that could not expires.
CLOSED_DAYS_HORIZON_DAYS = 7
# Whether a local calendar date is closed for calls.
ClosedDays = Callable[[date], bool]


class NoCallingHoursError(Exception):
    """The number cannot be called within the hours: its zone is unknown, or its zones share no open hour."""


@dataclass(frozen=True)
class Opening:
    """A span (epoch milliseconds, end excluded) in which the window holds in every zone of the number."""

    start_ms: int
    end_ms: int


@cache
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo keeps only a few recently used zones strongly; a warm function should never read a file again.
    return ZoneInfo(name)


def _local(instant_ms: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + instant_ms * _ONE_MS).astimezone(zone)


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_MS


def _holds(hours: CallingHours, zone: ZoneInfo, instant_ms: int, closed: ClosedDays) -> bool:
    local = _local(instant_ms, zone)
    ms_of_day = ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.microsecond // 1000
    today = local.date()
    return hours.holds_at(
        local.weekday(),
        ms_of_day,
        today_open=not closed(today),
        yesterday_open=not closed(today - timedelta(days=1)),
    )


def _holds_everywhere(hours: CallingHours, zones: list[ZoneInfo], instant_ms: int, closed: ClosedDays) -> bool:
    for position, zone in enumerate(zones):
        if not _holds(hours, zone, instant_ms, closed):
            # The zone that refused is asked first next time: the next instant is usually refused by it too.
            zones.insert(0, zones.pop(position))
            return False
    return True


def _first_instant_after_change(zone: ZoneInfo, before_ms: int, after_ms: int) -> int:
    """The instant in (before, after] at which the zone's UTC offset changes, found by halving."""
    offset = _local(before_ms, zone).utcoffset()
    while after_ms - before_ms > 1:
        middle = (before_ms + after_ms) // 2
        if _local(middle, zone).utcoffset() == offset:
            before_ms = middle
        else:
            after_ms = middle
    return after_ms


def _crossings(zone: ZoneInfo, day: date, minutes: int) -> list[int]:
    """The instants at which the zone's clock passes ``minutes`` after midnight of ``day``.

    Once as a rule; when clocks go back over that time, at both its occurrences and at the change between them
    (the clock falls back below it); when clocks go forward over it, at the change, the time never being shown.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    earlier_offset = _epoch_ms(wall.replace(tzinfo=zone))  # PEP 495 fold=0: the offset before a change
    later_offset = _epoch_ms(wall.replace(tzinfo=zone, fold=1))  # fold=1: the offset after it
    if earlier_offset == later_offset:
        return [earlier_offset]
    if earlier_offset < later_offset:  # clocks went back: the time is shown twice
        return [earlier_offset, _first_instant_after_change(zone, earlier_offset, later_offset), later_offset]
    return [_first_instant_after_change(zone, later_offset, earlier_offset)]  # clocks went forward over it


def _changes(hours: CallingHours, zone: ZoneInfo, now_ms: int) -> Iterator[int]:
    """The instants after ``now_ms``, in order, at which the window may open or close in ``zone``."""
    day = _local(now_ms, zone).date() - timedelta(days=1)
    pending: list[int] = []
    while True:
        fresh = [
            instant for minute in hours.minutes_of_change(day.weekday()) for instant in _crossings(zone, day, minute)
        ]
        # Clocks going back can show a time of one day after the next day's first crossing: what is later than
        # that waits until the next day has been seen.
        settled = min(fresh)
        yield from sorted(instant for instant in pending if instant < settled)
        pending = [instant for instant in pending if instant >= settled] + [i for i in fresh if i > now_ms]
        day += timedelta(days=1)


def never_closed(_day: date) -> bool:
    """No day is closed: no holidays, no blackout dates."""
    return False


def next_opening(
    hours: CallingHours, time_zones: tuple[str, ...], now_ms: int, closed: ClosedDays = never_closed
) -> Opening | None:
    """None if the hours hold now in every zone; else the next span in which they hold in all of them.

    ``closed`` names the days on which no call is made at all (the callee's holidays, blackout dates), in each zone's
    own calendar. Raises NoCallingHoursError when the zones are unknown, or share no open hour of the weekly hours in
    the next HORIZON_DAYS; hours closed only by such days past the horizon give an opening at the horizon's end,
    later than any request may wait (a deferral then expires).
    """
    if not time_zones:
        raise NoCallingHoursError("its time zone is unknown, so CALLING_HOURS cannot be kept")
    zones = [_zone(name) for name in dict.fromkeys(time_zones)]
    if _holds_everywhere(hours, zones, now_ms, closed):
        return None
    horizon_ms = now_ms + (HORIZON_DAYS + CLOSED_DAYS_HORIZON_DAYS) * _MS_PER_DAY
    opening = _search(hours, zones, now_ms, closed, horizon_ms)
    if opening is not None:
        return opening
    if closed is not never_closed and _search(hours, zones, now_ms, never_closed, now_ms + HORIZON_DAYS * _MS_PER_DAY):
        return Opening(horizon_ms, horizon_ms + _MS_PER_DAY)  # open weekly, closed by its days for longer than a wait
    raise NoCallingHoursError(f"its time zones share no time within {hours} in the next {HORIZON_DAYS} days")


def _search(
    hours: CallingHours, zones: list[ZoneInfo], now_ms: int, closed: ClosedDays, horizon_ms: int
) -> Opening | None:
    """The first span after now_ms and before horizon_ms in which the hours hold in every zone, else None."""
    # Each zone's crossings are worked out a day at a time, only as far as the search needs: about 20 time-zone
    # conversions for a one-zone number, 75 for a UK one (four names, one clock); the 42 zones of a +1 toll-free
    # number take some 700, and 2,000 (about 10 ms) to find that they share no hour in the horizon.
    # The answer can change only where some zone's answer does; zones that are one zone under two names
    # (Europe/London and Europe/Jersey) give the same instants, asked once.
    changes = (instant for instant, _ in itertools.groupby(heapq.merge(*(_changes(hours, z, now_ms) for z in zones))))
    start_ms = next(i for i in changes if i > horizon_ms or _holds_everywhere(hours, zones, i, closed))
    if start_ms > horizon_ms:
        return None
    # An open span ends within a week (the week's last window closes), unless the hours hold at every hour: a span that
    # has not closed after the horizon is reported as lasting that long (only its start and first minutes matter).
    span_limit_ms = start_ms + HORIZON_DAYS * _MS_PER_DAY
    end_ms = next(i for i in changes if i > span_limit_ms or not _holds_everywhere(hours, zones, i, closed))
    return Opening(start_ms, end_ms)


def arrival_in(opening: Opening, client_token: str, *, not_after_ms: int | None = None) -> int:
    """When (epoch ms) a request deferred to ``opening`` should arrive: at a slot spread over its first minutes.

    The slot comes from the request's ClientToken, so every copy and every hop of one request aims at the same
    instant; it is never later than the request's deadline allows, nor earlier than the opening.
    """
    spread_ms = min(OPENING_SPREAD_SECONDS * 1000, (opening.end_ms - opening.start_ms) // 2)
    digest = int.from_bytes(hashlib.sha256(client_token.encode()).digest()[:8], "big")
    arrival_ms = opening.start_ms + (digest * spread_ms >> 64)  # a fraction in [0, 1) of the spread
    if not_after_ms is not None:
        arrival_ms = min(arrival_ms, not_after_ms - DEADLINE_MARGIN_MS)
    return max(arrival_ms, opening.start_ms)
