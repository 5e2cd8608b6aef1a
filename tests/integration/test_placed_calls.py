"""The placed-calls ledger's items: what DynamoDB holds about a call, and what it never holds."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.connect_stub import ConnectStub
from tests.support.environment import IDEMPOTENCY_TABLE
from tests.support.lambda_events import sqs_record

NUMBER = "+14155550123"
TOKEN = "jane.doe@example.com-order-7"


def test_items_hold_hashes_never_the_token_or_the_number(invoke: Any, connect: ConnectStub) -> None:
    # Given a placed call with a producer's own token
    invoke(sqs_record(json.dumps({"DestinationPhoneNumber": NUMBER, "ClientToken": TOKEN})))
    # When the table is read back
    items = boto3.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    # Then one item says the call was placed, with its ContactId and an expiry, and holds neither token nor number
    assert [(item["status"]["S"], item["contact_id"]["S"]) for item in items] == [("PLACED", "contact-0001")]
    assert "expiration" in items[0]
    text = json.dumps(items)
    assert TOKEN not in text
    assert NUMBER.lstrip("+") not in text
