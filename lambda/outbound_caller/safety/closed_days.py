"""Which local days are closed for calls to a number: its country's public holidays, and the deployment's blackout
dates. Dates are the callee's, in each zone's own calendar (calling_hours.py asks per zone).

The holidays come from the `holidays` library by the number's region (libphonenumber's), national ones only (no
state or province): a US number keeps the federal holidays, a UK one those common to the whole kingdom. A region the
library does not know has no holidays. The library is imported on first use, so a deployment without CALLING_HOLIDAYS
never pays for it.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from outbound_caller.config.closed_days import NATIONAL_HOLIDAYS
from outbound_caller.config.settings import Settings
from outbound_caller.safety.calling_hours import ClosedDays, never_closed

if TYPE_CHECKING:
    from holidays import HolidayBase


@cache
def _national_holidays(region: str) -> HolidayBase | None:
    """The region's national public holidays, every year on demand; None where the library knows no such country."""
    import holidays

    try:
        return holidays.country_holidays(region)
    except NotImplementedError:
        return None


def closed_days(settings: Settings, region: str | None) -> ClosedDays:
    """The days closed for calls to a number of ``region`` (ISO 3166-1 alpha-2; None: no country)."""
    blackout = settings.calling_blackout_dates
    calendar = _national_holidays(region) if settings.calling_holidays == NATIONAL_HOLIDAYS and region else None
    if not blackout and calendar is None:
        return never_closed

    def closed(day: date) -> bool:
        return day in blackout or (calendar is not None and day in calendar)

    return closed
