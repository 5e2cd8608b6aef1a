"""The call completion in the stack: its rule on the default bus, its function, its least-privilege role, the GSI."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra.caller import HANDLER as CALLER_HANDLER
from infra.completion import HANDLER
from infra.context_loading import load_cdk_json_settings
from outbound_caller.timeouts import (
    WORST_CASE_CALL_SECONDS,
    WORST_CASE_LEDGER_WRITE_SECONDS,
    WORST_CASE_PUT_EVENTS_SECONDS,
)
from tests.infra.emitted_metrics import function_environment
from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, under

# The completion's rule for contact events (with a waiting room, a tick rule stands beside it).
CONTACT_EVENTS_RULE = f"{COMPLETION_CONSTRUCT_ID}DisconnectedRule"


def _of_completion(template: Template, resource_type: str, prefix: str = COMPLETION_CONSTRUCT_ID) -> dict[str, Any]:
    return {key: value for key, value in template.find_resources(resource_type).items() if key.startswith(prefix)}


def _one(template: Template, resource_type: str, prefix: str = COMPLETION_CONSTRUCT_ID) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = _of_completion(template, resource_type, prefix).items()
    properties: dict[str, Any] = resource["Properties"]
    return logical_id, properties


def _statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _of_completion(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_rule_matches_only_this_instances_api_started_voice_contacts_ending(template: Template) -> None:
    # Given the stack with cdk.json's instance
    instance_id = load_cdk_json_settings().instance_id
    # When the completion's rule is read
    _, rule = _one(template, "AWS::Events::Rule", CONTACT_EVENTS_RULE)
    pattern = rule["EventPattern"]
    # Then it is on the default bus (where Connect publishes) and matches DISCONNECTED events of API-started voice
    # contacts of this instance only
    assert "EventBusName" not in rule
    assert pattern["source"] == ["aws.connect"]
    assert pattern["detail-type"] == ["Amazon Connect Contact Event"]
    assert pattern["detail"]["eventType"] == ["DISCONNECTED"]
    assert pattern["detail"]["initiationMethod"] == ["API"]
    assert pattern["detail"]["channel"] == [{"equals-ignore-case": "VOICE"}]
    (instance_arn,) = pattern["detail"]["instanceArn"]
    assert json.dumps(instance_arn).endswith(f':instance/{instance_id}"]]}}')


def test_the_rule_and_the_function_send_what_they_cannot_handle_to_one_encrypted_dead_letter_queue(
    template: Template,
) -> None:
    # Given the completion's queue, rule and function
    queue_id, queue = _one(template, "AWS::SQS::Queue")
    _, rule = _one(template, "AWS::Events::Rule", CONTACT_EVENTS_RULE)
    _, function = _one(template, "AWS::Lambda::Function")
    # Then the rule's target and the function's asynchronous invocations both dead-letter to it, after retrying
    (target,) = rule["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    # And the queue is encrypted
    assert queue["SqsManagedSseEnabled"] is True


def test_the_function_ships_the_callers_code_asset_with_its_own_handler(template: Template) -> None:
    # Given both functions of the stack
    functions = [resource["Properties"] for resource in template.find_resources("AWS::Lambda::Function").values()]
    caller = next(function for function in functions if function["Handler"] == CALLER_HANDLER)
    _, completion = _one(template, "AWS::Lambda::Function")
    # Then the completion handler runs from the same asset (bundled once), on the same runtime
    assert completion["Handler"] == HANDLER
    assert completion["Code"] == caller["Code"]
    assert (completion["Runtime"], completion["Architectures"]) == (caller["Runtime"], caller["Architectures"])


def test_the_function_knows_the_instance_the_ledger_and_the_result_bus(synth: Any) -> None:
    # Given the stack's instance, placed-calls table and result bus, without the waiting room (test_waiting_room.py
    # adds what the function hands slots on with)
    template = synth(waitingRoom=False)
    instance_id = load_cdk_json_settings().instance_id
    (table_id,) = [key for key in template.find_resources("AWS::DynamoDB::Table") if key.startswith("PlacedCalls")]
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    # When the completion function's environment is read
    _, function = _one(template, "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    # Then it names them (the instance whose contacts it describes), with the caller's Powertools service and
    # namespace, and nothing else
    assert variables == {
        "CONNECT_INSTANCE_ID": instance_id,
        "IDEMPOTENCY_TABLE_NAME": {"Ref": table_id},
        "RESULT_EVENT_BUS_NAME": {"Fn::GetAtt": [bus_id, "Arn"]},
        "POWERTOOLS_SERVICE_NAME": function_environment(template)["POWERTOOLS_SERVICE_NAME"],
        "POWERTOOLS_METRICS_NAMESPACE": function_environment(template)["POWERTOOLS_METRICS_NAMESPACE"],
    }


def test_the_function_has_time_for_every_call_it_makes_through_all_its_retries(template: Template) -> None:
    # Given the completion function
    _, function = _one(template, "AWS::Lambda::Function")
    # When its timeout is read
    # Then it holds a DescribeContact, a query and an outcome write, each through every retry and timeout, and a
    # publish: a slow Connect answer is not taken for a failure
    assert (
        function["Timeout"]
        >= WORST_CASE_CALL_SECONDS + 2 * WORST_CASE_LEDGER_WRITE_SECONDS + WORST_CASE_PUT_EVENTS_SECONDS
    )


def test_the_role_may_only_find_calls_record_outcomes_describe_contacts_and_publish(synth: Any) -> None:
    # Given the completion's role, without the waiting room (test_waiting_room.py adds what drawing it takes)
    template = synth(waitingRoom=False)
    (table_id,) = [key for key in template.find_resources("AWS::DynamoDB::Table") if key.startswith("PlacedCalls")]
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    statements = _statements(template)
    by_sid = {statement["Sid"]: statement for statement in statements if "Sid" in statement}
    # Then DynamoDB is Query on the index, and GetItem and UpdateItem on the ledger's single items (the outcome,
    # written once by a conditional update; the queue a call was routed to): no PutItem, DeleteItem or scan ...
    assert by_sid["FindPlacedCallsByContactId"]["Action"] == "dynamodb:Query"
    assert by_sid["FindPlacedCallsByContactId"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, "/index/by-contact-id"]]
    }
    assert by_sid["RecordOutcomesInTheLedger"]["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert by_sid["RecordOutcomesInTheLedger"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    # ... Connect is DescribeContact on the configured instance's contacts alone ...
    instance_id = load_cdk_json_settings().instance_id
    assert by_sid["DescribeTheInstancesContacts"]["Action"] == "connect:DescribeContact"
    assert by_sid["DescribeTheInstancesContacts"]["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":connect:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":instance/{instance_id}/contact/*",
            ],
        ]
    }
    # ... and EventBridge PutEvents on the result bus alone
    assert by_sid["PublishCompletedEvents"]["Action"] == "events:PutEvents"
    assert by_sid["PublishCompletedEvents"]["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert by_sid["PublishCompletedEvents"]["Condition"] == {
        "StringEquals": {"events:source": "connect-outbound-caller"}
    }
    # And nothing else is granted but writing its logs and its dead-letters, with no wildcard action or resource
    others = sorted(
        action
        for statement in statements
        if statement.get("Sid") not in by_sid
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert others == ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
    resources = [
        statement["Resource"] for statement in statements if statement.get("Sid") != "DescribeTheInstancesContacts"
    ]
    assert "*" not in json.dumps(resources).replace(":*", "")
    _, role = _one(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role


def test_the_placed_calls_table_has_a_sparse_keys_only_index_by_contact_id(template: Template) -> None:
    # Given the placed-calls table
    ((_, table),) = [
        (key, value["Properties"])
        for key, value in template.find_resources("AWS::DynamoDB::Table").items()
        if key.startswith("PlacedCalls")
    ]
    # Then its one index is keyed by contact_id and projects only the keys (no fingerprint)
    assert table["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-contact-id",
            "KeySchema": [{"AttributeName": "contact_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]


def test_without_result_events_there_is_no_completion(synth: Any) -> None:
    # Given result events turned off
    template = synth(resultEvents=False)
    # Then there is nothing to publish completions to, and no completion
    assert _of_completion(template, "AWS::Lambda::Function") == {}
    assert _of_completion(template, "AWS::Events::Rule") == {}
