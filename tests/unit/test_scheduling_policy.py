"""When a request may be called: its NotBefore, then calling hours, each a binding deferral within its bound."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from outbound_caller.config.calling_hours import parse_calling_hours
from outbound_caller.config.settings import Settings
from outbound_caller.decisions import INSTANCE_AT_CAPACITY, NOT_BEFORE, OUTSIDE_CALLING_HOURS, Deferral
from outbound_caller.request.contract import CallRequest
from outbound_caller.safety.calling_hours import OPENING_SPREAD_SECONDS, NoCallingHoursError
from outbound_caller.safety.destinations import destination_of
from outbound_caller.safety.policy import not_yet
from tests.unit.conftest import request

NEW_YORK = "+12025550143"
# Monday 23 November 2026 (EST, UTC-5).
MONDAY_NOON_NEW_YORK = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
FAR = 10**15  # a deadline that never binds


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def call_request(settings: Settings, **fields: str) -> CallRequest:
    return CallRequest.model_validate_json(
        json.dumps(request(DestinationPhoneNumber=NEW_YORK, **fields)), context=settings
    )


def with_hours(settings: Settings, hours: str | None) -> Settings:
    return settings.model_copy(update={"calling_hours": parse_calling_hours(hours) if hours else None})


def decide(settings: Settings, call: CallRequest, now: datetime, deadline_ms: int = FAR) -> Deferral | None:
    return not_yet(
        call, destination_of(call.DestinationPhoneNumber), "token-1", settings, now_ms=ms(now), deadline_ms=deadline_ms
    )


def test_not_before_is_iso_text_with_an_offset_and_never_sent_to_connect(settings: Settings) -> None:
    # Given a request with a NotBefore
    call = call_request(settings, NotBefore="2026-11-23T09:00:00-05:00")
    # When it is read and turned into the API call
    # Then it is an aware time, and Connect never sees it
    assert call.NotBefore == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert "NotBefore" not in call.to_api_params(settings, "token-1")


@pytest.mark.parametrize("value", ["2026-11-23T09:00:00", 1795000000, "tomorrow"])
def test_a_not_before_without_an_offset_or_as_a_number_is_refused(settings: Settings, value: object) -> None:
    # Given a NotBefore that is not ISO-8601 text with an offset
    # When the request is validated
    # Then it is refused, naming the member
    with pytest.raises(ValidationError, match="NotBefore"):
        CallRequest.model_validate_json(json.dumps(request(NotBefore=value)), context=settings)


def test_not_before_at_or_after_expires_at_is_refused(settings: Settings) -> None:
    # Given a request that may be placed only after it expires
    # When it is validated
    # Then it is refused: it could never be placed
    with pytest.raises(ValidationError, match="NotBefore must be before ExpiresAt"):
        call_request(settings, NotBefore="2026-11-23T10:00:00Z", ExpiresAt="2026-11-23T10:00:00Z")


def test_a_request_without_schedule_or_hours_goes_ahead(settings: Settings) -> None:
    # Given no calling hours and no NotBefore
    # When it is decided
    # Then it is not deferred
    assert decide(with_hours(settings, None), call_request(settings), MONDAY_NOON_NEW_YORK) is None


def test_a_passed_not_before_goes_ahead_and_a_future_one_is_a_binding_deferral_to_it(settings: Settings) -> None:
    # Given requests whose NotBefore is a millisecond ago, and an hour ahead
    past = call_request(settings, NotBefore=(MONDAY_NOON_NEW_YORK - timedelta(milliseconds=1)).isoformat())
    future = call_request(settings, NotBefore=(MONDAY_NOON_NEW_YORK + timedelta(hours=1)).isoformat())
    # When they are decided
    # Then the first goes ahead, the second waits until exactly then, and may not be tried before
    assert decide(settings, past, MONDAY_NOON_NEW_YORK) is None
    waiting = decide(settings, future, MONDAY_NOON_NEW_YORK)
    assert waiting == Deferral(NOT_BEFORE, ms(MONDAY_NOON_NEW_YORK + timedelta(hours=1)))
    assert waiting.binding


def test_a_not_before_that_falls_outside_calling_hours_waits_for_the_opening_after_it(settings: Settings) -> None:
    # Given calling hours of 08:00-21:00, and at noon a request not to be placed before 22:00 New York time
    hours = with_hours(settings, "08:00-21:00")
    call = call_request(settings, NotBefore="2026-11-23T22:00:00-05:00")
    # When it is decided
    waiting = decide(hours, call, MONDAY_NOON_NEW_YORK)
    # Then it waits for Tuesday's opening (08:00 EST = 13:00 UTC), at its slot of the first half hour
    assert waiting is not None
    assert waiting.reason == OUTSIDE_CALLING_HOURS
    opening = ms(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))
    assert opening <= waiting.until_ms < opening + OPENING_SPREAD_SECONDS * 1000


def test_the_slot_is_kept_before_the_requests_deadline(settings: Settings) -> None:
    # Given a request at night whose bound falls five minutes into the morning's opening
    hours = with_hours(settings, "08:00-21:00")
    opening = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    deadline = ms(opening + timedelta(minutes=5))
    # When it is decided
    waiting = decide(hours, call_request(settings), datetime(2026, 11, 24, 3, 0, tzinfo=UTC), deadline)
    # Then its slot is within those five minutes, a second before the bound at the latest
    assert waiting is not None
    assert ms(opening) <= waiting.until_ms <= deadline - 1000


def test_a_number_in_no_zone_cannot_keep_calling_hours(settings: Settings) -> None:
    # Given calling hours, and a number libphonenumber places in no zone
    call = CallRequest.model_validate_json(json.dumps(request(DestinationPhoneNumber="+15555550123")), context=settings)
    # When it is decided
    # Then it is refused (dead-lettered by policy), not deferred
    with pytest.raises(NoCallingHoursError):
        decide(with_hours(settings, "08:00-21:00"), call, MONDAY_NOON_NEW_YORK)


def test_only_schedules_and_calling_hours_are_binding(settings: Settings) -> None:
    # Given a back-pressure deferral and a calling-hours one
    # When asked whether the request may be tried before their time
    # Then back-pressure is a hint (tried once more at its bound), calling hours are not
    assert not Deferral(INSTANCE_AT_CAPACITY, 0).binding
    assert Deferral(OUTSIDE_CALLING_HOURS, 0).binding


def test_a_not_before_past_the_requests_bound_is_deferred_there_to_expire_not_searched_for_hours(
    settings: Settings,
) -> None:
    # Given calling hours, and a request not to be placed before the year 9999 (past any bound)
    call = call_request(settings, NotBefore="9999-12-31T03:00:00Z")
    # When it is decided, with its bound a day away
    waiting = decide(
        with_hours(settings, "08:00-21:00"), call, MONDAY_NOON_NEW_YORK, ms(MONDAY_NOON_NEW_YORK) + 86_400_000
    )
    # Then it is a binding deferral to its NotBefore (which settling dead-letters as Expired), not an error to retry
    assert waiting is not None
    assert (waiting.reason, waiting.binding) == (NOT_BEFORE, True)
