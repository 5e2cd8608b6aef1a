"""The calling-safety rules a request meets before it may be dialled: when.

Where (the destination's country and number type) is destinations.allowed_destination: a refusal is permanent, and
it needs no deferral machinery, so producers' tools can check it too. When: not before the request's NotBefore, and
only within CALLING_HOURS in the callee's time zones, on days that are not its holidays or blackout dates
(calling_hours.py, closed_days.py); an early request is deferred to its time,
never dead-lettered for being early. How often is counted at the call itself (call_limit.py), so that a replay of a
placed call never counts twice."""

from __future__ import annotations

from outbound_caller.config.calling_hours import ALWAYS, CallingHours
from outbound_caller.config.settings import Settings
from outbound_caller.decisions import NOT_BEFORE, OUTSIDE_CALLING_HOURS, Deferral
from outbound_caller.request.contract import CallRequest
from outbound_caller.safety.calling_hours import arrival_in, next_opening
from outbound_caller.safety.closed_days import closed_days
from outbound_caller.safety.destinations import Destination


def calling_hours_of(settings: Settings) -> CallingHours | None:
    """The weekly hours calls keep: CALLING_HOURS, else every hour when only closed days (holidays, blackout dates) are
    set, else None (any time)."""
    if settings.calling_hours is not None:
        return settings.calling_hours
    if settings.calling_holidays is not None or settings.calling_blackout_dates:
        return ALWAYS
    return None


def not_yet(
    request: CallRequest,
    destination: Destination,
    client_token: str,
    settings: Settings,
    *,
    now_ms: int,
    deadline_ms: int,
) -> Deferral | None:
    """The deferral a request must wait out before it is called (its NotBefore, then calling hours), else None.

    Raises NoCallingHoursError when calling hours are set and the callee's zones are unknown or share no open hour.
    """
    earliest_ms = now_ms
    if request.NotBefore is not None:
        earliest_ms = max(now_ms, int(request.NotBefore.timestamp() * 1000))
        if earliest_ms >= deadline_ms:
            # It can never be placed: no opening to look for (settling dead-letters it as Expired).
            return Deferral(NOT_BEFORE, earliest_ms)
    hours = calling_hours_of(settings)
    if hours is not None:
        opening = next_opening(hours, destination.time_zones, earliest_ms, closed_days(settings, destination.region))
        if opening is not None:
            # Spread over the opening's first minutes, so the morning's deferred requests do not all arrive at once.
            return Deferral(OUTSIDE_CALLING_HOURS, arrival_in(opening, client_token, not_after_ms=deadline_ms))
    if earliest_ms > now_ms:
        return Deferral(NOT_BEFORE, earliest_ms)
    return None
