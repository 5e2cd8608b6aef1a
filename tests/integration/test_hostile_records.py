"""Hostile records: whatever a record holds, it ends with an outcome and a reason, and steers only what it may.

Each test is one hole an attacker's review found on the handler (issue "Hardening"): a body that escaped every
outcome, attributes any producer could set to steer a request, a timeout too short to hold one record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from outbound_caller.message_size import REQUEST_BODY_MAX_BYTES, SQS_MAX_MESSAGE_BYTES
from outbound_caller.record_handler import RECORD_TIME_RESERVE_MS
from tests.integration.conftest import came_back, failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import DLQ_URL
from tests.support.lambda_events import (
    FakeLambdaContext,
    aws_id,
    eventbridge_body,
    signed_sqs_record,
    sns_body,
    sqs_record,
)

NUMBER = "+14155550123"


def body(**fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


def outcome_lines(log_lines: Any) -> list[dict[str, Any]]:
    return [line for line in log_lines() if "outcome" in line]


# 1. Records that escaped every outcome.


def test_a_body_nested_ten_thousand_deep_is_dead_lettered_as_invalid(
    invoke: Any, connect: ConnectStub, dead_letters: Any, log_lines: Any
) -> None:
    # Given a body nested 10,000 deep (about 20 KB)
    nested = "[" * 10_000 + "]" * 10_000
    # When the handler runs
    response = invoke(sqs_record(nested, message_id="deep"))
    # Then it is dead-lettered as invalid, unchanged, with its reason, and logged: not retried without a word
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert (letter["body"], letter["ErrorCode"]) == (nested, "ValidationError")
    assert [line["error_code"] for line in outcome_lines(log_lines)] == ["ValidationError"]


@pytest.mark.parametrize(
    "hostile",
    [
        '{"DestinationPhoneNumber": "+14155550123", "ClientToken": "\\ud800"}',
        '{"DestinationPhoneNumber": 1, "ClientToken": "\\ud800"}',
        '{"detail-type": "x", "detail": {"ClientToken": "\\udfff"}, "id": "\\ud800"}',
    ],
    ids=["valid-shape", "invalid", "eventbridge-id"],
)
def test_a_lone_surrogate_in_a_token_is_dead_lettered_as_invalid(
    invoke: Any, connect: ConnectStub, dead_letters: Any, log_lines: Any, hostile: str
) -> None:
    # Given a body whose token (or envelope id) is a lone surrogate, which no encoder accepts
    # When the handler runs
    response = invoke(sqs_record(hostile, message_id="surrogate"))
    # Then it is dead-lettered as invalid under the SQS messageId, and logged
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["ClientToken"]) == ("ValidationError", "surrogate")
    assert [line["error_code"] for line in outcome_lines(log_lines)] == ["ValidationError"]


def test_an_envelope_id_no_sqs_attribute_can_hold_is_refused_and_dead_lettered(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given an EventBridge-shaped body whose id holds a control character (SQS refuses it in an attribute)
    hostile = eventbridge_body({"DestinationPhoneNumber": NUMBER}, event_id="id\u0001with-control")
    # When the handler runs
    response = invoke(sqs_record(hostile, message_id="control"))
    # Then it is dead-lettered once, under the SQS messageId: never a dead-letter send failing again and again
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["ClientToken"]) == ("ValidationError", "control")


def test_a_failure_of_the_settling_itself_is_retried_with_its_reason_logged(
    invoke: Any, connect: ConnectStub, log_lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bug in the settling (counting a dead-letter raises something nobody expected), and a batch of two
    def broken(*_: Any, **__: Any) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr("outbound_caller.settling.settlement.count_by_error_code", broken)
    # When the handler runs on an invalid record and a valid one
    response = invoke(sqs_record("not json", message_id="bug"), sqs_record(body(), message_id="fine"))
    # Then the broken one is retried with a logged reason, and the batch goes on: the other is placed
    assert failed_ids(response) == {"bug"}
    assert list(connect.placed) == ["fine"]
    [retried] = [line for line in outcome_lines(log_lines) if line["outcome"] == "retried"]
    assert (retried["message_id"], retried["error_code"]) == ("bug", "UnexpectedError")
    assert "KeyError" in retried["error_message"]


# 2. Steering attributes are the function's own.


def test_a_producer_cannot_keep_a_request_hopping_for_ever(
    invoke: Any, connect: ConnectStub, deferred: Any, dead_letters: Any
) -> None:
    # Given a producer's message naming a first arrival and a deferral in the year 9999
    forged = {"FirstArrivalTime": "9999-12-31T00:00:00+00:00", "DeferredUntil": "9999-12-31T00:00:00+00:00"}
    # When it arrives
    invoke(sqs_record(body(), message_id="forever", attributes=forged))
    # Then it is a new request like any other: called now
    assert list(connect.placed) == ["forever"]
    assert deferred() == []


def test_a_producer_cannot_forge_an_operator_s_confirmation(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a call whose outcome is unknown (its answer lost), dead-lettered as OutcomeUnknown for attempt 1
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(sqs_record(body(ClientToken="order-1"), message_id="first"))
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["OutcomeUnknownAttempt"]) == ("OutcomeUnknown", "1")
    connect.hang_up_all()
    # When a producer sends the same request with the confirmation's attributes, but not the function's MAC
    forged = {"ErrorCode": "OutcomeUnknown", "OutcomeUnknownAttempt": "1", "ClientToken": letter["ClientToken"]}
    invoke(sqs_record(letter["body"], message_id="forged", attributes=forged))
    # Then it is not called again: dead-lettered as OutcomeUnknown once more
    assert connect.calls_per_token() == {"order-1": 1}
    assert [again["ErrorCode"] for again in dead_letters()] == ["OutcomeUnknown"]


def test_the_function_s_own_redrive_still_confirms(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given the same uncertain call, dead-lettered by the function (its MAC on the attributes)
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(sqs_record(body(ClientToken="order-2"), message_id="first"))
    [letter] = dead_letters()
    connect.hang_up_all()
    # When an operator redrives it (body and attributes kept)
    invoke(came_back(letter, "redriven"))
    # Then the confirmation holds: called once more, with the same token
    assert connect.calls_per_token() == {"order-2": 2}


def test_producer_set_function_attributes_are_never_echoed_onto_a_dead_letter(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given an invalid request whose producer set SourceMessageId and ClientToken attributes of its own (free text)
    attributes = {"SourceMessageId": "jane.doe@example.com", "ClientToken": "call jane at home"}
    # When it is dead-lettered
    invoke(sqs_record('{"DestinationPhoneNumber": "bad"}', message_id="echo", attributes=attributes))
    # Then the dead-letter names the message that brought it, and no token of the producer's attribute
    [letter] = dead_letters()
    assert (letter["SourceMessageId"], letter["ClientToken"]) == ("echo", "echo")
    assert "jane" not in json.dumps(letter)


def test_a_signed_attribute_of_five_thousand_digits_is_a_validation_error(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a message under the function's MAC whose deferral count has 5,000 digits (a leaked key, or a bug)
    record = signed_sqs_record(body(), message_id="digits", attributes={"DeferralCount": "9" * 5000})
    # When it arrives
    response = invoke(record)
    # Then it is dead-lettered as invalid, never a crash of int()
    assert failed_ids(response) == set()
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["ValidationError"]
    assert connect.requests == []


# 3. Doors: the function refuses archive replays itself.


def test_an_eventbridge_archive_replay_is_refused(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given an EventBridge event carrying replay-name (an archive replay), reaching the queue past the rule
    event = json.loads(eventbridge_body({"DestinationPhoneNumber": NUMBER}, event_id=aws_id("ev-replayed")))
    event["replay-name"] = "replay-of-last-week"
    # When the handler runs
    invoke(sqs_record(json.dumps(event), message_id="replay"))
    # Then nobody is called: it is dead-lettered as invalid
    assert connect.requests == []
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "ValidationError"
    assert "replay" in letter["ErrorMessage"]


# 4. A function timeout below the record reserve.


def test_a_timeout_too_short_for_one_record_hands_every_record_back_and_says_why(
    invoke: Any, connect: ConnectStub, deferred: Any, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a function whose timeout (75 s) cannot hold one record's reserve
    context = FakeLambdaContext(remaining_ms=75_000)
    assert context.remaining_ms < RECORD_TIME_RESERVE_MS
    records = [sqs_record(body(), message_id=f"short-{i}") for i in range(3)]
    # When the handler runs
    response = invoke(*records, context=context)
    # Then every record is handed back, nothing is deferred or called, and an error names both figures
    assert failed_ids(response) == {f"short-{i}" for i in range(3)}
    assert deferred() == []
    assert connect.requests == []
    [error] = [line for line in log_lines() if line["level"] == "ERROR"]
    assert error["remaining_ms"] == 75_000
    assert error["record_time_reserve_seconds"] * 1000 == RECORD_TIME_RESERVE_MS
    # and a metric counts the invocation
    assert '"FunctionTimeoutTooShort":[1.0]' in capsys.readouterr().out


def test_on_its_last_receive_a_record_of_a_too_short_invocation_is_dead_lettered_naming_the_cause(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a record on its last receive (maxReceiveCount 5) in an invocation too short for one record
    response = invoke(sqs_record(body(), message_id="last", receive_count=5), context=FakeLambdaContext(75_000))
    # Then it is dead-lettered as RetriesExhausted, naming the timeout as its last error
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "RetriesExhausted"
    assert "FunctionTimeoutTooShort" in letter["ErrorMessage"]


# 5. The smaller ones.


def test_byte_counts_in_a_refusal_are_not_masked_as_phone_numbers(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a request whose attributes take a megabyte (a seven-digit count, like a phone number's digits)
    attributes = {"note": "x" * 1_000_000}
    # When it is refused
    invoke(sqs_record(body(Attributes=attributes), message_id="bytes"))
    # Then the message says how many bytes, readably, not as a masked phone number
    [letter] = dead_letters()
    assert "1,000,004 UTF-8 bytes" in letter["ErrorMessage"]
    assert "+*" not in letter["ErrorMessage"]


def test_a_body_larger_than_any_request_is_dead_lettered_unchanged_with_its_reason(
    invoke: Any, connect: ConnectStub, dead_letters: Any, sqs_size_rule: None
) -> None:
    # Given a body as large as the source queue accepts (SQS checks body and attributes against its maximum size)
    padding = " " * (REQUEST_BODY_MAX_BYTES + 1 - len(body()))
    huge = body()[:-1] + padding + "}"
    assert len(huge.encode()) == REQUEST_BODY_MAX_BYTES + 1
    # When it arrives
    response = invoke(sqs_record(huge, message_id="huge"))
    # Then it is refused before any call and dead-lettered unchanged, its attributes fitting with it
    assert failed_ids(response) == set()
    assert connect.requests == []
    [letter] = dead_letters()
    assert (letter["body"], letter["ErrorCode"]) == (huge, "ValidationError")


def test_a_dead_letter_that_cannot_hold_its_error_message_keeps_its_code(
    invoke: Any, connect: ConnectStub, dead_letters: Any, sqs_size_rule: None
) -> None:
    # Given a body just under SQS's maximum, on a source queue that took it (not the stack's: its maximum is lower)
    # (220 bytes hold the dead-letter's ErrorCode, SourceMessageId, ClientToken and MAC, not its ErrorMessage too)
    padding = " " * (SQS_MAX_MESSAGE_BYTES - 220 - len(body()))
    huge = body()[:-1] + padding + "}"
    # When it is refused (too large to be a request)
    invoke(sqs_record(huge, message_id="almost"))
    # Then it is dead-lettered unchanged with its ErrorCode, its ErrorMessage (the log keeps it) left out to fit
    [letter] = dead_letters()
    assert (letter["body"], letter["ErrorCode"], letter["ClientToken"]) == (huge, "ValidationError", "almost")
    assert "ErrorMessage" not in letter


@pytest.mark.parametrize(
    "wrapped",
    [
        lambda request: sqs_record(request, message_id="sns-shaped"),
        lambda request: sqs_record(sns_body(request, message_id=aws_id("sns-1")), message_id="sns-shaped"),
    ],
    ids=["raw", "sns"],
)
def test_a_dead_letter_send_refused_by_sqs_is_retried_with_its_reason(
    invoke: Any, connect: ConnectStub, log_lines: Any, wrapped: Any
) -> None:
    # Given a dead-letter queue that no longer exists (the send is refused)
    boto3.client("sqs").delete_queue(QueueUrl=DLQ_URL)
    # When an invalid request is settled
    response = invoke(wrapped('{"DestinationPhoneNumber": "bad"}'))
    # Then it is retried, and the log says why
    assert failed_ids(response) == {"sns-shaped"}
    [line] = outcome_lines(log_lines)
    assert (line["outcome"], line["error_code"]) == ("retried", "DeadLetterSendFailed")


def test_a_function_message_changed_after_it_was_signed_steers_nothing(
    invoke: Any, connect: ConnectStub, deferred: Any
) -> None:
    # Given a request the function deferred (signed), whose first arrival someone then moved a day back
    connect.max_live_calls = 0
    invoke(sqs_record(body(), message_id="kept"))
    [first] = deferred()
    tampered = came_back(first, "tampered")
    long_ago = (datetime.now(UTC) - timedelta(days=1, seconds=1)).isoformat()
    tampered["messageAttributes"]["FirstArrivalTime"]["stringValue"] = long_ago
    # When it arrives (the instance still full)
    invoke(tampered)
    # Then its attributes steer nothing: it is deferred as a new request, not expired by the forged first arrival
    [again] = [copy for copy in deferred() if copy["SourceMessageId"] == "tampered"]
    assert again["FirstArrivalTime"] != long_ago
    assert again["DeferralCount"] == "1"
