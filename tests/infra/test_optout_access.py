"""Who may invoke the opt-out function (EventBridge for its rule, the Connect instance's flows, the operators) and send
to its dead-letter queue, each exactly; and which events reach it rather than the call-request queue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from aws_cdk.assertions import Template
from moto import mock_aws

from infra.context_loading import load_cdk_json_settings
from infra.producers import call_request_event_pattern, opt_out_event_pattern
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, under

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

OPERATORS = ["210987654321", "arn:aws:iam::123456789012:role/operations"]
_SERVICE_PRINCIPALS = ("connect.amazonaws.com", "events.amazonaws.com")
# One synthesis for the operators' permissions and the function left unassociated (each synth takes seconds).
OPERATED_UNASSOCIATED = {"operatorPrincipals": OPERATORS, "associateOptOutFunction": False}
INSTANCE_ARN_PARTS = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":connect:",
    {"Ref": "AWS::Region"},
    ":",
    {"Ref": "AWS::AccountId"},
]


def _one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = under(template, resource_type, OPT_OUT_CONSTRUCT_ID).items()
    properties: dict[str, Any] = resource["Properties"]
    return logical_id, properties


def _permissions(template: Template) -> list[dict[str, Any]]:
    """The resource policy statements of the opt-out function: who may invoke it."""
    function_id, _ = _one(template, "AWS::Lambda::Function")
    return [
        permission["Properties"]
        for permission in template.find_resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]


def _instance_arn() -> dict[str, Any]:
    return {"Fn::Join": ["", [*INSTANCE_ARN_PARTS, f":instance/{load_cdk_json_settings().instance_id}"]]}


def test_only_its_rule_and_the_instances_flows_may_invoke_it_by_default(template: Template) -> None:
    # Given the stack with no operators named
    rule_id, _ = _one(template, "AWS::Events::Rule")
    # When the function's permissions are read
    permissions = sorted(_permissions(template), key=lambda permission: permission["Principal"])
    # Then Connect may invoke it for this instance only, in this account, and EventBridge for its rule only
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": permissions[0]["FunctionName"],
            "Principal": "connect.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": _instance_arn(),
        },
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": permissions[0]["FunctionName"],
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        },
    ]


def test_the_function_is_associated_with_the_instance_for_its_flows(template: Template) -> None:
    # Given the opt-out function
    function_id, _ = _one(template, "AWS::Lambda::Function")
    # When the instance's integrations are read
    _, association = _one(template, "AWS::Connect::IntegrationAssociation")
    # Then the function is associated with the configured instance (by ARN), as a Lambda function a flow may invoke
    assert association["InstanceId"] == _instance_arn()
    assert association["IntegrationArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert association["IntegrationType"] == "LAMBDA_FUNCTION"


def test_each_operator_may_invoke_it_and_without_the_association_connect_may_not(synth: Any) -> None:
    # Given operators (an account, and a role), and an instance whose integrations are managed elsewhere
    template = synth(**OPERATED_UNASSOCIATED)
    # When the function's permissions and the instance's integrations are read
    permissions = _permissions(template)
    operators = [permission for permission in permissions if permission["Principal"] not in _SERVICE_PRINCIPALS]
    # Then each operator may invoke it, with no condition (the command line's credentials are theirs) ...
    assert sorted(permission["Principal"] for permission in operators) == sorted(OPERATORS)
    assert all(permission["Action"] == "lambda:InvokeFunction" for permission in operators)
    assert all(set(permission) == {"Action", "FunctionName", "Principal"} for permission in operators)
    # ... and there is no association, nor a permission for Connect (adding the function to the instance in the
    # console writes one): EventBridge for the rule is the only service that may invoke it
    assert under(template, "AWS::Connect::IntegrationAssociation", OPT_OUT_CONSTRUCT_ID) == {}
    assert [p["Principal"] for p in permissions if p["Principal"] in _SERVICE_PRINCIPALS] == ["events.amazonaws.com"]


def test_only_the_function_its_rule_and_the_operators_may_send_to_its_dead_letter_queue(synth: Any) -> None:
    # Given operators named
    template = synth(**OPERATED_UNASSOCIATED)
    (queue_id,) = under(template, "AWS::SQS::Queue", OPT_OUT_CONSTRUCT_ID)
    rule_id, _ = _one(template, "AWS::Events::Rule")
    (role_id,) = under(template, "AWS::IAM::Role", OPT_OUT_CONSTRUCT_ID)
    # When its queue policy's deny is read
    (policy,) = under(template, "AWS::SQS::QueuePolicy", OPT_OUT_CONSTRUCT_ID).values()
    (deny,) = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "OnlyTheOptOutAndOperatorsMayDeadLetter"
    ]
    # Then every IAM principal but the function's role, EventBridge for the rule and the operators is denied
    assert deny["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert deny["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [OPERATORS[1], {"Fn::GetAtt": [role_id, "Arn"]}],
            "aws:SourceArn": [{"Fn::GetAtt": [rule_id, "Arn"]}],
        },
        "StringNotEquals": {"aws:PrincipalAccount": [OPERATORS[0]]},
        "Null": {"aws:PrincipalArn": "false"},
    }


def _delivered(sqs: SQSClient, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(json.loads(message["Body"])["detail-type"] for message in messages)


def test_an_opt_out_never_reaches_the_call_request_queue_even_when_the_rule_takes_any_detail_type() -> None:
    # Given moto's EventBridge with both rules' patterns on one bus, the call-request one taking any detail-type from
    # "crm" (the patterns the stack writes: test_the_rule_takes_opt_outs_and_opt_ins... and tests/infra/test_intake.py)
    patterns = {"requests": call_request_event_pattern([], ["crm"]), "opt-outs": opt_out_event_pattern(["crm"])}
    with mock_aws():
        events: EventBridgeClient = boto3.client("events", region_name="us-east-1")
        sqs: SQSClient = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="calls")
        queues = {}
        for name, pattern in patterns.items():
            queues[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queues[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name=name, EventBusName="calls", EventPattern=json.dumps(pattern))
            events.put_targets(Rule=name, EventBusName="calls", Targets=[{"Id": name, "Arn": arn}])
        # When "crm" puts a call request, an opt-out and an opt-in, and another source an opt-out
        events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps({"PhoneNumber": "+15555550100"}),
                    "EventBusName": "calls",
                }
                for source, detail_type in (
                    ("crm", "Outbound Call Requested"),
                    ("crm", "Outbound Call Opt Out"),
                    ("crm", "Outbound Call Opt In"),
                    ("billing", "Outbound Call Opt Out"),
                )
            ]
        )
        # Then the call request reaches the call-request queue alone, and the opt-out and opt-in from "crm" the
        # opt-out function's alone: no number that asked not to be called is ever taken for a call request
        assert _delivered(sqs, queues["requests"]) == ["Outbound Call Requested"]
        assert _delivered(sqs, queues["opt-outs"]) == ["Outbound Call Opt In", "Outbound Call Opt Out"]
