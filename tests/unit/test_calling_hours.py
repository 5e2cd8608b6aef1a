"""Calling hours in the callee's local time, at fixed instants: window edges, daylight saving, numbers in many zones.

The zones come from libphonenumber's metadata through destination_of, so the tests exercise the real metadata.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from outbound_caller.config.calling_hours import CallingHours, Window, parse_calling_hours
from outbound_caller.safety.calling_hours import (
    OPENING_SPREAD_SECONDS,
    NoCallingHoursError,
    Opening,
    arrival_in,
    next_opening,
)
from outbound_caller.safety.destinations import destination_of

DAYTIME = parse_calling_hours("08:00-21:00")
NIGHT_SHIFT = parse_calling_hours("22:00-06:00")
OFFICE_HOURS = parse_calling_hours("09:00-17:00")

GB_MOBILE = "+447400123456"  # Europe/London and the Crown Dependencies' zones, all one clock
FR_MOBILE = "+33612345678"  # Europe/Paris
NEW_YORK = "+12122345678"  # America/New_York
IDAHO = "+19862345678"  # area code 986: America/Boise and America/Los_Angeles (Idaho's panhandle is Pacific)
MEXICO_TOLL_FREE = "+528001234567"  # Cancun to Tijuana, and America/New_York
AU_MOBILE = "+61412345678"  # Indian/Cocos and Indian/Christmas to Australia/Lord_Howe
US_TOLL_FREE = "+18002001234"  # every NANP zone: Pacific/Guam to Pacific/Pago_Pago, and America/St_Johns
RU_MOBILE = "+79123456789"  # Europe/Bucharest (standing for UTC+2) to Asia/Anadyr


def ms(moment: str) -> int:
    """Epoch milliseconds of an ISO-8601 time with its offset."""
    return int(datetime.fromisoformat(moment).timestamp() * 1000)


def zones(number: str) -> tuple[str, ...]:
    return destination_of(number).time_zones


def opening(number: str, hours: CallingHours, now: str) -> Opening | None:
    return next_opening(hours, zones(number), ms(now))


def every_day(window: Window) -> CallingHours:
    return CallingHours(tuple((window,) for _ in range(7)))


def test_calling_hours_are_read_and_written_as_hh_mm() -> None:
    # Given calling hours written with and without spaces, across midnight, and to the end of the day
    # When they are parsed
    # Then they are minutes after midnight, and print back as written
    assert parse_calling_hours("08:00-21:00") == every_day(Window(start=480, end=1260))
    assert parse_calling_hours(" 08:30 - 21:15 ") == every_day(Window(start=510, end=1275))
    assert parse_calling_hours("22:00-06:00") == every_day(Window(start=1320, end=360))
    assert parse_calling_hours("00:00-24:00") == every_day(Window(start=0, end=1440))
    assert str(parse_calling_hours("22:00 -06:00")) == "22:00-06:00"
    assert str(parse_calling_hours("00:00-24:00")) == "00:00-24:00"


@pytest.mark.parametrize(
    "text", ["25:00-08:00", "8-21", "08:00-08:00", "08:00", "8:00-21:00", "08:60-21:00", "24:00-08:00", "", "a-b"]
)
def test_malformed_calling_hours_are_named_with_the_expected_form(text: str) -> None:
    # Given calling hours that are not two distinct 24-hour times
    # When they are parsed
    # Then the error names the value and the form expected
    with pytest.raises(ValueError, match="HH:MM-HH:MM") as raised:
        parse_calling_hours(text)
    assert repr(text) in str(raised.value)


def test_the_window_is_open_from_its_first_millisecond_to_just_before_its_end() -> None:
    # Given 08:00-21:00 for a London number in winter (London's clock is UTC)
    # When it is asked exactly at 08:00, and just before 21:00
    # Then the call may go ahead
    assert opening(GB_MOBILE, DAYTIME, "2026-01-15T08:00:00+00:00") is None
    assert next_opening(DAYTIME, zones(GB_MOBILE), ms("2026-01-15T21:00:00+00:00") - 1) is None
    # And one millisecond before 08:00 it waits for 08:00, until 21:00
    assert next_opening(DAYTIME, zones(GB_MOBILE), ms("2026-01-15T08:00:00+00:00") - 1) == Opening(
        ms("2026-01-15T08:00:00+00:00"), ms("2026-01-15T21:00:00+00:00")
    )
    # And exactly at 21:00 it is closed until 08:00 the next day
    assert opening(GB_MOBILE, DAYTIME, "2026-01-15T21:00:00+00:00") == Opening(
        ms("2026-01-16T08:00:00+00:00"), ms("2026-01-16T21:00:00+00:00")
    )


def test_london_in_summer_opens_an_hour_earlier_in_utc() -> None:
    # Given a London number in July (BST, UTC+1), at 06:30 UTC (07:30 local)
    # When the next opening is asked
    # Then it is 08:00 BST, 07:00 UTC
    assert opening(GB_MOBILE, DAYTIME, "2026-07-15T06:30:00+00:00") == Opening(
        ms("2026-07-15T07:00:00+00:00"), ms("2026-07-15T20:00:00+00:00")
    )


def test_the_window_moves_in_utc_when_new_york_springs_forward() -> None:
    # Given a New York number at 01:00 EST on 2026-03-08, the night clocks go from 02:00 to 03:00
    # When the next opening is asked
    # Then it is 08:00 EDT (12:00 UTC), not 08:00 EST, and it ends at 21:00 EDT
    assert opening(NEW_YORK, DAYTIME, "2026-03-08T01:00:00-05:00") == Opening(
        ms("2026-03-08T08:00:00-04:00"), ms("2026-03-08T21:00:00-04:00")
    )
    # And the day before, the same window was an hour later in UTC
    assert opening(NEW_YORK, DAYTIME, "2026-03-07T07:00:00-05:00") == Opening(
        ms("2026-03-07T13:00:00+00:00"), ms("2026-03-08T02:00:00+00:00")
    )


def test_the_window_moves_in_utc_when_new_york_falls_back() -> None:
    # Given a New York number at 00:30 EDT on 2026-11-01, the night 01:00-02:00 happens twice
    # When the next opening is asked
    # Then it is 08:00 EST, 13:00 UTC, until 21:00 EST
    assert opening(NEW_YORK, DAYTIME, "2026-11-01T00:30:00-04:00") == Opening(
        ms("2026-11-01T13:00:00+00:00"), ms("2026-11-02T02:00:00+00:00")
    )


def test_the_uk_clock_changes_move_the_window_too() -> None:
    # Given a London number at 05:00 UTC on the days the UK's clocks go forward (29 March) and back (25 October)
    # When the next opening is asked
    # Then it is 08:00 BST (07:00 UTC) in spring, and 08:00 GMT (08:00 UTC) in autumn
    assert opening(GB_MOBILE, DAYTIME, "2026-03-29T05:00:00+00:00") == Opening(
        ms("2026-03-29T07:00:00+00:00"), ms("2026-03-29T20:00:00+00:00")
    )
    assert opening(GB_MOBILE, DAYTIME, "2026-10-25T05:00:00+00:00") == Opening(
        ms("2026-10-25T08:00:00+00:00"), ms("2026-10-25T21:00:00+00:00")
    )


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps_past_it() -> None:
    # Given 02:30-08:00 in New York on the night 02:00-03:00 does not happen
    # When it is asked at 00:30
    # Then it opens at the jump, 03:00 EDT: from then on the clock shows a time within the window
    assert opening(NEW_YORK, parse_calling_hours("02:30-08:00"), "2026-03-08T00:30:00-05:00") == Opening(
        ms("2026-03-08T03:00:00-04:00"), ms("2026-03-08T08:00:00-04:00")
    )


def test_a_window_starting_in_the_repeated_hour_closes_while_the_clock_is_back_before_it() -> None:
    # Given 01:30-08:00 in New York on the night 01:00-02:00 happens twice
    hours = parse_calling_hours("01:30-08:00")
    # When it is asked at 00:30 EDT
    # Then it opens at the first 01:30, and closes when the clock falls back to 01:00
    assert opening(NEW_YORK, hours, "2026-11-01T00:30:00-04:00") == Opening(
        ms("2026-11-01T01:30:00-04:00"), ms("2026-11-01T01:00:00-05:00")
    )
    # And it opens again at the second 01:30
    assert opening(NEW_YORK, hours, "2026-11-01T01:10:00-05:00") == Opening(
        ms("2026-11-01T01:30:00-05:00"), ms("2026-11-01T08:00:00-05:00")
    )


def test_a_late_evening_request_waits_until_the_next_morning() -> None:
    # Given a Paris number at 21:30 local on Friday 2026-01-16
    # When the next opening is asked
    # Then it is 08:00 on Saturday: there are no weekday rules, a window holds every day of the week
    assert opening(FR_MOBILE, DAYTIME, "2026-01-16T21:30:00+01:00") == Opening(
        ms("2026-01-17T08:00:00+01:00"), ms("2026-01-17T21:00:00+01:00")
    )


def test_a_window_may_cross_midnight() -> None:
    # Given 22:00-06:00 for a Paris number
    # When it is asked at 23:00 and at 03:00 local
    # Then the call may go ahead
    assert opening(FR_MOBILE, NIGHT_SHIFT, "2026-01-15T23:00:00+01:00") is None
    assert opening(FR_MOBILE, NIGHT_SHIFT, "2026-01-16T03:00:00+01:00") is None
    # And at noon it waits for 22:00, until 06:00 the next day
    assert opening(FR_MOBILE, NIGHT_SHIFT, "2026-01-15T12:00:00+01:00") == Opening(
        ms("2026-01-15T22:00:00+01:00"), ms("2026-01-16T06:00:00+01:00")
    )


def test_an_area_code_across_two_zones_must_be_open_in_both() -> None:
    # Given a 986 number, which may be in Boise (Mountain) or Idaho's panhandle (Pacific)
    assert zones(IDAHO) == ("America/Boise", "America/Los_Angeles")
    # When it is asked at 07:30 Pacific (08:30 in Boise)
    # Then it waits for 08:00 Pacific, and the window ends at 21:00 in Boise (20:00 Pacific)
    assert opening(IDAHO, DAYTIME, "2026-01-15T07:30:00-08:00") == Opening(
        ms("2026-01-15T08:00:00-08:00"), ms("2026-01-15T21:00:00-07:00")
    )


def test_a_number_in_many_mexican_zones_is_called_when_all_are_awake() -> None:
    # Given a Mexican toll-free number: eight zones from Tijuana (UTC-8) to Cancun, and New York
    assert {"America/Tijuana", "America/Cancun", "America/Mexico_City", "America/New_York"} <= set(
        zones(MEXICO_TOLL_FREE)
    )
    # When it is asked in the morning in January
    # Then the window runs from 08:00 in Tijuana to 21:00 in Cancun and New York: 16:00 to 02:00 UTC
    assert opening(MEXICO_TOLL_FREE, DAYTIME, "2026-01-15T12:00:00+00:00") == Opening(
        ms("2026-01-15T16:00:00+00:00"), ms("2026-01-16T02:00:00+00:00")
    )


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        # January: Lord Howe is on daylight time, UTC+11, and closes first
        ("2026-01-15T12:00:00+00:00", "2026-01-16T01:30:00+00:00", "2026-01-16T10:00:00+00:00"),
        # July: Lord Howe is on UTC+10:30
        ("2026-07-15T12:00:00+00:00", "2026-07-16T01:30:00+00:00", "2026-07-16T10:30:00+00:00"),
    ],
)
def test_an_australian_mobile_has_a_narrower_common_window(now: str, start: str, end: str) -> None:
    # Given an Australian mobile, which may be anywhere from Cocos (UTC+6:30) to Lord Howe
    assert {"Indian/Cocos", "Australia/Perth", "Australia/Sydney", "Australia/Lord_Howe"} <= set(zones(AU_MOBILE))
    # When it is asked at noon UTC
    found = opening(AU_MOBILE, DAYTIME, now)
    # Then the window opens at 08:00 in Cocos and closes at 21:00 on Lord Howe
    assert found is not None
    assert found == Opening(ms(start), ms(end))
    # And it holds from its first millisecond to its last, and not at its end
    assert next_opening(DAYTIME, zones(AU_MOBILE), found.start_ms) is None
    assert next_opening(DAYTIME, zones(AU_MOBILE), found.end_ms - 1) is None
    assert next_opening(DAYTIME, zones(AU_MOBILE), found.end_ms) is not None


def test_a_us_toll_free_number_spans_guam_to_newfoundland_but_shares_an_evening() -> None:
    # Given a US 800 number, which may be in any NANP zone, Guam (UTC+10) to St John's (UTC-3:30)
    assert {"Pacific/Guam", "Pacific/Honolulu", "America/St_Johns"} <= set(zones(US_TOLL_FREE))
    # When 08:00-21:00 is asked in January
    # Then it holds from 08:00 in Guam (the next day there) to 21:00 in St John's: 22:00 to 00:30 UTC
    assert opening(US_TOLL_FREE, DAYTIME, "2026-01-15T12:00:00+00:00") == Opening(
        ms("2026-01-15T22:00:00+00:00"), ms("2026-01-16T00:30:00+00:00")
    )


@pytest.mark.parametrize("number", [US_TOLL_FREE, RU_MOBILE])
def test_zones_too_far_apart_share_no_office_hours(number: str) -> None:
    # Given a number whose zones are more than 8 hours apart (10 and 10.5 hours: 08:00-21:00 fits, 13 hours)
    # When 09:00-17:00, 8 hours, is asked
    # Then there is no opening, and the refusal does not name the number
    with pytest.raises(NoCallingHoursError) as refused:
        opening(number, OFFICE_HOURS, "2026-01-15T12:00:00+00:00")
    assert "share no time within 09:00-17:00" in str(refused.value)
    assert not re.search(r"\d{5,}", str(refused.value))


def test_a_number_with_no_known_zone_cannot_be_called_within_hours() -> None:
    # Given the fictional +1 555 0100, which libphonenumber places in no zone
    assert zones("+15555550100") == ()
    # When calling hours are asked
    # Then it is refused: its time zone is unknown
    with pytest.raises(NoCallingHoursError, match="time zone is unknown"):
        opening("+15555550100", DAYTIME, "2026-01-15T12:00:00+00:00")


OPENING = Opening(ms("2026-01-16T08:00:00+00:00"), ms("2026-01-16T21:00:00+00:00"))
SPREAD_MS = OPENING_SPREAD_SECONDS * 1000


def test_a_request_arrives_at_the_same_slot_on_every_hop() -> None:
    # Given one request's ClientToken
    # When its arrival is asked twice
    # Then it is the same instant, within the opening's first OPENING_SPREAD_SECONDS
    first = arrival_in(OPENING, "order-1234")
    assert first == arrival_in(OPENING, "order-1234")
    assert OPENING.start_ms <= first < OPENING.start_ms + SPREAD_MS


def test_the_mornings_requests_are_spread_over_the_first_half_hour() -> None:
    # Given 500 requests deferred to the same opening
    arrivals = [arrival_in(OPENING, f"token-{n}") for n in range(500)]
    # When their arrivals are compared
    # Then they all fall in [start, start + spread) and cover it: no thundering herd at the opening
    assert all(OPENING.start_ms <= arrival < OPENING.start_ms + SPREAD_MS for arrival in arrivals)
    assert len(set(arrivals)) > 490
    assert min(arrivals) < OPENING.start_ms + SPREAD_MS // 10
    assert max(arrivals) > OPENING.start_ms + SPREAD_MS * 9 // 10


def test_an_arrival_is_never_after_the_deadline_nor_before_the_opening() -> None:
    # Given requests whose deadline falls a minute into the opening, and one whose deadline is before it
    deadline = OPENING.start_ms + 60_000
    # When their arrivals are asked
    arrivals = [arrival_in(OPENING, f"token-{n}", not_after_ms=deadline) for n in range(100)]
    # Then none arrives later than a second before the deadline
    assert all(OPENING.start_ms <= arrival <= deadline - 1000 for arrival in arrivals)
    # And one whose deadline has passed by the opening still arrives at the opening (to be expired there)
    assert arrival_in(OPENING, "token-1", not_after_ms=OPENING.start_ms - 5000) == OPENING.start_ms


def test_a_short_common_window_is_spread_over_its_first_half() -> None:
    # Given 08:00-09:20 for an Idaho 986 number: 08:00 Pacific is 09:00 in Boise, so the window common to both
    # zones lasts 20 minutes
    short = opening(IDAHO, parse_calling_hours("08:00-09:20"), "2026-01-15T12:00:00+00:00")
    assert short is not None
    assert short == Opening(ms("2026-01-15T08:00:00-08:00"), ms("2026-01-15T08:20:00-08:00"))
    # When the morning's requests are spread over it
    arrivals = [arrival_in(short, f"token-{n}") for n in range(200)]
    # Then they all arrive within its first 10 minutes, leaving the rest of it to place the calls
    assert all(short.start_ms <= arrival < short.start_ms + 10 * 60_000 for arrival in arrivals)
    assert max(arrivals) > short.start_ms + 9 * 60_000
