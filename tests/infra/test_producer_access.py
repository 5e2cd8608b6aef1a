"""Who can make it dial: the bus policy, the rule's pattern at work, the queue policy and SNS subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from tests.infra.scopes import find, under

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"
PRODUCER_ACCOUNT = "210987654321"
PRODUCER_ROLE = "arn:aws:iam::123456789012:role/orders"
TOPIC = "arn:aws:sns:us-east-1:123456789012:crm-calls"
PRODUCERS = {
    "eventBusProducerPrincipals": [PRODUCER_ACCOUNT, PRODUCER_ROLE],
    "queueProducerPrincipals": [PRODUCER_ACCOUNT, PRODUCER_ROLE],
    "snsTopicArns": [TOPIC],
}
THIS_ACCOUNT = {"Ref": "AWS::AccountId"}


@pytest.fixture(scope="module")
def with_producers(synth: Any) -> Template:
    """The stack with named bus and queue producers and one SNS topic."""
    template: Template = synth(**PRODUCERS)
    return template


def _bus_statements(template: Template) -> dict[str, dict[str, Any]]:
    (bus_id,) = under(template, "AWS::Events::EventBus", "Intake")
    statements = {}
    for policy in under(template, "AWS::Events::EventBusPolicy", "Intake").values():
        properties = policy["Properties"]
        assert properties["EventBusName"] == {"Ref": bus_id}
        statement = properties["Statement"]
        assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
        statements[statement["Effect"]] = statement
    return statements


def _source_queue_statements(template: Template) -> list[dict[str, Any]]:
    ((queue_id, _),) = [
        item for item in find(template, "AWS::SQS::Queue").items() if "RedrivePolicy" in item[1]["Properties"]
    ]
    (statements,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    result: list[dict[str, Any]] = statements
    return result


def _id_of(template: Template, resource_type: str, construct_id: str = "Intake") -> str:
    (logical_id,) = under(template, resource_type, construct_id)
    return str(logical_id)


def _root_of(account: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:root"]]}


def _principals(statement: dict[str, Any]) -> list[Any]:
    """The statement's AWS principals, in a stable order (CDK's order differs between policy kinds)."""
    return sorted(statement["Principal"]["AWS"], key=json.dumps)


NAMED = sorted([PRODUCER_ROLE, _root_of(PRODUCER_ACCOUNT)], key=json.dumps)


def test_the_bus_admits_only_this_account_by_default(template: Template) -> None:
    # Given the stack with default settings
    # When the policy of the bus it creates is read
    statements = _bus_statements(template)
    # Then this account may put events, and every principal of any other account is denied
    assert set(statements) == {"Allow", "Deny"}
    assert statements["Allow"]["Action"] == statements["Deny"]["Action"] == "events:PutEvents"
    assert statements["Allow"]["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", THIS_ACCOUNT, ":root"]]}
    }
    assert statements["Deny"]["Principal"] == {"AWS": "*"}
    assert statements["Deny"]["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": [THIS_ACCOUNT]}}


def test_the_bus_admits_only_the_named_producers(with_producers: Template) -> None:
    # Given the stack with an account and a role named as bus producers
    # When the bus policy is read
    statements = _bus_statements(with_producers)
    # Then those two may put events, and everyone else, this account's other principals too, is denied
    assert _principals(statements["Allow"]) == NAMED
    assert statements["Deny"]["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": [PRODUCER_ACCOUNT]},
        "ArnNotEquals": {"aws:PrincipalArn": [PRODUCER_ROLE]},
    }


def test_producers_find_the_bus_in_the_outputs(template: Template) -> None:
    # Given the stack
    bus_id = _id_of(template, "AWS::Events::EventBus")
    # When the outputs are read
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    # Then the bus the stack created is named there, by name and by ARN
    assert outputs["EventBusName"] == {"Ref": bus_id}
    assert outputs["EventBusArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}


def test_without_queue_producers_the_queue_policy_names_none(template: Template) -> None:
    # Given the stack without queueProducerPrincipals
    # When the source queue's policy is read
    statements = _source_queue_statements(template)
    # Then nothing is denied but plain-text requests: sending is up to the producers' IAM policies
    assert [statement["Condition"] for statement in statements if statement["Effect"] == "Deny"] == [
        {"Bool": {"aws:SecureTransport": "false"}}
    ]


def test_named_queue_producers_are_allowed_and_everyone_else_but_the_stacks_senders_denied(
    with_producers: Template,
) -> None:
    # Given the stack with an account and a role named as queue producers, and an SNS topic
    rule_id = _id_of(with_producers, "AWS::Events::Rule")
    role_id = _id_of(with_producers, "AWS::IAM::Role", "Caller")
    completion_role_id = _id_of(with_producers, "AWS::IAM::Role", "Completion")
    statements = {statement.get("Sid"): statement for statement in _source_queue_statements(with_producers)}
    # When the producers' statements of the source queue's policy are read
    allow = statements["NamedProducersMaySendCallRequests"]
    deny = statements["NobodyElseMaySendCallRequests"]
    # Then the named producers may send
    assert (allow["Effect"], allow["Action"]) == ("Allow", "sqs:SendMessage")
    assert _principals(allow) == NAMED
    # And anybody else is denied SendMessage, except the function (it sends deferrals back), the completion function
    # (it draws waiting requests in), the rule and the topic
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == ("Deny", "sqs:SendMessage", {"AWS": "*"})
    assert deny["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [
                PRODUCER_ROLE,
                {"Fn::GetAtt": [role_id, "Arn"]},
                {"Fn::GetAtt": [completion_role_id, "Arn"]},
            ],
            "aws:SourceArn": [{"Fn::GetAtt": [rule_id, "Arn"]}, TOPIC],
        },
        "StringNotEquals": {"aws:PrincipalAccount": [PRODUCER_ACCOUNT]},
    }
    # And the role exempted is the one the function runs as
    ((_, function),) = find(with_producers, "AWS::Lambda::Function").items()
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_a_topic_is_subscribed_without_raw_delivery_and_only_it_may_send_as_sns(with_producers: Template) -> None:
    # Given the stack with an SNS topic in another region
    # When its subscription and the queue policy's SNS statement are read
    ((_, subscription),) = with_producers.find_resources("AWS::SNS::Subscription").items()
    sns_statements = [
        statement
        for statement in _source_queue_statements(with_producers)
        if statement["Principal"] == {"Service": "sns.amazonaws.com"}
    ]
    # Then the queue is subscribed in the topic's region, envelopes kept (the function reads the SNS Message)
    properties = subscription["Properties"]
    assert (properties["TopicArn"], properties["Protocol"], properties["Region"]) == (TOPIC, "sqs", "us-east-1")
    assert properties.get("RawMessageDelivery", False) is False
    # And SNS may send only on behalf of that topic
    assert sns_statements == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Resource": sns_statements[0]["Resource"],
        }
    ]


def _event(source: str, detail_type: str, bus: str) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps({"PhoneNumber": "+15555550100"}),
        "EventBusName": bus,
    }


@pytest.fixture
def aws() -> Iterator[tuple[EventBridgeClient, SQSClient]]:
    """moto's EventBridge and SQS."""
    with mock_aws():
        yield boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)


def _bus_with_the_stacks_rule(events: EventBridgeClient, sqs: SQSClient, template: Template) -> tuple[str, str]:
    """A bus in moto with the synthesized rule's own pattern, targeting a queue; returns the bus name and queue URL."""
    (rule,) = under(template, "AWS::Events::Rule", "Intake").values()
    bus = "calls"
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName="requests")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="requests", EventBusName=bus, EventPattern=json.dumps(rule["Properties"]["EventPattern"]))
    events.put_targets(Rule="requests", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return bus, queue_url


def _delivered(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_only_the_configured_sources_reach_the_queue(synth: Any, aws: tuple[EventBridgeClient, SQSClient]) -> None:
    # Given moto's EventBridge with the rule of a stack on a shared bus accepting source "crm"
    events, sqs = aws
    template = synth(eventBusName="calls", eventSources="crm")
    bus, queue_url = _bus_with_the_stacks_rule(events, sqs, template)
    # When "crm", another source and "crm" with another detail type put events
    events.put_events(
        Entries=[
            _event("crm", "Outbound Call Requested", bus),
            _event("billing", "Outbound Call Requested", bus),
            _event("crm", "Invoice Paid", bus),
        ]
    )
    # Then only the first reaches the queue
    assert [(event["source"], event["detail-type"]) for event in _delivered(sqs, queue_url)] == [
        ("crm", "Outbound Call Requested")
    ]


def test_an_archive_replay_does_not_reach_the_queue(
    template: Template, aws: tuple[EventBridgeClient, SQSClient]
) -> None:
    # Given moto's EventBridge with the default stack's rule, an archive of the bus, and one request delivered
    events, sqs = aws
    bus, queue_url = _bus_with_the_stacks_rule(events, sqs, template)
    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    archive_arn = events.create_archive(ArchiveName="everything", EventSourceArn=bus_arn)["ArchiveArn"]
    events.put_events(Entries=[_event("crm", "Outbound Call Requested", bus)])
    (original,) = _delivered(sqs, queue_url)
    # and a rule that sees only replays, so the replay is shown to happen
    replays_url = sqs.create_queue(QueueName="replays")["QueueUrl"]
    replays_arn = sqs.get_queue_attributes(QueueUrl=replays_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="replays", EventBusName=bus, EventPattern=json.dumps({"replay-name": [{"exists": True}]}))
    events.put_targets(Rule="replays", EventBusName=bus, Targets=[{"Id": "replays", "Arn": replays_arn}])
    # When the archive is replayed to the bus (EventBridge adds a top-level replay-name to each replayed event)
    now = datetime.now(UTC)
    events.start_replay(
        ReplayName="incident-42",
        EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(hours=1),
        EventEndTime=now + timedelta(hours=1),
        Destination={"Arn": bus_arn},
    )
    # Then the request was replayed, carrying replay-name, but not to the call-request queue: nobody is rung again
    (replayed,) = _delivered(sqs, replays_url)
    assert (replayed["replay-name"], replayed["detail"]) == ("incident-42", original["detail"])
    assert _delivered(sqs, queue_url) == []
