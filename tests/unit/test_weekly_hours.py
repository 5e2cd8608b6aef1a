"""Weekly calling hours, public holidays and blackout dates, in every zone of the callee's number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers.timezone import time_zones_for_number

from outbound_caller.config.calling_hours import ALWAYS, parse_calling_hours
from outbound_caller.config.closed_days import parse_blackout_dates, parse_holidays
from outbound_caller.config.settings import Settings, load_settings
from outbound_caller.safety.calling_hours import HORIZON_DAYS, ClosedDays, never_closed, next_opening
from outbound_caller.safety.closed_days import closed_days
from tests.support.environment import FUNCTION_ENVIRONMENT

NEW_YORK = "+12125550123"
LONDON = "+442071838750"
SYDNEY_LANDLINE = "+61291234567"
WEEKDAYS_AND_SATURDAY = "Mon-Fri 08:00-21:00; Sat 10:00-18:00"


def zones(number: str) -> tuple[str, ...]:
    return tuple(time_zones_for_number(phonenumbers.parse(number)))


def at(local: str, zone: str) -> int:
    """Epoch ms of a local wall-clock time in a zone."""
    return int(datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def local(epoch_ms: int, zone: str) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def opens(hours: str, number: str, now: str, zone: str, closed: ClosedDays = never_closed) -> str | None:
    """When the hours next open for the number, as local time in ``zone``; None when open now."""
    opening = next_opening(parse_calling_hours(hours), zones(number), at(now, zone), closed)
    return None if opening is None else local(opening.start_ms, zone)


def settings(**variables: str) -> Settings:
    return load_settings({**FUNCTION_ENVIRONMENT, **variables})


def test_weekly_hours_are_read_and_written_back_grouped_by_days() -> None:
    # Given weekly hours with ranges, lists, several windows and a window across midnight
    # When they are parsed
    hours = parse_calling_hours("mon-fri 08:00-12:00,14:00-18:00; Sat,Sun 10:00-12:00; Fri 22:00-02:00")
    # Then each day holds its own windows, and they print back grouped
    assert str(parse_calling_hours(WEEKDAYS_AND_SATURDAY)) == WEEKDAYS_AND_SATURDAY
    assert str(hours.days[4][-1]) == "22:00-02:00"
    assert len(hours.days[0]) == 2
    assert hours.days[6] == hours.days[5]
    assert str(parse_calling_hours("Sat-Mon 10:00-11:00")) == "Mon 10:00-11:00; Sat-Sun 10:00-11:00"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Mon-Fri", "names no window"),
        ("Xyz 08:00-09:00", "is not a weekday"),
        ("Mon 08:00", "is not a window"),
        ("Mon 08:00-08:00", "opens and closes at the same time"),
        ("Mon-Fri 08:00-21:00; 10:00-12:00", "name no weekday"),
        (";", "opens on no day"),
    ],
)
def test_malformed_weekly_hours_say_what_is_wrong_and_the_form_expected(text: str, problem: str) -> None:
    # Given weekly hours with a mistake
    # When they are parsed
    # Then the error names the mistake and the expected form
    with pytest.raises(ValueError, match=problem) as raised:
        parse_calling_hours(text)
    assert "Mon-Fri 08:00-21:00; Sat 10:00-18:00" in str(raised.value)


def test_friday_evening_defers_to_saturday_morning_and_saturday_evening_to_monday() -> None:
    # Given Mon-Fri 08:00-21:00; Sat 10:00-18:00 for a New York number
    # When a request arrives on Friday 21:30, then on Saturday 19:00 (Sunday names no window)
    # Then it waits for Saturday 10:00, then for Monday 08:00
    assert opens(WEEKDAYS_AND_SATURDAY, NEW_YORK, "2026-11-27T21:30", "America/New_York") == "Sat 2026-11-28 10:00"
    assert opens(WEEKDAYS_AND_SATURDAY, NEW_YORK, "2026-11-28T19:00", "America/New_York") == "Mon 2026-11-30 08:00"
    assert opens(WEEKDAYS_AND_SATURDAY, NEW_YORK, "2026-11-28T11:00", "America/New_York") is None


def test_a_window_across_midnight_belongs_to_the_day_it_starts_even_into_a_closed_day() -> None:
    # Given Saturday's window 22:00-02:00 and no window on Sunday
    hours = "Sat 22:00-02:00"
    # When a request arrives at 01:00 on Sunday, and at 03:00
    # Then the first is within Saturday's window; the second waits for next Saturday 22:00
    assert opens(hours, NEW_YORK, "2026-11-29T01:00", "America/New_York") is None
    assert opens(hours, NEW_YORK, "2026-11-29T03:00", "America/New_York") == "Sat 2026-12-05 22:00"


def test_a_weekly_window_keeps_local_time_across_the_daylight_saving_change() -> None:
    # Given Sunday 09:00-12:00 in New York, and the clocks going forward at 02:00 on Sunday 8 March 2026
    # When a request arrives on Saturday 7 March at noon
    # Then it waits for 09:00 local on Sunday, in summer time (13:00 UTC, not 14:00)
    opening = next_opening(parse_calling_hours("Sun 09:00-12:00"), zones(NEW_YORK), at("2026-03-07T12:00", "UTC"))
    assert opening is not None
    assert datetime.fromtimestamp(opening.start_ms / 1000, UTC).strftime("%a %H:%M") == "Sun 13:00"


def test_a_us_and_a_uk_number_each_keep_their_own_national_holidays() -> None:
    # Given national holidays: Thanksgiving (Thursday 26 November 2026) is a US holiday, not a UK one;
    # the day after Boxing Day is a UK holiday in 2026 (Monday 28 December, Boxing Day observed), not a US one
    national = settings(CALLING_HOLIDAYS="national")
    us, uk = closed_days(national, "US"), closed_days(national, "GB")
    hours = "08:00-21:00"
    # When a request to each arrives at noon on those days, in the callee's own time
    # Then each waits for the morning after its own holiday, and calls the other country's number
    assert opens(hours, NEW_YORK, "2026-11-26T12:00", "America/New_York", us) == "Fri 2026-11-27 08:00"
    assert opens(hours, LONDON, "2026-11-26T12:00", "Europe/London", uk) is None
    assert opens(hours, LONDON, "2026-12-28T12:00", "Europe/London", uk) == "Tue 2026-12-29 08:00"
    assert opens(hours, NEW_YORK, "2026-12-28T12:00", "America/New_York", us) is None


def test_blackout_dates_are_the_callees_own_calendar_days() -> None:
    # Given 24 December as a blackout date, and every hour open otherwise
    blackout = settings(CALLING_BLACKOUT_DATES="2026-12-24")
    closed = closed_days(blackout, "AU")
    # When a request to a Sydney number arrives at 23:00 UTC on 23 December (already the 24th in Sydney)
    opening = next_opening(ALWAYS, zones(SYDNEY_LANDLINE), at("2026-12-23T23:00", "UTC"), closed)
    # Then it waits for midnight at the start of the 25th in Sydney, not in UTC
    assert opening is not None
    assert local(opening.start_ms, "Australia/Sydney") == "Fri 2026-12-25 00:00"


def test_days_closed_beyond_any_wait_give_an_opening_past_every_deferral_bound() -> None:
    # Given hours open every day, and the next three weeks closed
    closed = parse_blackout_dates(",".join(f"2026-12-{day:02d}" for day in range(7, 29)))
    # When the next opening is looked for on 7 December
    opening = next_opening(ALWAYS, zones(NEW_YORK), at("2026-12-07T12:00", "America/New_York"), closed.__contains__)
    # Then it lies beyond the horizon searched (so a deferral to it expires), rather than refusing the destination
    assert opening is not None
    assert opening.start_ms >= at("2026-12-07T12:00", "America/New_York") + HORIZON_DAYS * 86_400_000


def test_holiday_and_blackout_settings_are_checked_at_start() -> None:
    # Given the settings' values
    # Then they are read as rules and dates, and refused when they are neither
    assert parse_holidays(" National ") == "national"
    assert parse_blackout_dates("2026-12-24, 2026-12-31") == {date(2026, 12, 24), date(2026, 12, 31)}
    with pytest.raises(ValueError, match="not a holiday rule"):
        parse_holidays("regional")
    with pytest.raises(ValueError, match="not a date of the calendar"):
        parse_blackout_dates("2026-02-30")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_blackout_dates("24/12/2026")


def test_a_region_the_holidays_library_does_not_know_has_no_holidays() -> None:
    # Given national holidays, and a number of no country, or of a region the library lacks
    national = settings(CALLING_HOLIDAYS="national")
    # Then no day is closed for it (the weekly hours alone decide)
    assert closed_days(national, None) is never_closed
    assert closed_days(national, "XX") is never_closed
