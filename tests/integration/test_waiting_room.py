"""The waiting room end to end: a request that meets a full instance is parked in an SQS FIFO queue (moto), and the
completion function, when one of the deployment's calls ends, hands the call's slot to the oldest of them, which the
caller then places at once. Connect behind the real botocore client (the caller's ConnectStub with its concurrent-call
limit, the completion's DescribeContact stub); both functions share one clock, which only the tests move."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.intake import expiring_table_definition
from outbound_caller.names import SLOT_HANDED_OVER_ATTRIBUTE
from outbound_caller.request.signing import signature, signed_by_us
from tests.integration.conftest import FunctionUnderTest, _drain, came_back, failed_ids
from tests.support.clock import WallClock
from tests.support.completion_handler import completion_handler
from tests.support.connect_stub import ConnectStub
from tests.support.contact_events import ANSWERED, contact_event
from tests.support.environment import FUNCTION_ENVIRONMENT, IDEMPOTENCY_TABLE, SIGNING_KEY, SOURCE_QUEUE_URL
from tests.support.lambda_events import sqs_record

ROOM_NAME = "outbound-call-waiting-room.fifo"
RESULT_BUS = "outbound-call-results"
TICK = {"version": "0", "id": "tick", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def clock() -> WallClock:
    """Both functions' clock: a hold never ends by itself."""
    return WallClock()


@pytest.fixture
def room(function: FunctionUnderTest, clock: WallClock) -> str:
    """The waiting room's FIFO queue, and the caller configured to park there, on the frozen clock."""
    # The ledger as the stack lays it out, with the ContactId index through which the completion finds a call.
    dynamodb = boto3.client("dynamodb")
    dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE)
    dynamodb.create_table(**expiring_table_definition(IDEMPOTENCY_TABLE, contact_id_index=True))
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=ROOM_NAME, Attributes={"FifoQueue": "true"})["QueueUrl"]
    boto3.client("events").create_event_bus(Name=RESULT_BUS)
    function.rebuild(clock=clock)
    function.configure(WAITING_ROOM_QUEUE_URL=url)
    return url


@pytest.fixture
def complete(room: str, clock: WallClock, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], Any]:
    """The real completion handler (hand-over on), on the same clock."""
    environment = {
        **FUNCTION_ENVIRONMENT,
        "RESULT_EVENT_BUS_NAME": RESULT_BUS,
        "WAITING_ROOM_QUEUE_URL": room,
        "SOURCE_QUEUE_URL": SOURCE_QUEUE_URL,
    }
    return completion_handler(environment, clock, monkeypatch)


def request(number: str) -> str:
    return json.dumps({"DestinationPhoneNumber": number})


def ended(contact_id: str) -> dict[str, Any]:
    """Connect's DISCONNECTED event for one of the caller's calls, as the completion receives it."""
    return contact_event(ANSWERED, contactId=contact_id)


def parked(room: str) -> list[dict[str, Any]]:
    return _drain(room)


def test_a_request_that_meets_a_full_instance_waits_in_the_waiting_room_for_a_slot_not_a_time(
    room: str, invoke: Any, connect: ConnectStub, deferred: Any
) -> None:
    # Given an instance with room for one call
    connect.max_live_calls = 1
    # When two requests arrive
    response = invoke(
        sqs_record(request("+14155550101"), message_id="first"), sqs_record(request("+14155550102"), message_id="next")
    )
    # Then the first is placed and the second waits in the waiting room: signed like any deferral, with no time to
    # hop towards, and nothing sent back to the source queue
    assert failed_ids(response) == set()
    assert list(connect.placed) == ["first"]
    [waiting] = parked(room)
    assert (waiting["SourceMessageId"], waiting["DeferralReason"]) == ("next", "InstanceAtCapacity")
    assert "DeferredUntil" not in waiting
    assert "unsigned" not in waiting
    assert deferred() == []


def test_an_ended_call_hands_its_slot_to_a_waiting_request_which_calls_at_once(
    room: str, invoke: Any, connect: ConnectStub, deferred: Any, complete: Any
) -> None:
    # Given a full instance (held for a while) and a request waiting in the waiting room
    connect.max_live_calls = 1
    invoke(
        sqs_record(request("+14155550101"), message_id="first"), sqs_record(request("+14155550102"), message_id="next")
    )
    # When the placed call ends and Connect reports it
    connect.hang_up_all()
    complete(ended(connect.placed["first"]))
    # Then the waiting request is drawn into the source queue, holding the slot (signed), and the room is empty
    [drawn] = deferred()
    assert drawn["SourceMessageId"] == "next"
    assert SLOT_HANDED_OVER_ATTRIBUTE in drawn
    assert parked(room) == []
    # And the caller places it at once, though the hold the full instance set is still in force
    invoke(came_back(drawn, "drawn"))
    assert sorted(connect.placed) == ["first", "next"]
    # While a new arrival, with no slot of its own, waits in the waiting room
    invoke(sqs_record(request("+14155550103"), message_id="later"))
    assert [message["SourceMessageId"] for message in parked(room)] == ["later"]


def test_a_repeated_contact_event_hands_the_slot_on_once(
    room: str, invoke: Any, connect: ConnectStub, deferred: Any, complete: Any
) -> None:
    # Given two requests waiting on a full instance of one call
    connect.max_live_calls = 1
    invoke(
        sqs_record(request("+14155550101"), message_id="first"),
        sqs_record(request("+14155550102"), message_id="second"),
        sqs_record(request("+14155550103"), message_id="third"),
    )
    assert len(parked(room)) == 2
    # When the placed call's DISCONNECTED event is delivered twice (EventBridge delivers at least once)
    connect.hang_up_all()
    complete(ended(connect.placed["first"]))
    complete(ended(connect.placed["first"]))
    # Then one request is drawn; the other still waits
    assert len(deferred()) == 1
    assert len(parked(room)) == 1


def test_an_ended_call_with_nobody_waiting_leaves_its_slot_for_the_next_arrival(
    room: str, invoke: Any, connect: ConnectStub, complete: Any
) -> None:
    # Given a full instance of one call, its one waiting request placed through a hand-over
    connect.max_live_calls = 1
    invoke(sqs_record(request("+14155550101"), message_id="first"))
    invoke(sqs_record(request("+14155550102"), message_id="held"))
    connect.hang_up_all()
    complete(ended(connect.placed["first"]))
    # When that call ends too, with nobody waiting
    drawn = _drain(SOURCE_QUEUE_URL)
    invoke(came_back(drawn[0], "drawn"))
    connect.hang_up_all()
    complete(ended(connect.placed["held"]))
    # Then the next request to arrive takes its slot and calls, hold or not
    invoke(sqs_record(request("+14155550103"), message_id="next"))
    assert sorted(connect.placed) == ["first", "held", "next"]
    assert parked(room) == []


def test_the_tick_draws_the_waiting_room_once_the_hold_has_passed_and_no_slot_was_handed_on(
    room: str, invoke: Any, connect: ConnectStub, deferred: Any, complete: Any, clock: WallClock
) -> None:
    # Given requests waiting on a full instance whose calls' contact events never come (lost), and room for more
    # since (the instance's other traffic ended)
    connect.max_live_calls = 1
    invoke(*[sqs_record(request(f"+1415555010{index}"), message_id=f"r{index}") for index in range(1, 4)])
    assert len(parked(room)) == 2
    connect.hang_up_all()
    connect.max_live_calls = 3
    # When the schedule's tick comes while the hold is in force, nothing is drawn
    complete(TICK)
    assert deferred() == []
    # When it comes once the hold has passed
    clock.now += 60
    complete(TICK)
    # Then the waiting requests are drawn (an opening's calls), each placed when it arrives
    drawn = deferred()
    assert [message["SourceMessageId"] for message in drawn] == ["r2", "r3"]
    invoke(*[came_back(message, f"drawn-{index}") for index, message in enumerate(drawn)])
    assert sorted(connect.placed) == ["r1", "r2", "r3"]


def test_a_forged_slot_in_the_waiting_room_gets_no_call(
    room: str, invoke: Any, connect: ConnectStub, complete: Any
) -> None:
    # Given a full instance, and a message someone else put in the waiting room claiming a slot, under a MAC of
    # another key
    connect.max_live_calls = 1
    invoke(sqs_record(request("+14155550101"), message_id="first"))
    invoke(sqs_record(request("+14155550102"), message_id="held"))
    connect.hang_up_all()
    body = request("+14155550109")
    forged = {SLOT_HANDED_OVER_ATTRIBUTE: "2026-01-01T00:00:00.000Z"}
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=room,
        MessageBody=body,
        MessageGroupId="room-0",
        MessageDeduplicationId="forged",
        MessageAttributes={
            **{name: {"DataType": "String", "StringValue": value} for name, value in forged.items()},
            "CallerSignature": {"DataType": "String", "StringValue": signature(b"not-our-key", body, forged)},
        },
    )
    # When calls end and hand their slots on, drawing both waiting messages
    complete(ended(connect.placed["first"]))
    invoke(came_back(_drain(SOURCE_QUEUE_URL)[0], "drawn-1"))
    connect.hang_up_all()
    complete(ended(connect.placed["held"]))
    [raw] = [
        message
        for message in sqs.receive_message(
            QueueUrl=SOURCE_QUEUE_URL, MessageAttributeNames=["All"], MaxNumberOfMessages=10
        )["Messages"]
        if message["Body"] == body
    ]
    # Then the forged message went on as it came: no slot signed by the caller's key
    attributes = {name: value["StringValue"] for name, value in raw["MessageAttributes"].items()}
    assert not signed_by_us(SIGNING_KEY.encode(), body, attributes)
    # And the caller, which trusts no steering it did not sign, makes it wait for a slot like any new request
    invoke(sqs_record(body, message_id="forged-drawn", attributes=attributes))
    assert "forged-drawn" not in connect.placed
    assert [message["SourceMessageId"] for message in parked(room)] == ["forged-drawn"]
