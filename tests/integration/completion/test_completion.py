"""The completion handler end to end (its world is conftest.py's): which contact it reports, with which token, and
when it fails so that Lambda tries again."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from outbound_caller.completion.report import ContactNotRecordedYetError
from outbound_caller.privacy import mask_token
from tests.integration.completion.conftest import RESULT_BUS, place, received
from tests.support.clock import WallClock
from tests.support.contact_events import ANSWERED, UNANSWERED, contact_event
from tests.support.environment import IDEMPOTENCY_TABLE

TOKEN = "jane.doe@example.com-order-7"
CONTACT_ID = "33333333-3333-4333-8333-333333333333"


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
    handle: Any, sink: str, wall: WallClock
) -> None:
    # Given a contact that ended a second ago, which the eventually consistent index does not show (yet)
    now = datetime.fromtimestamp(wall.now, UTC)
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
    from outbound_caller.config.common import ConfigurationError
    from outbound_caller.config.completion import load_completion_settings

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
