"""The function and its event source: runtime, architecture, timeout, environment, tracing, logs, batching."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from infra.caller import RUNTIME
from infra.context_loading import load_cdk_json_settings
from outbound_caller.config.pacing_fields import DEFAULT_CALLS_BURST, DEFAULT_CONCURRENT_CALLS_LIMIT
from outbound_caller.config.settings import DEFAULT_MAX_DEFERRAL_SECONDS
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS
from tests.infra.scopes import SUPPRESSION_CONSTRUCT_ID, find, under


def _function(template: Template) -> dict[str, Any]:
    functions: Mapping[str, Any] = find(template, "AWS::Lambda::Function")
    ((_, function),) = functions.items()
    properties: dict[str, Any] = function["Properties"]
    return properties


def _event_source_mapping(template: Template) -> dict[str, Any]:
    mappings: Mapping[str, Any] = find(template, "AWS::Lambda::EventSourceMapping")
    ((_, mapping),) = mappings.items()
    properties: dict[str, Any] = mapping["Properties"]
    return properties


def _newest_python_runtime() -> str:
    versions = [
        tuple(int(part) for part in name.removeprefix("PYTHON_").split("_"))
        for name in dir(lambda_.Runtime)
        if name.startswith("PYTHON_3_")
    ]
    major, minor = max(versions)
    return f"python{major}.{minor}"


def test_function_runs_the_newest_python_runtime_cdk_offers_on_arm64(template: Template) -> None:
    # Given the stack and the installed aws-cdk-lib's list of runtimes
    newest = _newest_python_runtime()
    # When the function is read
    function = _function(template)
    # Then it uses the newest Python runtime, on Graviton
    assert function["Runtime"] == newest == RUNTIME.name
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "outbound_caller.handler.lambda_handler"


def test_function_has_active_tracing_and_a_log_group_with_retention(template: Template) -> None:
    # Given the stack
    # When the function and its log group are read
    function = _function(template)
    log_groups = find(template, "AWS::Logs::LogGroup")
    # Then X-Ray tracing is active and the function logs to the stack's log group, kept 30 days
    assert function["TracingConfig"] == {"Mode": "Active"}
    ((log_group_id, log_group),) = log_groups.items()
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_function_environment_is_exactly_the_contracts_variables(template: Template) -> None:
    # Given cdk.json's settings
    settings = load_cdk_json_settings()
    # When the function's environment is read
    variables = _function(template)["Environment"]["Variables"]
    # Then it holds the contract's variables with the configured values, the queues' URLs, the placed-calls
    # table's name, the result event bus's ARN and the suppression list's table and key
    dead_letter_queue_url = variables["DEAD_LETTER_QUEUE_URL"]
    source_queue_url = variables["SOURCE_QUEUE_URL"]
    table_name = variables["IDEMPOTENCY_TABLE_NAME"]
    result_bus = variables["RESULT_EVENT_BUS_NAME"]
    signing_key = variables["MESSAGE_SIGNING_KEY_SECRET_ID"]
    suppression_table = variables["SUPPRESSION_TABLE_NAME"]
    suppression_key = variables["SUPPRESSION_KEY_SECRET_ID"]
    waiting_room = variables["WAITING_ROOM_QUEUE_URL"]
    assert waiting_room["Ref"] in under(template, "AWS::SQS::Queue", "WaitingRoomQueue")
    assert signing_key["Ref"] in find(template, "AWS::SecretsManager::Secret")
    assert set(dead_letter_queue_url) == set(source_queue_url) == set(table_name) == {"Ref"}
    assert table_name["Ref"] in find(template, "AWS::DynamoDB::Table")
    assert result_bus["Fn::GetAtt"][0] in find(template, "AWS::Events::EventBus")
    assert suppression_table["Ref"] in under(template, "AWS::DynamoDB::Table", SUPPRESSION_CONSTRUCT_ID)
    assert suppression_key["Ref"] in under(template, "AWS::SecretsManager::Secret", SUPPRESSION_CONSTRUCT_ID)
    assert variables == settings.function_environment(
        dead_letter_queue_url,
        table_name,
        source_queue_url=source_queue_url,
        message_signing_key_secret_id=signing_key,
        result_event_bus_name=result_bus,
        suppression_table_name=suppression_table,
        suppression_key_secret_id=suppression_key,
        waiting_room_queue_url=waiting_room,
    )
    assert variables["CONNECT_INSTANCE_ID"] == settings.instance_id
    assert variables["CALLS_PER_SECOND"] == "2"
    assert variables["MAX_CONCURRENCY"] == "2"
    assert variables["CALLS_BURST"] == f"{DEFAULT_CALLS_BURST:g}"
    assert variables["CONCURRENT_CALLS_LIMIT"] == str(DEFAULT_CONCURRENT_CALLS_LIMIT)
    assert variables["MAX_DEFERRAL_SECONDS"] == str(DEFAULT_MAX_DEFERRAL_SECONDS)
    assert variables["POWERTOOLS_SERVICE_NAME"] == "connect-outbound-caller"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ConnectOutboundCaller"


def test_busy_instance_settings_reach_the_function_from_context(synth: Any) -> None:
    # Given the burst, the instance's concurrent-call quota and the deferral bound as -c passes them (strings)
    template = synth(callsBurst="8", concurrentCallsLimit="40", maxDeferralSeconds="3600")
    # When the function's environment is read
    variables = _function(template)["Environment"]["Variables"]
    # Then it carries them under the contract's names
    assert variables["CALLS_BURST"] == "8"
    assert variables["CONCURRENT_CALLS_LIMIT"] == "40"
    assert variables["MAX_DEFERRAL_SECONDS"] == "3600"


def test_dead_letter_queue_url_in_the_environment_is_the_redrive_target(template: Template) -> None:
    # Given the stack
    queues = find(template, "AWS::SQS::Queue", {"Properties": {"RedrivePolicy": Match.any_value()}})
    ((_, source),) = queues.items()
    # When the function's DEAD_LETTER_QUEUE_URL and the source queue's redrive target are compared
    variables = _function(template)["Environment"]["Variables"]
    # Then they are the same queue
    assert (
        variables["DEAD_LETTER_QUEUE_URL"]["Ref"]
        == source["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    )


def test_source_queue_url_in_the_environment_is_the_queue_the_function_reads(template: Template) -> None:
    # Given the stack's source queue (the one with a redrive policy) and the queue its event source polls
    queues = find(template, "AWS::SQS::Queue", {"Properties": {"RedrivePolicy": Match.any_value()}})
    ((source_id, _),) = queues.items()
    polled_id, _ = _event_source_mapping(template)["EventSourceArn"]["Fn::GetAtt"]
    # When the function's SOURCE_QUEUE_URL is read
    variables = _function(template)["Environment"]["Variables"]
    # Then it is that queue's URL (Ref of an SQS queue), so deferred requests come back to the function
    assert polled_id == source_id
    assert variables["SOURCE_QUEUE_URL"] == {"Ref": source_id}
    assert variables["SOURCE_QUEUE_URL"] != variables["DEAD_LETTER_QUEUE_URL"]


def test_optional_environment_variables_appear_only_when_configured(synth: Any) -> None:
    # Given a queue instead of a source number (so the countries are named), and two extra flows
    template = synth(
        sourcePhoneNumber=None,
        allowedDestinationCountries="*",
        connectQueueId="22222222-2222-2222-2222-222222222222",
        allowedContactFlowIds="33333333-3333-3333-3333-333333333333,44444444-4444-4444-4444-444444444444",
    )
    # When the function's environment is read
    variables = _function(template)["Environment"]["Variables"]
    # Then the queue and the comma-joined flows are there, and no source number
    assert variables["CONNECT_QUEUE_ID"] == "22222222-2222-2222-2222-222222222222"
    assert variables["CONNECT_ALLOWED_CONTACT_FLOW_IDS"] == (
        "33333333-3333-3333-3333-333333333333,44444444-4444-4444-4444-444444444444"
    )
    assert "CONNECT_SOURCE_PHONE_NUMBER" not in variables
    # and any country ("*") means no allow-list at all; no calling hours or limit unless set
    for unset in ("ALLOWED_DESTINATION_COUNTRIES", "CALLING_HOURS", "DESTINATION_CALL_LIMIT"):
        assert unset not in variables


@pytest.mark.parametrize(
    ("overrides", "batch_size", "calls_per_invocation_per_second"),
    [
        ({}, 10, 1.0),
        ({"batchSize": 100, "batchingWindowSeconds": 5, "callsPerSecond": 10, "maxConcurrency": 4}, 100, 2.5),
    ],
)
def test_function_timeout_fits_a_full_batch_at_the_per_invocation_rate(
    synth: Any, overrides: dict[str, Any], batch_size: int, calls_per_invocation_per_second: float
) -> None:
    # Given batch and rate settings
    template = synth(**overrides)
    # When the function's timeout is read
    timeout = _function(template)["Timeout"]
    # Then a full batch at the per-invocation rate fits twice over, plus one slow record's whole reserve and the
    # last record's, within 900 s
    pacing_seconds = batch_size / calls_per_invocation_per_second
    assert timeout == math.ceil(2 * pacing_seconds) + 2 * RECORD_TIME_RESERVE_SECONDS
    assert timeout <= 900


def test_event_source_reports_batch_item_failures_with_configured_batching(template: Template) -> None:
    # Given the stack with default settings
    # When the event source mapping is read
    mapping = _event_source_mapping(template)
    # Then it uses batch size 10, no batching window, partial batch responses and maximum concurrency 2
    assert mapping["BatchSize"] == 10
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_event_source_settings_come_from_context(synth: Any) -> None:
    # Given batch settings as -c passes them (strings)
    template = synth(batchSize="100", batchingWindowSeconds="5", maxConcurrency="7", callsPerSecond="14")
    # When the event source mapping and the function are read
    mapping = _event_source_mapping(template)
    variables = _function(template)["Environment"]["Variables"]
    # Then they carry the configured values, and the function knows the rate and concurrency to pace itself
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 7}
    assert variables["CALLS_PER_SECOND"] == "14"
    assert variables["MAX_CONCURRENCY"] == "7"


def test_event_source_reads_the_source_queue(template: Template) -> None:
    # Given the stack
    queues = find(template, "AWS::SQS::Queue", {"Properties": {"RedrivePolicy": Match.any_value()}})
    ((source_id, _),) = queues.items()
    # When the event source mapping is read
    # Then it polls the source queue
    assert _event_source_mapping(template)["EventSourceArn"] == {"Fn::GetAtt": [source_id, "Arn"]}


def test_placed_calls_table_is_powertools_shaped_encrypted_and_expiring(template: Template) -> None:
    # Given the stack
    # When the placed-calls table is read
    # Then it has Powertools Idempotency's key, TTL on its expiry attribute, encryption and point-in-time recovery
    ((table_id, table),) = find(template, "AWS::DynamoDB::Table").items()
    expected = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    assert table_id.startswith("PlacedCalls")
    assert {key: table["Properties"].get(key) for key in expected} == expected
