"""The opt-out function in the stack: its code and environment, its rule on the intake bus, and who may invoke it
(EventBridge for that rule, the Connect instance's flows, the operators), each exactly."""

from __future__ import annotations

import ast
import json
from typing import TYPE_CHECKING, Any

import boto3
from aws_cdk.assertions import Template
from moto import mock_aws

from infra.caller import HANDLER as CALLER_HANDLER
from infra.context_loading import load_cdk_json_settings
from infra.optout import HANDLER
from infra.producers import call_request_event_pattern, opt_out_event_pattern
from infra.repository import REPO_ROOT
from tests.infra.emitted_metrics import function_environment
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, SUPPRESSION_CONSTRUCT_ID, under

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


def test_the_handler_the_stack_names_is_the_opt_out_modules_entry_point() -> None:
    # Given the opt-out handler's module, read as source (importing it would build its AWS clients)
    module, name = HANDLER.rsplit(".", 1)
    source = (REPO_ROOT / "lambda" / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    # When its top-level names are collected
    names = {
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    # Then the name the stack gives Lambda is defined there
    assert name in names


def test_the_function_ships_the_callers_asset_with_the_list_its_key_and_the_result_bus(template: Template) -> None:
    # Given the caller, the list's table and key, and the result bus
    (caller,) = under(template, "AWS::Lambda::Function", "Caller").values()
    (table_id,) = under(template, "AWS::DynamoDB::Table", SUPPRESSION_CONSTRUCT_ID)
    (key_id,) = under(template, "AWS::SecretsManager::Secret", SUPPRESSION_CONSTRUCT_ID)
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    # When the opt-out function is read
    _, function = _one(template, "AWS::Lambda::Function")
    # Then it runs its own handler from the caller's asset (bundled once), on the same runtime
    assert caller["Properties"]["Handler"] == CALLER_HANDLER
    assert function["Handler"] == HANDLER
    assert function["Code"] == caller["Properties"]["Code"]
    assert (function["Runtime"], function["Architectures"]) == (
        caller["Properties"]["Runtime"],
        caller["Properties"]["Architectures"],
    )
    # And its environment is the list, its key's exact ARN, the result bus, and the caller's Powertools service and
    # namespace (one set of metrics, which the alarms and the dashboard read)
    caller_environment = function_environment(template)
    assert function["Environment"]["Variables"] == {
        "SUPPRESSION_TABLE_NAME": {"Ref": table_id},
        "SUPPRESSION_KEY_SECRET_ID": {"Ref": key_id},
        "RESULT_EVENT_BUS_NAME": {"Fn::GetAtt": [bus_id, "Arn"]},
        "POWERTOOLS_SERVICE_NAME": caller_environment["POWERTOOLS_SERVICE_NAME"],
        "POWERTOOLS_METRICS_NAMESPACE": caller_environment["POWERTOOLS_METRICS_NAMESPACE"],
    }


def test_without_result_events_the_function_announces_nothing_and_may_publish_nowhere(synth: Any) -> None:
    # Given result events turned off
    template = synth(resultEvents=False)
    # When the opt-out function and its role are read
    _, function = _one(template, "AWS::Lambda::Function")
    actions = [
        statement["Action"]
        for policy in under(template, "AWS::IAM::Policy", OPT_OUT_CONSTRUCT_ID).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    # Then it still changes the list, but has no bus to announce on, nor a grant to
    assert "RESULT_EVENT_BUS_NAME" not in function["Environment"]["Variables"]
    assert "events:PutEvents" not in json.dumps(actions)


def test_the_role_may_change_the_list_announce_on_the_result_bus_dead_letter_and_log_nothing_more(
    template: Template,
) -> None:
    # Given the opt-out function's role
    statements = [
        statement
        for policy in under(template, "AWS::IAM::Policy", OPT_OUT_CONSTRUCT_ID).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (queue_id,) = under(template, "AWS::SQS::Queue", OPT_OUT_CONSTRUCT_ID)
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    by_sid = {statement["Sid"]: statement for statement in statements if "Sid" in statement}
    # When its statements are read
    # Then it announces on the result bus alone, with the contract's source alone ...
    assert by_sid["AnnounceSuppressionListChanges"] == {
        "Action": "events:PutEvents",
        "Condition": {"StringEquals": {"events:source": "connect-outbound-caller"}},
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [bus_id, "Arn"]},
        "Sid": "AnnounceSuppressionListChanges",
    }
    # ... sends only to its own dead-letter queue (Lambda's asynchronous-invocation dead-letter) ...
    (send,) = [statement for statement in statements if statement["Action"] == "sqs:SendMessage"]
    assert send["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # ... and holds nothing else but the list's grants (tests/infra/test_suppression.py) and writing its logs
    assert sorted(by_sid) == [
        "AnnounceSuppressionListChanges",
        "ChangeTheSuppressionList",
        "ChangeTheSuppressionListKey",
    ]
    unnamed = [statement["Action"] for statement in statements if "Sid" not in statement]
    assert sorted(unnamed, key=json.dumps) == ["sqs:SendMessage", ["logs:CreateLogStream", "logs:PutLogEvents"]]
    (_, role) = _one(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role


def test_the_rule_takes_opt_outs_and_opt_ins_on_the_intake_bus_never_a_replay(template: Template) -> None:
    # Given the intake bus
    (bus_id,) = under(template, "AWS::Events::EventBus", "Intake")
    # When the opt-out rule is read
    _, rule = _one(template, "AWS::Events::Rule")
    # Then it listens there for both detail-types, from any source the bus admits (its policy names the producers),
    # and never for an archive replay (a replayed opt-in would undo a later opt-out)
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["EventPattern"] == {
        "detail-type": ["Outbound Call Opt Out", "Outbound Call Opt In"],
        "replay-name": [{"exists": False}],
    }


def test_on_a_shared_bus_the_rule_takes_only_the_intake_rules_sources(synth: Any) -> None:
    # Given a shared bus with the sources allowed to request calls
    template = synth(eventBusName="calls", eventSources="crm")
    # When the opt-out rule is read
    _, rule = _one(template, "AWS::Events::Rule")
    # Then it takes opt-outs from those sources only, on that bus
    assert rule["EventBusName"] == "calls"
    assert rule["EventPattern"]["source"] == ["crm"]


def test_what_the_rule_or_the_function_cannot_handle_goes_to_its_dead_letter_queue_after_retries(
    template: Template,
) -> None:
    # Given the opt-out function, its rule and its queue
    queue_id, queue = _one(template, "AWS::SQS::Queue")
    function_id, function = _one(template, "AWS::Lambda::Function")
    _, rule = _one(template, "AWS::Events::Rule")
    _, invoke_config = _one(template, "AWS::Lambda::EventInvokeConfig")
    # When the rule's target and the function's asynchronous invocations are read
    (target,) = rule["Targets"]
    # Then both retry (EventBridge for a day, Lambda twice), then dead-letter to the encrypted queue
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert queue["SqsManagedSseEnabled"] is True


def test_logs_are_kept_a_month(template: Template) -> None:
    # Given the opt-out function and its log group
    log_group_id, log_group = _one(template, "AWS::Logs::LogGroup")
    _, function = _one(template, "AWS::Lambda::Function")
    # Then it logs there, kept 30 days as the other functions' logs
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
    assert log_group["RetentionInDays"] == 30


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


def test_the_output_names_the_function_for_the_command_line(template: Template) -> None:
    # Given the opt-out function
    function_id, _ = _one(template, "AWS::Lambda::Function")
    # When the outputs are read
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    # Then OptOutFunctionName, which `outbound_caller.cli suppress --function-name` takes, names it
    assert outputs["OptOutFunctionName"] == {"Ref": function_id}


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
