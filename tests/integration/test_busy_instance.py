"""A busy Connect instance through the handler: back-pressure stops the batch, deferral spends no receive and
loses nothing, and a deferred request keeps its token, its first arrival and its bound."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from outbound_caller.connect.back_pressure import INITIAL_HOLD_MS
from outbound_caller.settling.deferral import SQS_MAX_DELAY_SECONDS
from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import SOURCE_QUEUE_URL
from tests.support.lambda_events import signed_sqs_record, sqs_record

NUMBER = "+14155550123"
# Past every hold the first one can be (the initial hold, +25% jitter, and half a hold of spread).
AFTER_THE_FIRST_HOLD_SECONDS = INITIAL_HOLD_MS / 1000 * 2


def body(**fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


@pytest.fixture
def later(function: FunctionUnderTest) -> Any:
    """Move the function's wall clock (its journey's, its ledger's and the shared instance state's) forward."""

    def _move(seconds: float) -> None:
        def clock() -> float:
            return time.time() + seconds

        function.rebuild(clock=clock)

    return _move


def test_a_full_instance_stops_the_batch_and_defers_the_rest_without_calling(
    invoke: Any, connect: ConnectStub, deferred: Any, dead_letters: Any
) -> None:
    # Given an instance with room for two more calls, and a batch of five requests
    connect.max_live_calls = 2
    records = [sqs_record(body(ClientToken=f"order-{i}"), message_id=f"b-{i}") for i in range(5)]
    # When the handler runs
    response = invoke(*records)
    # Then two are placed, the third meets the limit once (no in-call retry), and the last two never reach Connect
    assert [request["ClientToken"] for request in connect.requests] == ["order-0", "order-1", "order-2"]
    assert set(connect.placed) == {"order-0", "order-1"}
    # And the three others come back later as new messages: nothing retried, nothing dead-lettered
    assert failed_ids(response) == set()
    assert dead_letters() == []
    copies = deferred()
    assert sorted(json.loads(copy["body"])["ClientToken"] for copy in copies) == ["order-2", "order-3", "order-4"]
    assert {copy["DeferralReason"] for copy in copies} == {"InstanceAtCapacity"}
    assert all(INITIAL_HOLD_MS / 1000 * 0.75 <= copy["DelaySeconds"] <= AFTER_THE_FIRST_HOLD_SECONDS for copy in copies)
    assert {copy["DeferralCount"] for copy in copies} == {"1"}
    assert sorted(copy["SourceMessageId"] for copy in copies) == ["b-2", "b-3", "b-4"]


def test_during_the_hold_another_batch_is_deferred_without_a_connect_call(
    invoke: Any, connect: ConnectStub, deferred: Any
) -> None:
    # Given an instance found full by one invocation
    connect.max_live_calls = 0
    invoke(sqs_record(body(), message_id="first"))
    connect.max_live_calls = 10
    # When another invocation gets a batch before the hold is over
    invoke(*(sqs_record(body(), message_id=f"next-{i}") for i in range(3)))
    # Then it calls no one, and defers all of it
    assert len(connect.requests) == 1
    assert len(deferred()) == 4


def test_after_the_hold_the_deferred_requests_are_placed_with_their_tokens(
    invoke: Any, connect: ConnectStub, deferred: Any, later: Any
) -> None:
    # Given raw requests (their tokens are their SQS messageIds) deferred by a full instance
    connect.max_live_calls = 0
    invoke(*(sqs_record(body(), message_id=f"raw-{i}") for i in range(3)))
    copies = deferred()
    # When calls have ended and the deferred copies come back after the hold, with new messageIds
    connect.max_live_calls = 10
    later(AFTER_THE_FIRST_HOLD_SECONDS)
    response = invoke(*(came_back(copy, f"copy-{i}") for i, copy in enumerate(copies)))
    # Then each is placed once, with the token of the message that first brought it
    assert failed_ids(response) == set()
    assert connect.calls_per_token() == {"raw-0": 1, "raw-1": 1, "raw-2": 1}


def test_a_deferral_keeps_the_first_arrival_and_counts_itself(
    invoke: Any, connect: ConnectStub, deferred: Any, later: Any
) -> None:
    # Given a request deferred once
    connect.max_live_calls = 0
    invoke(sqs_record(body(), message_id="twice"))
    [first] = deferred()
    # When it comes back after the hold to a still-full instance
    later(AFTER_THE_FIRST_HOLD_SECONDS)
    invoke(came_back(first, "twice-copy"))
    [second] = [copy for copy in deferred() if copy != first]
    # Then its second deferral names the same first arrival and token, and counts two
    assert second["FirstArrivalTime"] == first["FirstArrivalTime"]
    assert (second["ClientToken"], second["DeferralCount"], second["SourceMessageId"]) == ("twice", "2", "twice")


def test_throttling_beyond_in_call_retries_is_deferred_for_a_moment(
    invoke: Any, connect: ConnectStub, deferred: Any, dead_letters: Any
) -> None:
    # Given Connect throttling every request, and a batch of three
    connect.fail_always(ConnectError("ThrottlingException", "Rate exceeded", status=429))
    # When the handler runs (botocore's backoff at work: a few seconds)
    response = invoke(*(sqs_record(body(), message_id=f"t-{i}") for i in range(3)))
    # Then the first is tried three times in the call, the others not at all, and all come back within seconds
    assert len(connect.requests) == 3
    assert failed_ids(response) == set()
    assert dead_letters() == []
    copies = deferred()
    assert [(copy["DeferralReason"], copy["DelaySeconds"] <= 2) for copy in copies] == [("Throttled", True)] * 3


def test_a_crash_between_the_deferral_and_the_acknowledgement_places_one_call(
    invoke: Any, connect: ConnectStub, deferred: Any, later: Any
) -> None:
    # Given a request deferred by a full instance, whose acknowledgement was lost (the invocation died after the
    # deferral's send): SQS delivers the original again, and the deferred copy arrives too
    connect.max_live_calls = 0
    original = sqs_record(body(), message_id="lost-ack")
    invoke(original)
    [copy] = deferred()
    connect.max_live_calls = 10
    later(AFTER_THE_FIRST_HOLD_SECONDS)
    # When the original is placed, its call ends, and then the copy arrives
    invoke({**original, "attributes": {**original["attributes"], "ApproximateReceiveCount": "2"}})
    connect.hang_up_all()
    invoke(came_back(copy, "lost-ack-copy"))
    # Then the copy is answered from the placed-calls record: the customer is rung once
    assert connect.calls_per_token() == {"lost-ack": 1}


def test_a_deferral_past_max_deferral_seconds_is_dead_lettered_as_expired(
    invoke: Any, connect: ConnectStub, deferred: Any, dead_letters: Any
) -> None:
    # Given a deferred request that first arrived more than a day ago (MAX_DEFERRAL_SECONDS' default)
    connect.max_live_calls = 0
    long_ago = (datetime.now(UTC) - timedelta(days=1, seconds=1)).isoformat()
    attributes = {"FirstArrivalTime": long_ago, "ClientToken": "old-0"}
    record = signed_sqs_record(body(), message_id="old", attributes=attributes)
    # When it meets a full instance again
    invoke(record)
    # Then it is not deferred again: it is dead-lettered as Expired, with its token
    assert deferred() == []
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["ClientToken"]) == ("Expired", "old-0")


def test_a_request_past_its_expires_at_is_never_dialled(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given a request whose ExpiresAt has passed
    expired = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    # When the handler runs
    invoke(sqs_record(body(ExpiresAt=expired), message_id="late"))
    # Then Connect is not called and it is dead-lettered as Expired
    assert connect.requests == []
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["Expired"]


def test_a_deferral_never_outlasts_the_request_s_expires_at(invoke: Any, connect: ConnectStub, deferred: Any) -> None:
    # Given a request that expires in 3 seconds, deferred by a full instance (the hold is longer)
    connect.max_live_calls = 0
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    invoke(sqs_record(body(ExpiresAt=soon), message_id="soon"))
    # Then it comes back by its ExpiresAt, for one last chance, not after the hold
    [copy] = deferred()
    assert copy["DelaySeconds"] <= 3


def test_a_deferral_longer_than_sqs_allows_hops_without_calling(
    invoke: Any, connect: ConnectStub, deferred: Any
) -> None:
    # Given a deferred request that must wait two more hours (SQS delays at most 15 minutes)
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    attributes = {"DeferredUntil": until, "DeferralReason": "Throttled", "ClientToken": "hop-0", "DeferralCount": "3"}
    # When it arrives
    invoke(signed_sqs_record(body(), message_id="hop", attributes=attributes))
    # Then Connect is not called and it is sent on for the longest delay SQS allows, its reason and time kept
    assert connect.requests == []
    [copy] = deferred()
    assert (copy["DelaySeconds"], copy["DeferralReason"], copy["DeferralCount"]) == (
        SQS_MAX_DELAY_SECONDS,
        "Throttled",
        "4",
    )
    assert datetime.fromisoformat(copy["DeferredUntil"]) == datetime.fromisoformat(until).replace(
        microsecond=(datetime.fromisoformat(until).microsecond // 1000) * 1000
    )


def test_an_operator_s_confirmation_travels_with_a_deferral(invoke: Any, connect: ConnectStub, deferred: Any) -> None:
    # Given a redriven OutcomeUnknown dead-letter (an operator's confirmation of attempt 1) meeting a full instance
    connect.max_live_calls = 0
    attributes = {"ErrorCode": "OutcomeUnknown", "OutcomeUnknownAttempt": "1", "ClientToken": "confirmed-0"}
    invoke(signed_sqs_record(body(), message_id="confirmed", attributes=attributes))
    # Then the deferred copy still carries the confirmation
    [copy] = deferred()
    assert (copy["ErrorCode"], copy["OutcomeUnknownAttempt"]) == ("OutcomeUnknown", "1")


def test_a_failed_deferral_send_leaves_the_record_for_sqs(invoke: Any, connect: ConnectStub, log_lines: Any) -> None:
    # Given a source queue that cannot be written (deleted) and a full instance
    boto3.client("sqs").delete_queue(QueueUrl=SOURCE_QUEUE_URL)
    connect.max_live_calls = 0
    # When the handler runs
    response = invoke(sqs_record(body(), message_id="unsent"))
    # Then the record is retried, not dropped
    assert failed_ids(response) == {"unsent"}
    assert [line["error_code"] for line in log_lines() if line.get("outcome") == "retried"] == ["DeferralSendFailed"]


def test_a_deferral_a_producer_forged_is_ignored_and_never_echoed(
    invoke: Any, connect: ConnectStub, deferred: Any, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a message whose producer set deferral attributes itself (no MAC of the function's), its reason free text
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    attributes = {"DeferredUntil": until, "DeferralReason": "call jane.doe@example.com"}
    # When it arrives
    invoke(sqs_record(body(), message_id="forged", attributes=attributes))
    # Then it is a new request like any other: called now, not kept waiting, its forged reason nowhere
    assert deferred() == []
    assert list(connect.placed) == ["forged"]
    assert "jane.doe" not in json.dumps(log_lines()) + capsys.readouterr().out
