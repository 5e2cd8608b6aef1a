"""The completion handler end to end: moto DynamoDB holds the placed-calls ledger with its ContactId index, and the
Completed event is read where a producer would read it, from an SQS queue behind a rule on the result bus."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.intake import expiring_table_definition
from outbound_caller.completion.report import ContactNotRecordedYetError
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.connect.placed_calls import PlacedCallsLedger, new_claim_id
from outbound_caller.privacy import mask_token
from outbound_caller.wiring import build_completion
from tests.support.contact_events import ANSWERED, UNANSWERED, contact_event
from tests.support.environment import FUNCTION_ENVIRONMENT, IDEMPOTENCY_TABLE
from tests.support.lambda_events import FakeLambdaContext

RESULT_BUS = "outbound-call-results"
SINK_QUEUE = "completed-events-sink"
TOKEN = "jane.doe@example.com-order-7"
CONTACT_ID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def sink() -> Iterator[str]:
    """moto's ledger table (as local/intake.py and the stack lay it out) and a result bus whose events reach a queue."""
    with mock_aws():
        boto3.client("dynamodb").create_table(**expiring_table_definition(IDEMPOTENCY_TABLE, contact_id_index=True))
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName=SINK_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.create_event_bus(Name=RESULT_BUS)
        events.put_rule(
            Name="completed", EventBusName=RESULT_BUS, EventPattern=json.dumps({"source": ["connect-outbound-caller"]})
        )
        events.put_targets(Rule="completed", EventBusName=RESULT_BUS, Targets=[{"Id": "sink", "Arn": queue_arn}])
        yield queue_url


@pytest.fixture
def handle(sink: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke the real completion handler with one contact event."""
    # Set before the handler module is first imported: it builds its collaborators from the environment, as at a cold
    # start; the test's own are built from the same variables.
    monkeypatch.setenv("RESULT_EVENT_BUS_NAME", RESULT_BUS)
    from outbound_caller.completion.handler import handler_for

    settings = load_completion_settings({**FUNCTION_ENVIRONMENT, "RESULT_EVENT_BUS_NAME": RESULT_BUS})
    lambda_handler = handler_for(build_completion(settings))

    def _handle(event: dict[str, Any]) -> Any:
        return lambda_handler(event, FakeLambdaContext(function_name="completion"))

    return _handle


def received(queue_url: str) -> list[dict[str, Any]]:
    """Every event the sink queue holds."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def place(token: str, contact_id: str) -> None:
    """Record a placed call in the ledger exactly as the caller function does: claim, then complete."""
    ledger = PlacedCallsLedger(IDEMPOTENCY_TABLE, boto3.client("dynamodb"))
    attempt = ledger.claim(token, "fingerprint", lease_until_ms=0, claim_id=new_claim_id())
    assert isinstance(attempt, int)
    ledger.complete(token, attempt, contact_id)


def test_a_placed_call_that_ended_is_reported_with_its_token(handle: Any, sink: str) -> None:
    # Given a call the function placed, recorded in the ledger under its token
    place(TOKEN, CONTACT_ID)
    # When Connect reports its contact disconnected
    handle(contact_event(ANSWERED, contactId=CONTACT_ID))
    # Then one Outbound Call Completed reaches the result bus, with the token as the Placed event showed it
    [event] = received(sink)
    assert (event["source"], event["detail-type"]) == ("connect-outbound-caller", "Outbound Call Completed")
    assert event["detail"]["ContactId"] == CONTACT_ID
    assert event["detail"]["ClientToken"] == mask_token(TOKEN)
    assert (event["detail"]["Connected"], event["detail"]["DurationSeconds"]) == (True, 42.25)


def test_a_contact_the_ledger_does_not_hold_is_still_reported_without_a_token(handle: Any, sink: str) -> None:
    # Given a ledger holding another call only (the index may lag behind a call ended within a second of placing)
    place(TOKEN, CONTACT_ID)
    # When Connect reports a contact the ledger does not hold
    handle(contact_event(UNANSWERED))
    # Then its completion is still published, without a ClientToken, rather than lost
    [event] = received(sink)
    assert event["detail"]["ContactId"] == "22222222-2222-2222-2222-222222222222"
    assert "ClientToken" not in event["detail"]
    assert event["detail"]["Connected"] is False


def test_a_contact_ended_moments_ago_that_the_ledger_does_not_show_yet_is_retried_not_published(
    handle: Any, sink: str
) -> None:
    # Given a contact that ended a second ago, which the eventually consistent index does not show (yet)
    now = datetime.now(UTC)
    event = contact_event(
        UNANSWERED,
        initiationTimestamp=_iso(now - timedelta(seconds=31)),
        disconnectTimestamp=_iso(now - timedelta(seconds=1)),
    )
    # When Connect reports it
    # Then the invocation fails, so Lambda tries again once the ledger has caught up, and nothing is published yet
    with pytest.raises(ContactNotRecordedYetError):
        handle(event)
    assert received(sink) == []


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_the_published_event_holds_no_phone_number_and_no_token(handle: Any, sink: str) -> None:
    # Given a placed call whose contact event carries the customer's number
    place(TOKEN, CONTACT_ID)
    raw = contact_event(ANSWERED, contactId=CONTACT_ID)
    number = raw["detail"]["customerEndpoint"]["address"]
    # When its completion is published
    handle(raw)
    # Then neither the number nor the producer's token is anywhere in what the bus delivered
    text = json.dumps(received(sink))
    assert number.lstrip("+") not in text
    assert TOKEN not in text


def test_an_event_that_is_not_a_contact_event_fails_naming_the_field_and_publishes_nothing(
    handle: Any, sink: str
) -> None:
    # Given an event without a contactId
    from outbound_caller.completion.handler import NotAContactEventError

    event = contact_event(ANSWERED, contactId=None)
    # When it is handled, then it fails (Lambda retries it, then dead-letters it) naming the missing field
    with pytest.raises(NotAContactEventError, match=r"detail\.contactId"):
        handle(event)
    assert received(sink) == []


def test_an_event_other_than_a_voice_disconnection_is_ignored(handle: Any, sink: str) -> None:
    # Given a chat's DISCONNECTED event and a call's CONNECTED_TO_SYSTEM event (the rule routes neither here)
    for event in (contact_event(ANSWERED, channel="CHAT"), contact_event(ANSWERED, eventType="CONNECTED_TO_SYSTEM")):
        # When each is handled, then nothing is published
        assert handle(event) is None
    assert received(sink) == []


def test_the_handler_refuses_to_start_without_its_result_bus() -> None:
    # Given an environment without RESULT_EVENT_BUS_NAME
    from outbound_caller.config.completion import load_completion_settings
    from outbound_caller.config.settings import ConfigurationError

    environ = {key: value for key, value in os.environ.items() if key != "RESULT_EVENT_BUS_NAME"}
    # Then loading its settings fails naming the variable
    with pytest.raises(ConfigurationError, match="RESULT_EVENT_BUS_NAME"):
        load_completion_settings(environ)


def test_a_completion_the_bus_refuses_fails_the_invocation_so_lambda_retries_it(handle: Any, sink: str) -> None:
    # Given a placed call, and a result bus that no longer exists
    from outbound_caller.completion.handler import CompletionNotPublishedError

    place(TOKEN, CONTACT_ID)
    boto3.client("events").remove_targets(Rule="completed", EventBusName=RESULT_BUS, Ids=["sink"])
    boto3.client("events").delete_rule(Name="completed", EventBusName=RESULT_BUS)
    boto3.client("events").delete_event_bus(Name=RESULT_BUS)
    # When Connect reports its contact disconnected, then the invocation fails (Lambda retries it, then dead-letters
    # the contact event), rather than succeeding with the completion lost
    with pytest.raises(CompletionNotPublishedError):
        handle(contact_event(ANSWERED, contactId=CONTACT_ID))


def test_an_unavailable_ledger_fails_the_invocation_and_publishes_nothing(handle: Any, sink: str) -> None:
    # Given the placed-calls table gone (or unreachable)
    boto3.client("dynamodb").delete_table(TableName=IDEMPOTENCY_TABLE)
    # When Connect reports a contact disconnected, then the invocation fails for Lambda to retry, and nothing is
    # published without the ClientToken the ledger may hold
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        handle(contact_event(ANSWERED, contactId=CONTACT_ID))
    assert received(sink) == []
