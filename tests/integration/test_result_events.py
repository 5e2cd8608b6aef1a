"""Result events end to end: the real handler publishes to moto's EventBridge, a rule forwards them to an SQS sink."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from outbound_caller.names import DEFERRED_EVENT, PLACED_EVENT, REJECTED_EVENT, RESULT_SOURCE
from outbound_caller.privacy import mask_token
from outbound_caller.results.publisher import ResultEvents
from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.lambda_events import sqs_record

NUMBER = "+14155550123"
LONDON = "+442071838750"
BUS = "outbound-call-results"
SINK_QUEUE = "outbound-call-results-sink"
PUT_EVENTS = "events.PutEvents"


def body(**fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


@pytest.fixture
def results(function: FunctionUnderTest) -> Callable[[], list[dict[str, Any]]]:
    """A result bus with a rule on the contract's source forwarding to an SQS sink; the function publishes there.

    Returns a reader of every event the sink received, as EventBridge delivered it.
    """
    events = boto3.client("events")
    events.create_event_bus(Name=BUS)
    sqs = boto3.client("sqs")
    sink_url = sqs.create_queue(QueueName=SINK_QUEUE)["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="results-to-sink", EventBusName=BUS, EventPattern=json.dumps({"source": [RESULT_SOURCE]}))
    events.put_targets(Rule="results-to-sink", EventBusName=BUS, Targets=[{"Id": "sink", "Arn": sink_arn}])
    # No sleeping between publish rounds: the rounds themselves are what the tests watch.
    function.rebuild(results=ResultEvents(function.clients.events, BUS, sleep=lambda _seconds: None))

    def _read() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=sink_url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            if not batch.get("Messages"):
                return received
            received.extend(json.loads(message["Body"]) for message in batch["Messages"])

    return _read


@pytest.fixture
def put_events_calls(function: FunctionUnderTest) -> Iterator[list[int]]:
    """How many entries each PutEvents call of the function carried, in order."""
    calls: list[int] = []

    def _count(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["Entries"]))

    emitter = function.clients.events.meta.events
    emitter.register(f"provide-client-params.{PUT_EVENTS}", _count, unique_id="count-put-events")
    yield calls
    emitter.unregister(f"provide-client-params.{PUT_EVENTS}", unique_id="count-put-events")


@pytest.fixture
def put_events_answers(function: FunctionUnderTest) -> Iterator[Callable[..., None]]:
    """Answer the function's PutEvents calls, ahead of EventBridge, with an HTTP error or per-entry failures.

    ``answer(kind, times)``: ``"error"`` (a 500 InternalException for the whole call) or ``"refused"`` (200 with every
    entry failed as InternalFailure), for the first ``times`` calls (None: every call); later calls reach moto.
    """
    registered: list[str] = []

    def _answer(kind: str, times: int | None = None) -> None:
        left = [times]

        def _handler(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            if left[0] is not None:
                if left[0] == 0:
                    return None
                left[0] -= 1
            entries = len(json.loads(params["body"])["Entries"])
            if kind == "error":
                error = {"Error": {"Code": "InternalException", "Message": "stubbed"}, "ResponseMetadata": {}}
                return AWSResponse(params["url"], 500, {}, None), error
            refused = [{"ErrorCode": "InternalFailure", "ErrorMessage": "stubbed"}] * entries
            return AWSResponse(params["url"], 200, {}, None), {"FailedEntryCount": entries, "Entries": refused}

        unique_id = f"answer-put-events-{len(registered)}"
        function.clients.events.meta.events.register_first(f"before-call.{PUT_EVENTS}", _handler, unique_id=unique_id)
        registered.append(unique_id)

    yield _answer
    for unique_id in registered:
        function.clients.events.meta.events.unregister(f"before-call.{PUT_EVENTS}", unique_id=unique_id)


def details(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    """The details of the received events of one detail-type, in SourceMessageId order."""
    chosen = [event["detail"] for event in events if event["detail-type"] == detail_type]
    return sorted(chosen, key=lambda detail: detail["SourceMessageId"])


def test_a_placed_call_publishes_one_placed_event(invoke: Any, connect: ConnectStub, results: Any) -> None:
    # Given a valid request
    record = sqs_record(body(Attributes={"orderId": "A-17"}), message_id="m-placed")
    # When the handler runs
    response = invoke(record)
    # Then one Placed event reaches the sink, from the contract's source, naming the contact and the request
    assert response == {"batchItemFailures": []}
    received = results()
    assert [(event["source"], event["detail-type"]) for event in received] == [(RESULT_SOURCE, PLACED_EVENT)]
    assert received[0]["detail"] == {
        "ContactId": "contact-0001",
        "ClientToken": mask_token("m-placed"),
        "SourceMessageId": "m-placed",
        "Attempt": 1,
    }


def test_a_redelivery_the_ledger_answers_publishes_placed_again(
    invoke: Any, connect: ConnectStub, results: Any
) -> None:
    # Given a request delivered twice (the ledger answers the second with the first call's contact)
    record = sqs_record(body(ClientToken="crm-42"), message_id="m-twice")
    # When the handler runs on both deliveries
    invoke(record)
    invoke({**record, "receiptHandle": "second-receipt"})
    # Then one call was placed, and each delivery published Placed with the same contact (at-least-once):
    # the producer's own token masked as the function's logs show it
    assert connect.calls_per_token() == {"crm-42": 1}
    expected = {
        "ContactId": "contact-0001",
        "ClientToken": mask_token("crm-42"),
        "SourceMessageId": "m-twice",
        "Attempt": 1,
    }
    assert details(results(), PLACED_EVENT) == [expected, expected]


@pytest.mark.usefixtures("no_backoff")
def test_every_dead_letter_publishes_rejected_with_its_error_code(
    invoke: Any, connect: ConnectStub, results: Any, dead_letters: Any, function: FunctionUnderTest
) -> None:
    # Given requests dead-lettered for each kind of reason: invalid, refused by Connect, outside the calling policy,
    # expired, of uncertain outcome, and still failing on the last receive
    function.configure(ALLOWED_DESTINATION_COUNTRIES="US")
    connect.fail_destination("+14155550124", ConnectError("DestinationNotAllowedException", "refused"))
    connect.fail_after_create("+14155550125", ConnectError("InternalServiceException", status=500))
    connect.fail_destination("+14155550126", EndpointConnectionError(endpoint_url="https://connect"))
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    # When the handler runs on them in one batch
    response = invoke(
        sqs_record(body(DestinationPhoneNumber="0800 not a number"), message_id="r-1"),
        sqs_record(body(DestinationPhoneNumber="+14155550124"), message_id="r-2"),
        sqs_record(body(DestinationPhoneNumber=LONDON), message_id="r-3"),
        sqs_record(body(ExpiresAt=past), message_id="r-4"),
        sqs_record(body(DestinationPhoneNumber="+14155550125"), message_id="r-5"),
        sqs_record(body(DestinationPhoneNumber="+14155550126"), message_id="r-6", receive_count=5),
    )
    # Then every record is settled, dead-lettered, and announced as Rejected with its ErrorCode
    assert response == {"batchItemFailures": []}
    assert len(dead_letters()) == 6
    assert [(d["SourceMessageId"], d["ErrorCode"], d["ClientToken"]) for d in details(results(), REJECTED_EVENT)] == [
        ("r-1", "ValidationError", mask_token("r-1")),
        ("r-2", "DestinationNotAllowedException", mask_token("r-2")),
        ("r-3", "DestinationNotAllowedByPolicy", mask_token("r-3")),
        ("r-4", "Expired", mask_token("r-4")),
        ("r-5", "OutcomeUnknown", mask_token("r-5")),
        ("r-6", "RetriesExhausted", mask_token("r-6")),
    ]


def test_a_deferred_request_publishes_deferred_with_reason_and_until(
    invoke: Any, connect: ConnectStub, results: Any, deferred: Any
) -> None:
    # Given a request not to be called before a time an hour ahead, and one meeting a full instance
    not_before = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    connect.fail_destination("+14155550127", ConnectError("LimitExceededException", "The allowed limit"))
    # When the handler runs
    response = invoke(
        sqs_record(body(NotBefore=not_before.isoformat()), message_id="d-1"),
        sqs_record(body(DestinationPhoneNumber="+14155550127"), message_id="d-2"),
    )
    # Then both are deferred, no call placed, and each is announced with its reason and when it may be tried (UTC)
    assert response == {"batchItemFailures": []}
    assert connect.contacts == []
    announced = details(results(), DEFERRED_EVENT)
    assert [(d["SourceMessageId"], d["Reason"], d["ClientToken"]) for d in announced] == [
        ("d-1", "NotBefore", mask_token("d-1")),
        ("d-2", "InstanceAtCapacity", mask_token("d-2")),
    ]
    assert announced[0]["Until"] == not_before.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert announced[1]["Until"].endswith("Z")
    assert {copy["DeferredUntil"] for copy in deferred()} == {d["Until"] for d in announced}


def test_a_deferral_hopping_on_publishes_nothing_new(
    invoke: Any, connect: ConnectStub, results: Any, deferred: Any
) -> None:
    # Given a request deferred for a day (SQS delays at most 15 minutes, so it comes back early and hops on)
    not_before = datetime.now(UTC) + timedelta(hours=20)
    invoke(sqs_record(body(NotBefore=not_before.isoformat()), message_id="h-1"))
    first = results()
    # When it comes back before its time
    invoke(came_back(deferred()[0], "h-2"))
    # Then only the first deferral was announced; the hop is silent
    assert [event["detail-type"] for event in first] == [DEFERRED_EVENT]
    assert results() == []


@pytest.mark.usefixtures("no_backoff")
def test_retried_records_publish_nothing(invoke: Any, connect: ConnectStub, results: Any) -> None:
    # Given a request whose call cannot reach Connect (SQS will deliver it again)
    connect.fail_always(EndpointConnectionError(endpoint_url="https://connect"))
    # When the handler runs
    response = invoke(sqs_record(body(), message_id="t-1"))
    # Then the record is retried and no result event is published
    assert failed_ids(response) == {"t-1"}
    assert results() == []


def test_events_hold_no_phone_number_nor_attribute_value(invoke: Any, connect: ConnectStub, results: Any) -> None:
    # Given requests with attributes, placed, rejected and deferred
    connect.fail_destination("+14155550128", ConnectError("InvalidParameterException", f"bad number {NUMBER}"))
    connect.fail_destination("+14155550129", ConnectError("LimitExceededException", "full"))
    attributes = {"Attributes": {"customer": "Ada Lovelace", "phone": "+14155550199"}}
    # When the handler runs
    invoke(
        sqs_record(body(**attributes), message_id="p-1"),
        sqs_record(body(DestinationPhoneNumber="+14155550128", **attributes), message_id="p-2"),
        sqs_record(body(DestinationPhoneNumber="+14155550129", **attributes), message_id="p-3"),
    )
    # Then all three outcomes are published and none of their text holds a number or a value
    received = results()
    assert sorted(event["detail-type"] for event in received) == sorted([PLACED_EVENT, REJECTED_EVENT, DEFERRED_EVENT])
    text = json.dumps(received)
    for secret in ("4155550", "Ada Lovelace", "+14155550199"):
        assert secret not in text


def test_one_put_events_call_per_ten_events(
    invoke: Any, connect: ConnectStub, results: Any, put_events_calls: list[int]
) -> None:
    # Given a batch of 23 valid requests
    records = [sqs_record(body(DestinationPhoneNumber=f"+1415555{i:04d}"), message_id=f"b-{i:02d}") for i in range(23)]
    # When the handler runs
    response = invoke(*records)
    # Then the 23 Placed events go out once the batch is done, in PutEvents calls of at most 10 entries
    assert response == {"batchItemFailures": []}
    assert put_events_calls == [10, 10, 3]
    assert len(details(results(), PLACED_EVENT)) == 23


def test_a_failing_publish_leaves_the_call_placed_once_and_the_record_settled(
    invoke: Any,
    connect: ConnectStub,
    results: Any,
    put_events_answers: Any,
    log_lines: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an event bus that answers every PutEvents with an error
    put_events_answers("error")
    record = sqs_record(body(ClientToken="crm-77"), message_id="f-1")
    # When the handler runs, and SQS were to deliver the message again anyway
    first = invoke(record)
    second = invoke({**record, "receiptHandle": "second-receipt"})
    # Then the call was placed exactly once and the record succeeded both times
    assert first == second == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"crm-77": 1}
    assert results() == []
    # And each lost event is logged (token masked) and counted
    lost = [line for line in log_lines() if line.get("message") == "Result events not published"]
    # (the event's token is already masked; the log masks whatever token an event holds once more)
    shown = {"detail_type": PLACED_EVENT, "client_token": mask_token(mask_token("crm-77"))}
    assert [line["events"] for line in lost] == [[shown], [shown]]
    assert "crm-77" not in json.dumps(log_lines())
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line["ResultEventsFailed"] for line in printed if "ResultEventsFailed" in line] == [[1.0], [1.0]]


@pytest.mark.parametrize("kind", ["error", "refused"])
def test_a_publish_that_fails_once_is_retried_within_the_invocation(
    invoke: Any, connect: ConnectStub, results: Any, put_events_answers: Any, put_events_calls: list[int], kind: str
) -> None:
    # Given an event bus whose first PutEvents fails (as a whole, or entry by entry)
    put_events_answers(kind, times=1)
    # When the handler settles a placed and a rejected record
    connect.fail_destination("+14155550130", ConnectError("AccessDeniedException", "no"))
    response = invoke(
        sqs_record(body(), message_id="once-1"),
        sqs_record(body(DestinationPhoneNumber="+14155550130"), message_id="once-2"),
    )
    # Then the second call publishes both events, each once, and the records are settled
    assert response == {"batchItemFailures": []}
    assert put_events_calls == [2, 2]
    received = results()
    assert sorted(event["detail"]["SourceMessageId"] for event in received) == ["once-1", "once-2"]
    assert connect.calls_per_token() == {"once-1": 1}


def test_without_a_result_bus_nothing_is_published(
    invoke: Any, connect: ConnectStub, results: Any, function: FunctionUnderTest
) -> None:
    # Given the function as deployed without RESULT_EVENT_BUS_NAME (the suite's environment has none)
    assert function.settings.result_event_bus_name is None
    function.rebuild(results=None)
    # When a call is placed
    response = invoke(sqs_record(body(), message_id="n-1"))
    # Then it is placed and nothing reaches the bus
    assert response == {"batchItemFailures": []}
    assert results() == []
