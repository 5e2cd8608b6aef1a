"""The caller-ID limit (SOURCE_CALL_LIMIT): calls beyond it wait for a slot, deferred, never refused."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3

from tests.integration.conftest import FunctionUnderTest, failed_ids
from tests.support.connect_stub import ConnectStub
from tests.support.lambda_events import sqs_record

CALLS_TABLE = "outbound-calls-per-destination"


def request(number: str) -> str:
    return json.dumps({"DestinationPhoneNumber": number})


def _counts_table() -> None:
    boto3.client("dynamodb").create_table(
        TableName=CALLS_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_calls_beyond_the_caller_ids_limit_are_deferred_until_a_slot_frees(
    function: FunctionUnderTest, invoke: Any, connect: ConnectStub, deferred: Any, dead_letters: Any
) -> None:
    # Given one call an hour per caller ID, and two requests to different numbers from the default caller ID
    _counts_table()
    function.configure(SOURCE_CALL_LIMIT="1/1h", DESTINATION_CALLS_TABLE_NAME=CALLS_TABLE)
    first_at = function.caller.now_ms()
    # When both arrive
    response = invoke(
        sqs_record(request("+14155550101"), message_id="first"), sqs_record(request("+14155550102"), message_id="next")
    )
    # Then the first is placed, and the second waits until the first call's hour is over: deferred, not refused
    assert failed_ids(response) == set()
    assert list(connect.placed) == ["first"]
    assert dead_letters() == []
    [waiting] = deferred()
    assert (waiting["SourceMessageId"], waiting["DeferralReason"]) == ("next", "SourceCallLimit")
    until_ms = int(datetime.fromisoformat(waiting["DeferredUntil"]).timestamp() * 1000)
    assert first_at + 3_600_000 <= until_ms <= first_at + 3_600_000 + 5_000


def test_a_refused_destination_gives_its_caller_id_slot_back(
    function: FunctionUnderTest, invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given one call per hour per caller ID and one per day per number, the number already called today
    _counts_table()
    function.configure(
        SOURCE_CALL_LIMIT="1/1h", DESTINATION_CALL_LIMIT="1/24h", DESTINATION_CALLS_TABLE_NAME=CALLS_TABLE
    )
    invoke(sqs_record(request("+14155550101"), message_id="called"))
    connect.hang_up_all()
    function.configure(
        SOURCE_CALL_LIMIT="2/1h", DESTINATION_CALL_LIMIT="1/24h", DESTINATION_CALLS_TABLE_NAME=CALLS_TABLE
    )
    # When a second request to that number is refused by its limit, and a third goes to another number
    invoke(sqs_record(request("+14155550101"), message_id="again"))
    invoke(sqs_record(request("+14155550102"), message_id="other"))
    # Then the refused one took no slot of the caller ID's: the third is placed within the hour's two
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["DestinationCallLimit"]
    assert sorted(connect.placed) == ["called", "other"]
