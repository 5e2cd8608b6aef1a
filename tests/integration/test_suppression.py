"""The suppression list through the handler: a listed number is never called, whenever and however it arrives."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from outbound_caller.results.publisher import ResultEvents
from outbound_caller.safety.suppression import SuppressionList, suppression_key
from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.connect_stub import ConnectStub
from tests.support.lambda_events import sqs_record

TABLE = "outbound-caller-suppression"
SECRET = "outbound-caller/suppression-key"
KEY = "a suppression key of the tests"
BUS = "outbound-call-results"
LONDON = "+442071838750"
# 22:00 on Sunday 22 November 2026 in London: outside 08:00-21:00.
NIGHT_IN_LONDON = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
MORNING_IN_LONDON = datetime(2026, 11, 23, 8, 20, tzinfo=UTC)


def request(number: str = LONDON) -> str:
    return json.dumps({"DestinationPhoneNumber": number})


@pytest.fixture
def suppression(function: FunctionUnderTest) -> SuppressionList:
    """The list's table and key in moto, the function configured with them; returns the list as an operator holds it."""
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=KEY)
    function.configure(SUPPRESSION_TABLE_NAME=TABLE, SUPPRESSION_KEY_SECRET_ID=SECRET)
    return SuppressionList(TABLE, boto3.client("dynamodb"), SECRET, boto3.client("secretsmanager"))


@pytest.fixture
def published(function: FunctionUnderTest) -> list[dict[str, Any]]:
    """The result events the function publishes (their entries as PutEvents receives them)."""
    boto3.client("events").create_event_bus(Name=BUS)
    entries: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        entries.extend(params["Entries"])

    function.clients.events.meta.events.register("provide-client-params.events.PutEvents", record)
    function.rebuild(results=ResultEvents(function.clients.events, BUS, sleep=lambda _seconds: None))
    return entries


def test_the_key_of_a_number_is_the_contracts_hmac_of_its_e164_line() -> None:
    # Given the list's key and a number
    # When its item key is computed
    # Then it is hmac-sha256: and the lowercase hex of HMAC-SHA256(key, the number in E.164), whatever way it is written
    expected = "hmac-sha256:" + hmac.new(KEY.encode(), LONDON.encode(), hashlib.sha256).hexdigest()
    assert suppression_key(KEY.encode(), LONDON) == expected
    assert suppression_key(KEY.encode(), "+44 20 7183 8750") == expected
    assert suppression_key(KEY.encode(), "+4402071838750") == expected


def test_a_listed_destination_is_suppressed_with_no_call_and_no_dead_letter(
    suppression: SuppressionList,
    invoke: Any,
    connect: ConnectStub,
    dead_letters: Any,
    log_lines: Any,
    published: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a London number on the list, listed as an operator wrote it (spaces)
    suppression.add("+44 20 7183 8750", "test")
    # When requests to it arrive, written with and without the trunk 0
    response = invoke(
        sqs_record(request(LONDON), message_id="listed"), sqs_record(request("+4402071838750"), message_id="trunk")
    )
    # Then neither is called, nor dead-lettered, nor retried: both are acknowledged as suppressed
    assert connect.requests == []
    assert dead_letters() == []
    assert failed_ids(response) == set()
    outcomes = [(line["outcome"], line["error_code"]) for line in log_lines() if "outcome" in line]
    assert outcomes == [("suppressed", "DestinationSuppressed")] * 2
    # and announced as Rejected with ErrorCode DestinationSuppressed, and counted
    assert [(entry["DetailType"], json.loads(entry["Detail"])["ErrorCode"]) for entry in published] == [
        ("Outbound Call Rejected", "DestinationSuppressed")
    ] * 2
    assert '"CallsSuppressed":[1.0,1.0]' in capsys.readouterr().out


def test_a_number_opted_out_while_its_request_waits_is_not_called_when_it_comes_back(
    suppression: SuppressionList,
    function: FunctionUnderTest,
    invoke: Any,
    connect: ConnectStub,
    deferred: Any,
) -> None:
    # Given a request deferred at night to London's morning
    function.configure(SUPPRESSION_TABLE_NAME=TABLE, SUPPRESSION_KEY_SECRET_ID=SECRET, CALLING_HOURS="08:00-21:00")
    function.rebuild(clock=NIGHT_IN_LONDON.timestamp)
    invoke(sqs_record(request(), message_id="waiting"))
    [copy] = deferred()
    # When the callee opts out meanwhile, and the request comes back in the morning
    suppression.add(LONDON, "contact-flow")
    function.rebuild(clock=MORNING_IN_LONDON.timestamp)
    invoke(came_back(copy, "morning"))
    # Then it is not called
    assert connect.requests == []


@pytest.mark.parametrize("missing", ["key", "table"])
def test_while_the_list_cannot_be_read_no_call_is_made_and_the_record_is_retried(
    suppression: SuppressionList,
    invoke: Any,
    connect: ConnectStub,
    dead_letters: Any,
    log_lines: Any,
    missing: str,
) -> None:
    # Given the list's key, or its table, gone
    if missing == "key":
        boto3.client("secretsmanager").delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
    else:
        boto3.client("dynamodb").delete_table(TableName=TABLE)
    # When a request arrives
    response = invoke(sqs_record(request(), message_id="unchecked"))
    # Then it is not called: retried, with its reason logged
    assert connect.requests == []
    assert failed_ids(response) == {"unchecked"}
    assert dead_letters() == []
    retried = [line for line in log_lines() if line.get("outcome") == "retried"]
    assert [line["error_code"] for line in retried] == ["SuppressionListUnavailable"]


def test_a_number_not_on_the_list_is_called(suppression: SuppressionList, invoke: Any, connect: ConnectStub) -> None:
    # Given another number on the list
    suppression.add("+14155550199", "test")
    # When a request to a number not on it arrives
    invoke(sqs_record(request(), message_id="free"))
    # Then it is called
    assert list(connect.placed) == ["free"]
