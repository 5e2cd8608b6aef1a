"""The opt-out function: a number joins or leaves the suppression list from an event, a contact flow or an operator,
each change announced by the number's hash only; and the caller then never dials it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outbound_caller.config.optout import load_optout_settings
from outbound_caller.optout.collaborators import OptOut, build_optout
from tests.support.lambda_events import FakeLambdaContext

TABLE = "outbound-caller-suppression"
SECRET = "outbound-caller/suppression-key"
BUS = "outbound-call-results"
SINK = "opt-out-announcements"
NUMBER = "+442071838750"
INSTANCE_ARN = "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-4333-8444-555555555555"


def contact_flow_event(address: str = NUMBER, **parameters: str) -> dict[str, Any]:
    """The event Connect's "Invoke AWS Lambda function" block sends (Amazon Connect Administrator Guide)."""
    return {
        "Details": {
            "ContactData": {
                "Attributes": {},
                "Channel": "VOICE",
                "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
                "CustomerEndpoint": {"Address": address, "Type": "TELEPHONE_NUMBER"},
                "InitialContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
                "InitiationMethod": "API",
                "InstanceARN": INSTANCE_ARN,
                "PreviousContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
                "Queue": None,
                "SystemEndpoint": {"Address": "+15550100000", "Type": "TELEPHONE_NUMBER"},
            },
            "Parameters": parameters,
        },
        "Name": "ContactFlowEvent",
    }


def opt_event(detail_type: str, number: str = NUMBER) -> dict[str, Any]:
    """An opt-out or opt-in event as the intake bus's rule delivers it to the function."""
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": "com.example.crm",
        "account": "123456789012",
        "time": "2026-12-07T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"PhoneNumber": number},
    }


@pytest.fixture
def optout() -> Iterator[OptOut]:
    """The opt-out function's collaborators over moto: the list's table and key, a result bus forwarding to a sink."""
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString="the tests' suppression key")
        sqs, events = boto3.client("sqs"), boto3.client("events")
        sink = sqs.create_queue(QueueName=SINK)["QueueUrl"]
        sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.create_event_bus(Name=BUS)
        events.put_rule(Name="sink", EventBusName=BUS, EventPattern=json.dumps({"source": ["connect-outbound-caller"]}))
        events.put_targets(Rule="sink", EventBusName=BUS, Targets=[{"Id": "sink", "Arn": sink_arn}])
        environment = {
            "SUPPRESSION_TABLE_NAME": TABLE,
            "SUPPRESSION_KEY_SECRET_ID": SECRET,
            "RESULT_EVENT_BUS_NAME": BUS,
        }
        yield build_optout(load_optout_settings(environment))


@pytest.fixture
def invoke(optout: OptOut, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Invoke the real opt-out handler over the test's collaborators."""
    monkeypatch.setenv("SUPPRESSION_TABLE_NAME", TABLE)
    monkeypatch.setenv("SUPPRESSION_KEY_SECRET_ID", SECRET)
    from outbound_caller.optout.handler import handler_for

    handler = handler_for(optout)
    return lambda event: handler(event, FakeLambdaContext(function_name="opt-out"))


def announced() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=SINK)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def listed(optout: OptOut, number: str = NUMBER) -> bool:
    return optout.suppression.is_listed(number)


def test_an_opt_out_event_lists_the_number_and_announces_its_hash_only(optout: OptOut, invoke: Any) -> None:
    # Given an opt-out event from a producer
    # When the function handles it
    invoke(opt_event("Outbound Call Opt Out"))
    # Then the number is listed, and the change is announced with the number's hash, never the number
    assert listed(optout)
    [event] = announced()
    assert (event["source"], event["detail-type"]) == ("connect-outbound-caller", "Outbound Call Opt Out")
    assert event["detail"] == {"PhoneNumberHash": optout.suppression.key_of(NUMBER), "Origin": "event"}
    assert "2071838750" not in json.dumps(event)


def test_an_opt_in_event_takes_the_number_off_and_announces_it(optout: OptOut, invoke: Any) -> None:
    # Given a listed number
    optout.suppression.add(NUMBER, "operator")
    # When an opt-in event for it arrives, written another way
    invoke(opt_event("Outbound Call Opt In", "+44 20 7183 8750"))
    # Then it is off the list, and Opt In is announced
    assert not listed(optout)
    assert [event["detail-type"] for event in announced()] == ["Outbound Call Opt In"]


def test_a_callee_pressing_a_key_in_a_contact_flow_is_opted_out(optout: OptOut, invoke: Any) -> None:
    # Given Connect's event from a flow's Invoke AWS Lambda function block, during a call to the number
    # When the function handles it
    answer = invoke(contact_flow_event())
    # Then the callee's number is listed, and the flow reads a flat map of strings to branch on
    assert listed(optout)
    assert answer == {"OptedOut": "true"}
    assert [event["detail"]["Origin"] for event in announced()] == ["contact-flow"]
    # And a flow may opt the callee back in
    assert invoke(contact_flow_event(Action="OptIn")) == {"OptedIn": "true"}
    assert not listed(optout)


def test_an_operator_adds_checks_and_removes_numbers_by_position(optout: OptOut, invoke: Any) -> None:
    # Given a batch of numbers from an operator, one of them not a phone number
    numbers = [NUMBER, "+14155550123", "call me maybe"]
    # When they are added, checked, then one removed
    added = invoke({"Operation": "add", "PhoneNumbers": numbers})
    checked = invoke({"Operation": "check", "PhoneNumbers": [*numbers, "+61291234567"]})
    removed = invoke({"Operation": "remove", "PhoneNumbers": ["+14155550123"]})
    # Then each answer names each number's status by position, never the number
    assert added == {"Statuses": ["listed", "listed", "invalid"], "Unannounced": 0}
    assert checked["Statuses"] == ["listed", "listed", "invalid", "not-listed"]
    assert removed["Statuses"] == ["removed"]
    assert listed(optout)
    assert not listed(optout, "+14155550123")
    assert "4155550123" not in json.dumps([added, checked, removed])


def test_something_else_is_ignored_with_the_fields_at_fault(invoke: Any) -> None:
    # Given an event of none of the three shapes
    # When the function handles it
    answer = invoke({"Operation": "drop", "PhoneNumbers": [NUMBER]})
    # Then nothing changes, and the answer names the field at fault, not its value
    assert "Operation" in answer["Error"]
    assert NUMBER not in answer["Error"]


def test_an_event_whose_change_is_not_announced_fails_so_lambda_tries_again(
    optout: OptOut, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a result bus that is gone
    boto3.client("events").delete_event_bus(Name=BUS)
    monkeypatch.setattr("outbound_caller.results.publisher.MAX_PUBLISH_ROUNDS", 1)
    # When an opt-out event is handled
    # Then the number is listed, and the invocation fails (Lambda retries it; listing again changes nothing)
    from outbound_caller.optout.handler import ChangesNotAnnouncedError

    with pytest.raises(ChangesNotAnnouncedError):
        invoke(opt_event("Outbound Call Opt Out"))
    assert listed(optout)
