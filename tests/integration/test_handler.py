"""The handler end to end: real SQS records in, Connect through the real botocore client, moto SQS as DLQ."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from outbound_caller.record_handler import RECORD_TIME_RESERVE_MS
from outbound_caller.settling.settlement import SEND_TIME_RESERVE_MS
from tests.integration.conftest import failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import DEFAULT_FLOW_ID, DLQ_URL, IDEMPOTENCY_TABLE, INSTANCE_ID, SOURCE_NUMBER
from tests.support.lambda_events import FakeLambdaContext, aws_id, eventbridge_body, sns_body, sqs_record

NUMBER = "+14155550123"
# A function timeout that holds the record reserve (the stack's sizing gives more): an invocation starts with it.
FUNCTION_TIMEOUT_MS = RECORD_TIME_RESERVE_MS + 60_000


def body(**fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


def test_valid_request_places_one_call(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given a valid request with attributes
    record = sqs_record(body(Attributes={"orderId": "A-17"}, RingTimeoutInSeconds=20), message_id="m-1")
    # When the handler runs
    response = invoke(record)
    # Then Connect received exactly the request with the deployment's defaults, and nothing is retried
    assert response == {"batchItemFailures": []}
    assert connect.requests == [
        {
            "DestinationPhoneNumber": NUMBER,
            "InstanceId": INSTANCE_ID,
            "ContactFlowId": DEFAULT_FLOW_ID,
            "SourcePhoneNumber": SOURCE_NUMBER,
            "ClientToken": "m-1",
            "Attributes": {"orderId": "A-17"},
            "RingTimeoutInSeconds": 20,
        }
    ]
    assert dead_letters() == []


@pytest.mark.parametrize(
    ("sqs_body", "token"),
    [
        (eventbridge_body({"DestinationPhoneNumber": NUMBER}, event_id=aws_id("event-9")), aws_id("event-9")),
        (sns_body(body(), message_id=aws_id("sns-9")), aws_id("sns-9")),
        (body(ClientToken="crm-42"), "crm-42"),
    ],
    ids=["eventbridge", "sns", "own-token"],
)
def test_envelopes_reach_connect_with_their_token(invoke: Any, connect: ConnectStub, sqs_body: str, token: str) -> None:
    # Given a request delivered through EventBridge, SNS, or carrying its own token
    # When the handler runs
    response = invoke(sqs_record(sqs_body, message_id="m-2"))
    # Then the call is placed with the token the contract derives
    assert response == {"batchItemFailures": []}
    assert [request["ClientToken"] for request in connect.requests] == [token]


def test_redelivery_places_no_second_call(invoke: Any, connect: ConnectStub, log_lines: Any) -> None:
    # Given the same SQS message delivered twice (e.g. after a later record crashed the invocation), the first
    # call having ended in between, so that Connect itself would start a new call for the same token
    record = sqs_record(body(), message_id="m-3")
    # When the handler runs on both deliveries
    first = invoke(record)
    connect.hang_up_all()
    second = invoke({**record, "receiptHandle": "second-receipt"})
    # Then Connect is called once; the second delivery succeeds with the recorded contact
    assert first == second == {"batchItemFailures": []}
    assert [request["ClientToken"] for request in connect.requests] == ["m-3"]
    placed = [(line["contact_id"], line["replayed"]) for line in log_lines() if line["outcome"] == "placed"]
    assert placed == [("contact-0001", False), ("contact-0001", True)]


@pytest.mark.usefixtures("no_backoff")
def test_a_call_connect_surely_refused_is_released_so_redelivery_calls_again(invoke: Any, connect: ConnectStub) -> None:
    # Given Connect never reached by any attempt of the first call of a request (nothing was created)
    connect.fail_destination(NUMBER, EndpointConnectionError(endpoint_url="https://connect"), times=3)
    record = sqs_record(body(), message_id="m-again")
    # When the record is delivered, fails, and is delivered again
    first = invoke(record)
    second = invoke({**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}})
    # Then the redelivery calls Connect again (same token) and places the call, once
    assert failed_ids(first) == {"m-again"}
    assert second == {"batchItemFailures": []}
    assert len(connect.requests) == 4
    assert connect.calls_per_token() == {"m-again": 1}


def test_without_the_idempotency_record_no_call_is_made(invoke: Any, connect: ConnectStub, log_lines: Any) -> None:
    # Given an idempotency table that cannot be written (deleted)
    boto3.client("dynamodb").delete_table(TableName=IDEMPOTENCY_TABLE)
    # When a valid request is handled
    response = invoke(sqs_record(body(), message_id="m-closed"))
    # Then Connect is not called (fail closed) and the record is retried
    assert connect.requests == []
    assert failed_ids(response) == {"m-closed"}
    assert [line["error_code"] for line in log_lines() if "outcome" in line] == ["IdempotencyStoreError"]


@pytest.mark.parametrize(
    "code",
    [
        "DestinationNotAllowedException",
        "OutboundContactNotPermittedException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "InvalidRequestException",
    ],
)
def test_permanent_connect_errors_are_dead_lettered(
    invoke: Any, connect: ConnectStub, dead_letters: Any, code: str
) -> None:
    # Given Connect refusing the call for good
    connect.fail_always(ConnectError(code, "refused"))
    original = body(Attributes={"orderId": "A-18"})
    # When the handler runs
    response = invoke(sqs_record(original, message_id="m-4"))
    # Then the original body, unchanged, is in the DLQ with the reason, and the record is settled
    assert failed_ids(response) == set()
    assert dead_letters() == [
        {"body": original, "ErrorCode": code, "ErrorMessage": "refused", "SourceMessageId": "m-4", "ClientToken": "m-4"}
    ]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (ConnectTimeoutError(endpoint_url="https://connect"), "Timeout"),
        (EndpointConnectionError(endpoint_url="https://connect"), "ConnectionError"),
    ],
)
@pytest.mark.usefixtures("no_backoff")
def test_connect_never_reached_is_retried_not_dead_lettered(
    invoke: Any, connect: ConnectStub, dead_letters: Any, log_lines: Any, answer: Any, code: str
) -> None:
    # Given Connect never reached at all: surely no contact was created
    connect.fail_always(answer)
    # When the handler runs
    response = invoke(sqs_record(body(), message_id="m-5"))
    # Then botocore tried 3 times, the record is left for SQS to redeliver, and nothing is dead-lettered
    assert len(connect.requests) == 3
    assert failed_ids(response) == {"m-5"}
    assert dead_letters() == []
    assert [(line["outcome"], line["error_code"]) for line in log_lines() if "outcome" in line] == [("retried", code)]


@pytest.mark.usefixtures("no_backoff")
def test_throttling_within_the_call_is_absorbed_by_botocore(invoke: Any, connect: ConnectStub) -> None:
    # Given Connect throttling the first two attempts
    connect.fail_destination(NUMBER, ConnectError("TooManyRequestsException"), times=2)
    # When the handler runs
    response = invoke(sqs_record(body(), message_id="m-6"))
    # Then the third attempt, with the same token, places the call
    assert response == {"batchItemFailures": []}
    assert [request["ClientToken"] for request in connect.requests] == ["m-6"] * 3
    assert connect.placed == {"m-6": "contact-0001"}


def test_a_failed_dead_letter_send_retries_the_record(invoke: Any, connect: ConnectStub, log_lines: Any) -> None:
    # Given a dead-letter queue that cannot be reached (deleted)
    boto3.client("sqs").delete_queue(QueueUrl=DLQ_URL)
    # When an invalid request is handled
    response = invoke(sqs_record('{"DestinationPhoneNumber": "nope"}', message_id="m-7"))
    # Then the record is retried, not dropped
    assert failed_ids(response) == {"m-7"}
    assert [(line["outcome"], line["error_code"]) for line in log_lines()] == [("retried", "DeadLetterSendFailed")]


@pytest.mark.usefixtures("no_backoff")
def test_mixed_batch_settles_each_record_on_its_own(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given a batch with a valid request, an invalid one, a refused destination, an unreachable one,
    # and a malformed SQS record
    refused, unreachable = "+442071838750", "+33142685300"
    connect.fail_destination(refused, ConnectError("DestinationNotAllowedException"))
    connect.fail_destination(unreachable, EndpointConnectionError(endpoint_url="https://connect"))
    malformed = sqs_record(body(), message_id="m-malformed")
    del malformed["body"]
    records = [
        sqs_record(body(), message_id="m-ok"),
        sqs_record(body(RingTimeoutInSeconds=5), message_id="m-invalid"),
        sqs_record(body(DestinationPhoneNumber=refused), message_id="m-refused"),
        sqs_record(body(DestinationPhoneNumber=unreachable), message_id="m-unreachable"),
        malformed,
        sqs_record(body(ClientToken="after-the-failures"), message_id="m-ok-2"),
    ]
    # When the handler runs
    response = invoke(*records)
    # Then only the unreachable and the malformed record are retried; the others settle independently
    assert failed_ids(response) == {"m-unreachable", "m-malformed"}
    assert sorted(letter["SourceMessageId"] for letter in dead_letters()) == ["m-invalid", "m-refused"]
    assert set(connect.placed) == {"m-ok", "after-the-failures"}


@pytest.mark.usefixtures("no_backoff")
def test_all_failed_batch_still_answers_with_every_record(invoke: Any, connect: ConnectStub) -> None:
    # Given Connect unreachable for every call
    connect.fail_always(EndpointConnectionError(endpoint_url="https://connect"))
    records = [sqs_record(body(), message_id=f"m-{i}") for i in range(3)]
    # When the handler runs
    response = invoke(*records)
    # Then it does not raise, and lists every record for redelivery
    assert failed_ids(response) == {"m-0", "m-1", "m-2"}


def test_near_the_deadline_remaining_records_are_deferred_without_spending_a_receive(
    invoke: Any, connect: ConnectStub, deferred: Any
) -> None:
    # Given an invocation with less time left than one worst-case call needs
    context = FakeLambdaContext(remaining_ms=RECORD_TIME_RESERVE_MS - 1, started_with_ms=FUNCTION_TIMEOUT_MS)
    records = [sqs_record(body(), message_id=f"d-{i}") for i in range(3)]
    # When the handler runs
    response = invoke(*records, context=context)
    # Then no call is started and every record is sent back to the queue as a new message, due at once
    assert connect.requests == []
    assert failed_ids(response) == set()
    assert sorted((m["ClientToken"], m["DeferralReason"]) for m in deferred()) == [
        (f"d-{i}", "InvocationEnding") for i in range(3)
    ]


def test_near_the_deadline_an_invalid_record_is_dead_lettered_while_a_send_fits(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given an invocation with too little time left for a call, but enough for a dead-letter send
    context = FakeLambdaContext(remaining_ms=SEND_TIME_RESERVE_MS + 1000, started_with_ms=FUNCTION_TIMEOUT_MS)
    # When the handler runs on an invalid request
    response = invoke(sqs_record('{"DestinationPhoneNumber": "bad"}', message_id="d-invalid"), context=context)
    # Then it is dead-lettered now (validation needs no call), not handed back
    assert failed_ids(response) == set()
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["ValidationError"]


def test_with_no_time_even_for_a_dead_letter_records_are_handed_back(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given an invocation with less time left than one dead-letter send may take, on the record's last receive
    context = FakeLambdaContext(remaining_ms=SEND_TIME_RESERVE_MS - 1, started_with_ms=FUNCTION_TIMEOUT_MS)
    records = [sqs_record('{"DestinationPhoneNumber": "bad"}', message_id="d-late", receive_count=5)]
    # When the handler runs
    response = invoke(*records, context=context)
    # Then no send is started (it could be cut off mid-send): SQS delivers the record again
    assert failed_ids(response) == {"d-late"}
    assert dead_letters() == []


def test_a_record_released_on_its_last_receive_is_deferred_with_its_own_token(
    invoke: Any, connect: ConnectStub, dead_letters: Any, deferred: Any
) -> None:
    # Given an EventBridge request on its last receive, in an invocation with too little time left for a call
    context = FakeLambdaContext(remaining_ms=RECORD_TIME_RESERVE_MS - 1, started_with_ms=FUNCTION_TIMEOUT_MS)
    record = sqs_record(eventbridge_body({"DestinationPhoneNumber": NUMBER}, event_id=aws_id("ev-9")), receive_count=5)
    # When the handler runs
    invoke(record, context=context)
    # Then it is not dead-lettered: it comes back as a new message carrying the event id it will be called with
    assert dead_letters() == []
    [copy] = deferred()
    assert (copy["ClientToken"], copy["DeferralReason"], copy["body"]) == (
        aws_id("ev-9"),
        "InvocationEnding",
        record["body"],
    )
    assert connect.requests == []


def test_with_enough_time_left_calls_are_placed(invoke: Any, connect: ConnectStub) -> None:
    # Given an invocation with just enough time for one worst-case call
    context = FakeLambdaContext(remaining_ms=RECORD_TIME_RESERVE_MS + 1000)
    # When the handler runs
    response = invoke(sqs_record(body(), message_id="e-1"), context=context)
    # Then the call is placed
    assert response == {"batchItemFailures": []}
    assert list(connect.placed) == ["e-1"]


def test_invalid_requests_are_dead_lettered_before_any_call(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given requests breaking the contract in different ways
    bodies = {
        "typo": body(Atributes={"a": "b"}),
        "strategy": body(OutboundStrategy={"Type": "AGENT_FIRST"}),
        "flow": body(ContactFlowId="not-allowed"),
        "json": "{not json",
    }
    # When the handler runs
    response = invoke(*(sqs_record(text, message_id=name) for name, text in bodies.items()))
    # Then none reaches Connect, each is dead-lettered as ValidationError with its own reason
    assert connect.requests == []
    assert failed_ids(response) == set()
    letters = {letter["SourceMessageId"]: letter for letter in dead_letters()}
    assert {name: letters[name]["body"] for name in bodies} == bodies
    assert {letter["ErrorCode"] for letter in letters.values()} == {"ValidationError"}
    assert "Atributes: Extra inputs are not permitted" in letters["typo"]["ErrorMessage"]
    assert "OutboundStrategy" in letters["strategy"]["ErrorMessage"]
    assert "CONNECT_ALLOWED_CONTACT_FLOW_IDS" in letters["flow"]["ErrorMessage"]
    assert "Invalid JSON" in letters["json"]["ErrorMessage"]


@pytest.mark.usefixtures("no_backoff")
def test_one_log_line_and_one_metric_per_outcome(
    invoke: Any, connect: ConnectStub, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a placed, a dead-lettered, a retried and a deferred record
    connect.fail_destination("+442071838750", ConnectError("DestinationNotAllowedException"))
    connect.fail_destination("+33142685300", EndpointConnectionError(endpoint_url="https://connect"))
    connect.fail_destination("+33142685301", ConnectError("LimitExceededException"))
    # When the handler runs
    invoke(
        sqs_record(body(), message_id="o-placed"),
        sqs_record(body(DestinationPhoneNumber="+442071838750"), message_id="o-dead"),
        sqs_record(body(DestinationPhoneNumber="+33142685300"), message_id="o-retry"),
        sqs_record(body(DestinationPhoneNumber="+33142685301"), message_id="o-deferred"),
    )
    # Then each outcome is one structured log line with its details
    outcomes = {line["message_id"]: line for line in log_lines() if "outcome" in line}
    assert len(outcomes) == len([line for line in log_lines() if "outcome" in line]) == 4
    assert {k: v["outcome"] for k, v in outcomes.items()} == {
        "o-placed": "placed",
        "o-dead": "dead_lettered",
        "o-retry": "retried",
        "o-deferred": "deferred",
    }
    assert outcomes["o-placed"]["contact_id"] == "contact-0001"
    assert outcomes["o-dead"]["error_code"] == "DestinationNotAllowedException"
    assert outcomes["o-retry"]["error_code"] == "ConnectionError"
    assert outcomes["o-deferred"]["reason"] == "InstanceAtCapacity"
    # And the metrics count each outcome, dead-lettered and retried by ErrorCode, deferred by reason
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = [line for line in printed if "_aws" in line]
    counted = {
        (m.get("ErrorCode") or m.get("Reason"), name)
        for m in metrics
        for name in ("CallsPlaced", "CallsDeadLettered", "CallsRetried", "CallsDeferred")
        if name in m
    }
    assert counted == {
        (None, "CallsPlaced"),
        ("DestinationNotAllowedException", "CallsDeadLettered"),
        ("ConnectionError", "CallsRetried"),
        ("InstanceAtCapacity", "CallsDeferred"),
    }
