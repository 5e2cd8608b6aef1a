"""When a number may be called: a daily window of calling hours in the callee's local time.

Regulators and decency bound when a business may ring someone (the US TCPA rules allow telephone solicitation
from 8 a.m. to 9 p.m., 47 CFR 64.1200(c)(1)), and the bound is the callee's clock, not the caller's. The callee's
clock is not known, only the zones the number's range may be in (libphonenumber's metadata): a US area code can
straddle two zones, an Australian mobile may be anywhere from Cocos to Lord Howe. So the window must hold in all
of them at once; a number with no known zone, or whose zones share no open hour, cannot be called safely at all.

Whether the window holds is decided per instant, exactly: the instant's wall-clock time in each zone. The next
opening is searched among the few instants where that answer can change (a zone's clock reaching the window's
start or end, or jumping over it at a daylight-saving change), so a call is never placed early however the
clocks move. There are no weekday rules: a window holds on Saturdays and Sundays too.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Iterator
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


def _holds(hours: CallingHours, zone: ZoneInfo, instant_ms: int) -> bool:
    local = _local(instant_ms, zone)
    return hours.holds_at(((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.microsecond // 1000)


def _holds_everywhere(hours: CallingHours, zones: list[ZoneInfo], instant_ms: int) -> bool:
    for position, zone in enumerate(zones):
        if not _holds(hours, zone, instant_ms):
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
        fresh = _crossings(zone, day, hours.start) + _crossings(zone, day, hours.end)
        # Clocks going back can show a time of one day after the next day's first crossing: what is later than
        # that waits until the next day has been seen.
        settled = min(fresh)
        yield from sorted(instant for instant in pending if instant < settled)
        pending = [instant for instant in pending if instant >= settled] + [i for i in fresh if i > now_ms]
        day += timedelta(days=1)


def next_opening(hours: CallingHours, time_zones: tuple[str, ...], now_ms: int) -> Opening | None:
    """None if the window holds now in every zone; else the next span in which it holds in all of them."""
    if not time_zones:
        raise NoCallingHoursError("its time zone is unknown, so CALLING_HOURS cannot be kept")
    zones = [_zone(name) for name in dict.fromkeys(time_zones)]
    if _holds_everywhere(hours, zones, now_ms):
        return None
    # Each zone's crossings are worked out a day at a time, only as far as the search needs: about 20 time-zone
    # conversions for a one-zone number, 75 for a UK one (four names, one clock); the 42 zones of a +1 toll-free
    # number take some 700, and 2,000 (about 10 ms) to find that they share no hour in the horizon.
    # The answer can change only where some zone's answer does; zones that are one zone under two names
    # (Europe/London and Europe/Jersey) give the same instants, asked once.
    changes = (instant for instant, _ in itertools.groupby(heapq.merge(*(_changes(hours, z, now_ms) for z in zones))))
    horizon_ms = now_ms + HORIZON_DAYS * _MS_PER_DAY
    start_ms = next(i for i in changes if i > horizon_ms or _holds_everywhere(hours, zones, i))
    if start_ms > horizon_ms:
        raise NoCallingHoursError(f"its time zones share no time within {hours} in the next {HORIZON_DAYS} days")
    # Every zone's window closes within a day of opening, so this ends.
    end_ms = next(i for i in changes if not _holds_everywhere(hours, zones, i))
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
