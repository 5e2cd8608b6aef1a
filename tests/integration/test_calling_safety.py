"""Calling safety through the handler: refused destinations never reach Connect, early requests wait for their
time without spending a receive, late ones expire, and no number is called more often than its limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from outbound_caller.connect.pacing import Pacer
from outbound_caller.safety.call_guard import CallLimitGuard
from outbound_caller.safety.calling_hours import OPENING_SPREAD_SECONDS
from outbound_caller.settling.deferral import SQS_MAX_DELAY_SECONDS
from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.clock import FakeClock
from tests.support.connect_stub import ConnectStub
from tests.support.lambda_events import sqs_record

# A New York number (one zone), a London premium-rate one, a Paris one, and one in no zone (fictional +1 555).
NEW_YORK = "+12025550143"
PREMIUM_RATE = "+449098790123"
PARIS = "+33123456789"
NO_ZONE = "+15555550123"
# Monday 23 November 2026, 03:00 UTC: 22:00 on Sunday in New York (EST, UTC-5), outside 08:00-21:00.
NIGHT_IN_NEW_YORK = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
# 08:00 EST that Monday: the next opening.
MORNING_IN_NEW_YORK = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
CALLS_TABLE = "outbound-calls-per-destination"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso_ms(text: str) -> int:
    return _ms(datetime.fromisoformat(text))


@pytest.fixture
def at(function: FunctionUnderTest) -> Callable[[datetime], None]:
    """Set the function's wall clock (its journey's, its ledger's and the shared instance state's) to an instant."""

    def _set(moment: datetime) -> None:
        function.rebuild(clock=moment.timestamp)

    return _set


@pytest.fixture
def configure(function: FunctionUnderTest) -> Callable[..., None]:
    """Run the function with some environment variables changed, validated as at start."""

    def _configure(**variables: str) -> None:
        function.configure(**variables)

    return _configure


@pytest.fixture
def call_limit(function: FunctionUnderTest) -> Callable[[str], CallLimitGuard]:
    """Count calls per destination in a table of their own (moto), as the stack does when a limit is set."""
    boto3.client("dynamodb").create_table(
        TableName=CALLS_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def _limit(text: str) -> CallLimitGuard:
        caller = function.configure(DESTINATION_CALL_LIMIT=text, DESTINATION_CALLS_TABLE_NAME=CALLS_TABLE)
        assert isinstance(caller.once.guard, CallLimitGuard)
        return caller.once.guard

    return _limit


def request(number: str = NEW_YORK, **fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": number, **fields})


def arriving(body: str, message_id: str, moment: datetime, **attributes: str) -> dict[str, Any]:
    """A record first sent to the queue at ``moment``."""
    record = sqs_record(body, message_id=message_id, attributes=attributes or None)
    record["attributes"]["SentTimestamp"] = str(_ms(moment))
    return record


def test_a_premium_rate_number_is_dead_lettered_before_connect_is_called(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given the default policy (premium-rate and shared-cost numbers blocked), and a request for a UK 09 number
    # When the handler runs
    response = invoke(sqs_record(request(PREMIUM_RATE), message_id="premium"))
    # Then Connect is never called, and the request is dead-lettered with the policy's reason, naming no number
    assert connect.requests == []
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "DestinationNotAllowedByPolicy"
    assert "PREMIUM_RATE" in letter["ErrorMessage"]
    assert "9098790123" not in letter["ErrorMessage"]
    assert json.loads(letter["body"])["DestinationPhoneNumber"] == PREMIUM_RATE  # the body, unchanged


def test_a_country_outside_the_allow_list_is_dead_lettered(
    invoke: Any, connect: ConnectStub, dead_letters: Any, configure: Any
) -> None:
    # Given calls allowed to the US and Canada only
    configure(ALLOWED_DESTINATION_COUNTRIES="US,CA")
    # When requests for Paris and New York arrive
    invoke(sqs_record(request(PARIS), message_id="paris"), sqs_record(request(NEW_YORK), message_id="ny"))
    # Then New York is called and Paris refused by policy
    assert [call["DestinationPhoneNumber"] for call in connect.requests] == [NEW_YORK]
    [letter] = dead_letters()
    assert (letter["SourceMessageId"], letter["ErrorCode"]) == ("paris", "DestinationNotAllowedByPolicy")
    assert "FR" in letter["ErrorMessage"]


def test_outside_calling_hours_a_request_is_deferred_to_a_slot_of_the_next_opening(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, configure: Any, at: Any, log_lines: Any
) -> None:
    # Given calling hours of 08:00-21:00, and a New York request at 22:00 New York time
    configure(CALLING_HOURS="08:00-21:00")
    at(NIGHT_IN_NEW_YORK)
    # When the handler runs
    response = invoke(arriving(request(ClientToken="reminder-1"), "night", NIGHT_IN_NEW_YORK))
    # Then no one is called, nothing is retried or dead-lettered, and it goes back to the queue for the morning
    assert connect.requests == []
    assert failed_ids(response) == set()
    assert dead_letters() == []
    [copy] = deferred()
    assert copy["DeferralReason"] == "OutsideCallingHours"
    # at a slot of the opening's first half hour (spread by its token), hopping every 15 minutes until then
    due = _iso_ms(copy["DeferredUntil"])
    assert _ms(MORNING_IN_NEW_YORK) <= due < _ms(MORNING_IN_NEW_YORK) + OPENING_SPREAD_SECONDS * 1000
    assert copy["DelaySeconds"] == SQS_MAX_DELAY_SECONDS
    assert json.loads(copy["body"])["ClientToken"] == "reminder-1"  # its own token, in the unchanged body
    # And the log names when it is due, which the first hop's delay_seconds cannot
    [logged] = [line for line in log_lines() if line.get("outcome") == "deferred"]
    assert (logged["delay_seconds"], logged["deferred_until"]) == (SQS_MAX_DELAY_SECONDS, copy["DeferredUntil"])


def test_a_deferral_across_midnight_hops_without_calling_then_is_placed_in_the_morning(
    invoke: Any, connect: ConnectStub, deferred: Any, configure: Any, at: Any
) -> None:
    # Given a request deferred at night to the morning's opening
    configure(CALLING_HOURS="08:00-21:00")
    at(NIGHT_IN_NEW_YORK)
    invoke(arriving(request(), "evening-order", NIGHT_IN_NEW_YORK))
    [first] = deferred()
    # When it comes back after 15 minutes, past midnight UTC and still night in New York
    at(NIGHT_IN_NEW_YORK + timedelta(minutes=15))
    invoke(came_back(first, "hop-1"))
    # Then it hops on, to the same instant, with no Connect call and the same first arrival
    [hop] = [copy for copy in deferred() if copy != first]
    assert connect.requests == []
    assert hop["DeferredUntil"] == first["DeferredUntil"]
    assert hop["FirstArrivalTime"] == first["FirstArrivalTime"]
    assert hop["DeferralCount"] == "2"
    # And when it arrives at its slot in the morning, it is placed with the token of the message that first brought it
    at(datetime.fromisoformat(hop["DeferredUntil"]))
    response = invoke(came_back(hop, "morning"))
    assert failed_ids(response) == set()
    assert connect.calls_per_token() == {"evening-order": 1}


def test_a_request_is_not_placed_before_its_not_before(
    invoke: Any, connect: ConnectStub, deferred: Any, at: Any
) -> None:
    # Given a request that may not be placed for another two hours
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    not_before = now + timedelta(hours=2)
    at(now)
    invoke(arriving(request(NotBefore=not_before.isoformat()), "scheduled", now))
    # Then it is deferred until exactly then, with no call
    [copy] = deferred()
    assert connect.requests == []
    assert (copy["DeferralReason"], _iso_ms(copy["DeferredUntil"])) == ("NotBefore", _ms(not_before))
    # And when it arrives then, it is placed
    at(not_before)
    invoke(came_back(copy, "scheduled-copy"))
    assert connect.calls_per_token() == {"scheduled": 1}


def test_a_request_that_expires_before_the_next_opening_is_dead_lettered_at_once(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, configure: Any, at: Any
) -> None:
    # Given calling hours, and at night a request that expires before the morning
    configure(CALLING_HOURS="08:00-21:00")
    at(NIGHT_IN_NEW_YORK)
    expires = MORNING_IN_NEW_YORK - timedelta(hours=1)
    # When the handler runs
    invoke(arriving(request(ExpiresAt=expires.isoformat()), "too-late", NIGHT_IN_NEW_YORK))
    # Then it can never be placed: dead-lettered as Expired now, not deferred for nothing
    assert connect.requests == []
    assert deferred() == []
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "Expired"
    assert "OutsideCallingHours" in letter["ErrorMessage"]


def test_a_request_whose_bound_comes_before_the_next_opening_is_dead_lettered_at_once(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, configure: Any, at: Any
) -> None:
    # Given a request deferred at night to the morning, with MAX_DEFERRAL_SECONDS shorter than the night
    configure(CALLING_HOURS="08:00-21:00", MAX_DEFERRAL_SECONDS="3600")
    at(NIGHT_IN_NEW_YORK)
    invoke(arriving(request(), "bounded", NIGHT_IN_NEW_YORK))
    # Then it is dead-lettered as Expired at once: its next opening is past its bound
    assert deferred() == []
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["Expired"]
    assert connect.requests == []


def test_a_number_with_no_known_time_zone_is_refused_when_calling_hours_are_set(
    invoke: Any, connect: ConnectStub, dead_letters: Any, configure: Any
) -> None:
    # Given calling hours, and a number libphonenumber places in no zone
    configure(CALLING_HOURS="08:00-21:00")
    # When the handler runs
    invoke(sqs_record(request(NO_ZONE), message_id="nowhere"))
    # Then its hours cannot be kept: dead-lettered by policy, never called
    assert connect.requests == []
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "DestinationNotAllowedByPolicy"
    assert "time zone is unknown" in letter["ErrorMessage"]


def test_calls_beyond_a_numbers_limit_are_dead_lettered_and_a_replay_does_not_count(
    invoke: Any, connect: ConnectStub, dead_letters: Any, call_limit: Any
) -> None:
    # Given at most one call per number a day, and a first request placed
    call_limit("1/24h")
    invoke(sqs_record(request(ClientToken="first"), message_id="m-1"))
    # When the same request is delivered again, and then another request for the same number arrives
    replay = invoke(sqs_record(request(ClientToken="first"), message_id="m-2"))
    invoke(sqs_record(request(ClientToken="second"), message_id="m-3"))
    # Then the replay is answered with the first call (not counted twice), and the second call is refused
    assert failed_ids(replay) == set()
    assert connect.calls_per_token() == {"first": 1}
    [letter] = dead_letters()
    assert (letter["SourceMessageId"], letter["ErrorCode"]) == ("m-3", "DestinationCallLimit")
    assert "allows 1" in letter["ErrorMessage"]


def test_a_call_the_full_instance_deferred_does_not_use_up_the_numbers_allowance(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, call_limit: Any, at: Any
) -> None:
    # Given one call per number a day, and a request deferred because the instance was full
    call_limit("1/24h")
    connect.max_live_calls = 0
    invoke(sqs_record(request(ClientToken="deferred"), message_id="full"))
    assert [copy["DeferralReason"] for copy in deferred()] == ["InstanceAtCapacity"]
    # When, after the hold, another request for the same number is placed
    connect.max_live_calls = 10
    at(datetime.now(UTC) + timedelta(seconds=10))
    invoke(sqs_record(request(ClientToken="other"), message_id="free"))
    # Then it is placed: the deferred call was uncounted, since Connect surely did not create it
    assert connect.calls_per_token() == {"other": 1}
    assert dead_letters() == []


def test_while_the_count_cannot_be_kept_no_call_is_placed_and_the_record_is_retried(
    invoke: Any, connect: ConnectStub, dead_letters: Any, call_limit: Any
) -> None:
    # Given a call limit whose table cannot be reached
    limiter = call_limit("3/24h")

    def unreachable(request: Any, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    limiter.counter.client.meta.events.register_first("before-send.dynamodb.GetItem", unreachable)
    # When a request arrives
    response = invoke(sqs_record(request(), message_id="uncounted"))
    # Then no call is placed, and SQS is asked to deliver it again
    assert connect.requests == []
    assert failed_ids(response) == {"uncounted"}
    assert dead_letters() == []


def test_a_request_that_expires_during_its_deferral_is_dead_lettered_when_it_comes_back(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, configure: Any, at: Any
) -> None:
    # Given at night a request deferred to the morning, expiring ten minutes after the opening
    configure(CALLING_HOURS="08:00-21:00")
    at(NIGHT_IN_NEW_YORK)
    expires = MORNING_IN_NEW_YORK + timedelta(minutes=10)
    invoke(arriving(request(ExpiresAt=expires.isoformat()), "expiring", NIGHT_IN_NEW_YORK))
    [copy] = deferred()
    assert _iso_ms(copy["DeferredUntil"]) < _ms(expires)  # its slot is kept before its expiry
    # When a hop of it arrives late (the queue was backed up), after its ExpiresAt
    at(expires + timedelta(minutes=5))
    invoke(came_back(copy, "expiring-late"))
    # Then it is dead-lettered as Expired, never dialled
    assert connect.requests == []
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["Expired"]


def test_a_request_scheduled_days_ahead_hops_for_days_without_a_call_then_is_placed(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any, at: Any
) -> None:
    # Given a request not to be placed for two days, valid for four
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    not_before = now + timedelta(days=2)
    body = request(NotBefore=not_before.isoformat(), ExpiresAt=(now + timedelta(days=4)).isoformat())
    at(now)
    invoke(arriving(body, "in-two-days", now))
    [copy] = deferred()
    # When a hop arrives a day later
    at(now + timedelta(days=1))
    invoke(came_back(copy, "next-day"))
    [hop] = [message for message in deferred() if message != copy]
    # Then it hops on for at most SQS's 15 minutes, with no call, still due at its NotBefore
    assert connect.requests == []
    assert hop["DelaySeconds"] == SQS_MAX_DELAY_SECONDS
    assert (hop["DeferralReason"], _iso_ms(hop["DeferredUntil"])) == ("NotBefore", _ms(not_before))
    # And at its NotBefore it is placed, nothing dead-lettered on the way
    at(not_before)
    invoke(came_back(hop, "on-the-day"))
    assert connect.calls_per_token() == {"in-two-days": 1}
    assert dead_letters() == []


# 20:59:58 in New York (EST), two seconds before 08:00-21:00 closes.
TWO_SECONDS_BEFORE_CLOSING = datetime(2026, 11, 24, 1, 59, 58, tzinfo=UTC)


@pytest.fixture
def slow_pacer(function: FunctionUnderTest) -> FakeClock:
    """A pacer of one call per 5 s (0.2/s), on a clock that is also the function's wall clock."""
    fake = FakeClock(start=TWO_SECONDS_BEFORE_CLOSING.timestamp())
    function.rebuild(pacer=Pacer(0.2, clock=fake, sleep=fake.sleep), clock=fake)
    return fake


def test_a_request_that_expires_while_it_waits_for_its_turn_is_not_dialled(
    invoke: Any, connect: ConnectStub, dead_letters: Any, slow_pacer: FakeClock
) -> None:
    # Given a slow pace, and behind a first request one that expires a second from now
    expires = datetime.fromtimestamp(slow_pacer.now + 1, UTC)
    first = arriving(request(), "first", TWO_SECONDS_BEFORE_CLOSING)
    second = arriving(request("+12025550144", ExpiresAt=expires.isoformat()), "second", TWO_SECONDS_BEFORE_CLOSING)
    # When the batch runs: the second's turn comes five seconds later
    invoke(first, second)
    # Then the second is not dialled: it expired while it waited
    assert [call["DestinationPhoneNumber"] for call in connect.requests] == [NEW_YORK]
    assert [(letter["SourceMessageId"], letter["ErrorCode"]) for letter in dead_letters()] == [("second", "Expired")]


def test_a_request_whose_turn_comes_after_the_calling_hours_close_is_deferred(
    invoke: Any, connect: ConnectStub, deferred: Any, configure: Any, slow_pacer: FakeClock
) -> None:
    # Given calling hours closing in two seconds, a slow pace, and two New York requests
    configure(CALLING_HOURS="08:00-21:00")
    first = arriving(request(), "first", TWO_SECONDS_BEFORE_CLOSING)
    second = arriving(request("+12025550144"), "second", TWO_SECONDS_BEFORE_CLOSING)
    # When the batch runs: the second's turn comes at 21:00:03
    invoke(first, second)
    # Then only the first is dialled; the second waits for the morning
    assert [call["DestinationPhoneNumber"] for call in connect.requests] == [NEW_YORK]
    assert [(copy["SourceMessageId"], copy["DeferralReason"]) for copy in deferred()] == [
        ("second", "OutsideCallingHours")
    ]
