"""Redial, as the caller runs it: each attempt its own call with its own token, the request waiting in the source
queue between attempts, every rule applied again, and no attempt made while the last one's outcome is unknown.

The completion's part (recording each attempt's outcome in the placed-calls ledger) is played here by CallEnds, the
completion's own writer of it (tests/integration/completion/test_outcomes.py shows the completion calling it).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Any

import pytest

from outbound_caller.connect.call_ends import CallEnds
from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import SOURCE_QUEUE_URL
from tests.support.lambda_events import sqs_record

NUMBER = "+14155550123"
TOKEN = "order-7"
SECOND = f"{TOKEN}#attempt-2"
INTERVAL_S = 600
REDIAL = {"REDIAL_ON": "NoAnswer,Busy", "REDIAL_MAX_ATTEMPTS": "3", "REDIAL_INTERVAL_SECONDS": str(INTERVAL_S)}


class MovableClock:
    """The function's wall clock, which a test moves forward (minutes pass between a request's visits)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def ms(self) -> int:
        return int(self() * 1000)


@pytest.fixture
def sent_back(deferred: Any) -> Any:
    """Take what the function sent back to the source queue since the last look (SQS hands each message to one
    invocation, which then deletes it: the queue is emptied as Lambda's event source would)."""

    def _take() -> list[dict[str, Any]]:
        from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
        from moto.sqs.models import sqs_backends

        messages: list[dict[str, Any]] = deferred()
        # Straight from moto's backend, as deferred() reads it: SQS allows one purge a minute.
        sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[SOURCE_QUEUE_URL.rsplit("/", 1)[-1]]._messages.clear()
        return messages

    return _take


@pytest.fixture
def clock(function: FunctionUnderTest) -> MovableClock:
    moving = MovableClock()
    function.rebuild(clock=moving)
    function.configure(**REDIAL)
    return moving


def request(**members: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, "ClientToken": TOKEN, **members})


def completed(ledger: Any, token: str, outcome: str, *, ended_ms: int, known_ms: int) -> None:
    """What the completion does when Connect reports the attempt's contact ended: record its outcome, once."""
    ends = CallEnds(ledger.table_name, ledger.client)
    ends.record_outcome(hashlib.sha256(token.encode()).hexdigest(), outcome, ended_ms, known_ms)


def until_ms(message: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(message["DeferredUntil"]).timestamp() * 1000)


def test_an_unanswered_call_is_tried_again_an_interval_after_it_ended_with_a_token_of_its_own(
    function: FunctionUnderTest, clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, ledger: Any
) -> None:
    # Given a deployment that redials NoAnswer and Busy up to 3 attempts, 10 minutes apart
    placed_ms = clock.ms()
    # When a request is placed, then sent back to look for its attempt's outcome when a next attempt could first come
    invoke(sqs_record(request(), message_id="first"))
    assert connect.calls_per_token() == {TOKEN: 1}
    [waiting] = sent_back()
    # (attempt 1 is the one a message names by carrying no Attempt)
    assert (waiting["DeferralReason"], waiting.get("Attempt"), waiting["DelaySeconds"]) == ("Redial", None, INTERVAL_S)
    # And the call went unanswered, ending a minute after it was placed
    connect.hang_up_all()
    completed(ledger, TOKEN, "NoAnswer", ended_ms=placed_ms + 60_000, known_ms=placed_ms + 65_000)
    # When the request comes back
    clock.offset = INTERVAL_S
    invoke(came_back(waiting, "look"))
    # Then it waits for attempt 2, an interval after the call ended; nothing is dialled yet
    [next_attempt] = sent_back()
    assert (next_attempt["DeferralReason"], next_attempt["Attempt"]) == ("Redial", "2")
    assert until_ms(next_attempt) == placed_ms + 60_000 + INTERVAL_S * 1000
    assert connect.calls_per_token() == {TOKEN: 1}
    # When it comes back then, attempt 2 is its own call, with its own token derived from the request's
    clock.offset = INTERVAL_S + 60
    invoke(came_back(next_attempt, "second"))
    assert connect.calls_per_token() == {TOKEN: 1, SECOND: 1}
    [awaiting_second] = sent_back()
    assert awaiting_second["Attempt"] == "2"
    # And once attempt 2 is answered, the request ends: nothing more is sent back, nobody is rung again
    connect.hang_up_all()
    completed(ledger, SECOND, "Answered", ended_ms=clock.ms() + 90_000, known_ms=clock.ms() + 95_000)
    clock.offset += INTERVAL_S
    response = invoke(came_back(awaiting_second, "done"))
    assert failed_ids(response) == set()
    assert sent_back() == []
    assert connect.calls_per_token() == {TOKEN: 1, SECOND: 1}


def test_a_request_whose_outcome_never_becomes_known_is_never_rung_again(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, dead_letters: Any, log_lines: Any
) -> None:
    # Given a placed call whose completion never arrives (the contact event was lost)
    invoke(sqs_record(request(), message_id="first"))
    message = sent_back()[0]
    # When the request keeps coming back to look for the outcome until REDIAL_OUTCOME_WAIT_SECONDS (an hour) is over
    clock.offset = INTERVAL_S
    for look in range(20):
        invoke(came_back(message, f"look-{look}"))
        waiting = sent_back()
        if not waiting:
            break
        [message] = waiting
        assert (message["DeferralReason"], message.get("Attempt")) == ("Redial", None)
        clock.offset = (until_ms(message) - clock.ms()) / 1000 + clock.offset
    # Then it ends there, fail closed: one call, nothing dead-lettered for an operator, the reason logged
    assert connect.calls_per_token() == {TOKEN: 1}
    assert dead_letters() == []
    ended = [line for line in log_lines() if line.get("message") == "Call request ended: no further attempt"]
    assert "REDIAL_OUTCOME_WAIT_SECONDS" in ended[-1]["reason"]
    # It stopped looking once the wait (an hour from the placing) was over, not before
    assert 3_600 - 1 <= clock.offset <= 3_600 + 300


def test_an_outcome_the_policy_does_not_name_ends_the_request_after_one_call(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, ledger: Any
) -> None:
    placed_ms = clock.ms()
    invoke(sqs_record(request(), message_id="first"))
    completed(ledger, TOKEN, "Voicemail", ended_ms=placed_ms + 40_000, known_ms=placed_ms + 45_000)
    clock.offset = INTERVAL_S
    invoke(came_back(sent_back()[0], "look"))
    assert sent_back() == []
    assert connect.calls_per_token() == {TOKEN: 1}


def test_a_request_may_narrow_the_policy_and_turn_redial_off(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any
) -> None:
    # Given a request asking for one attempt only
    invoke(sqs_record(request(Redial={"MaxAttempts": 1}), message_id="once"))
    # Then it is placed and ends there: not sent back to look for its outcome
    assert connect.calls_per_token() == {TOKEN: 1}
    assert sent_back() == []


@pytest.mark.parametrize(
    ("redial", "named"),
    [
        ({"MaxAttempts": 4}, "MaxAttempts"),
        ({"IntervalSeconds": 60}, "IntervalSeconds"),
        ({"On": ["NoAnswer", "Voicemail"]}, "Voicemail"),
        ({"On": ["Answered"]}, "Redial.On"),
    ],
)
def test_a_request_asking_for_more_than_the_policy_allows_is_refused_naming_what(
    clock: MovableClock, invoke: Any, connect: ConnectStub, dead_letters: Any, redial: dict[str, Any], named: str
) -> None:
    invoke(sqs_record(request(Redial=redial), message_id="wider"))
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "ValidationError"
    assert named in letter["ErrorMessage"]
    assert connect.calls_per_token() == {}


def test_a_request_that_expires_before_its_next_attempt_could_come_is_placed_once_and_ends(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, dead_letters: Any
) -> None:
    # Given a request that expires in five minutes, less than the interval
    expires = datetime.fromtimestamp(clock() + 300).astimezone().isoformat()
    invoke(sqs_record(request(ExpiresAt=expires), message_id="soon"))
    # Then it is placed, and nothing waits for a second attempt that could never be made
    assert connect.calls_per_token() == {TOKEN: 1}
    assert sent_back() == []
    assert dead_letters() == []


def test_the_next_attempt_outside_calling_hours_waits_for_them_and_stays_the_same_attempt(
    function: FunctionUnderTest, clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, ledger: Any
) -> None:
    # Given a request whose first attempt went unanswered, its next attempt due
    placed_ms = clock.ms()
    invoke(sqs_record(request(), message_id="first"))
    completed(ledger, TOKEN, "Busy", ended_ms=placed_ms + 20_000, known_ms=placed_ms + 25_000)
    clock.offset = INTERVAL_S
    invoke(came_back(sent_back()[0], "look"))
    [next_attempt] = sent_back()
    # When calling hours have closed by the time it comes back (a one-hour window, now behind us)
    clock.offset = INTERVAL_S + 60
    closed_hour = (datetime.fromtimestamp(clock()).astimezone().hour + 2) % 24
    function.configure(**REDIAL, CALLING_HOURS=f"{closed_hour:02d}:00-{closed_hour:02d}:59")
    invoke(came_back(next_attempt, "second"))
    # Then it waits for the window, still as attempt 2: hours, holidays and limits bind every attempt
    [waiting] = sent_back()
    assert (waiting["DeferralReason"], waiting["Attempt"]) == ("OutsideCallingHours", "2")
    assert connect.calls_per_token() == {TOKEN: 1}


@pytest.mark.usefixtures("no_backoff")
def test_an_operators_redrive_of_a_second_attempts_unknown_outcome_dials_that_attempt_once(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, dead_letters: Any, ledger: Any
) -> None:
    # Given attempt 2 of a request, whose answer from Connect was lost after the contact was created
    placed_ms = clock.ms()
    invoke(sqs_record(request(), message_id="first"))
    completed(ledger, TOKEN, "NoAnswer", ended_ms=placed_ms + 20_000, known_ms=placed_ms + 25_000)
    clock.offset = INTERVAL_S
    invoke(came_back(sent_back()[0], "look"))
    clock.offset = INTERVAL_S + 60
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(came_back(sent_back()[0], "second"))
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["Attempt"]) == ("OutcomeUnknown", "2")
    connect.hang_up_all()
    # When an operator, having checked the customer was not reached, redrives it
    invoke(came_back(letter, "redriven"))
    # Then attempt 2's own token is dialled again, once; attempt 1's never
    assert connect.calls_per_token() == {TOKEN: 1, SECOND: 2}
    assert dead_letters() == []


def test_copies_of_a_waiting_request_collapse_into_one_at_its_next_look(
    clock: MovableClock, invoke: Any, connect: ConnectStub, sent_back: Any, log_lines: Any
) -> None:
    # Given a placed request whose message waiting for the outcome was delivered twice at once (SQS is at least once),
    # so that both deliveries sent it back: two copies of the request now wait, each its own message
    invoke(sqs_record(request(), message_id="first"))
    [waiting] = sent_back()
    clock.offset = INTERVAL_S
    invoke(came_back(waiting, "look"))
    invoke(came_back(waiting, "look"))
    copies = sent_back()
    assert len(copies) == 2
    assert len({copy["DeferralCount"] for copy in copies}) == 1
    # When both copies come back, each its own message
    clock.offset = (until_ms(copies[0]) - clock.ms()) / 1000 + clock.offset
    invoke(came_back(copies[0], "copy-a"))
    invoke(came_back(copies[1], "copy-b"))
    # Then only the first goes on waiting; the other ends there, acknowledged, saying why, and nobody is rung
    assert len(sent_back()) == 1
    assert connect.calls_per_token() == {TOKEN: 1}
    dropped = [line for line in log_lines() if line.get("message") == "Call request ended: no further attempt"]
    assert "another copy" in dropped[-1]["reason"]
    # And a redelivery of the copy that goes on (its invocation died after it went on) goes on again: never lost
    clock.offset += 1
    invoke(came_back(copies[0], "copy-a"))
    assert len(sent_back()) == 1
