"""The opt-out function in the stack: its code and environment, its role, its rule on the intake bus and its
dead-letter queue (who may invoke it: tests/infra/test_optout_access.py)."""

from __future__ import annotations

import ast
import json
from typing import Any

from aws_cdk.assertions import Template

from infra.caller import HANDLER as CALLER_HANDLER
from infra.optout import HANDLER
from infra.repository import REPO_ROOT
from tests.infra.emitted_metrics import function_environment
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, SUPPRESSION_CONSTRUCT_ID, under


def _one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = under(template, resource_type, OPT_OUT_CONSTRUCT_ID).items()
    properties: dict[str, Any] = resource["Properties"]
    return logical_id, properties


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


def test_the_output_names_the_function_for_the_command_line(template: Template) -> None:
    # Given the opt-out function
    function_id, _ = _one(template, "AWS::Lambda::Function")
    # When the outputs are read
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    # Then OptOutFunctionName, which `outbound_caller.cli suppress --function-name` takes, names it
    assert outputs["OptOutFunctionName"] == {"Ref": function_id}
