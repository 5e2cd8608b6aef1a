"""The intake created in local AWS as the stack deploys it: the tables it needs, the message sizes its queues take, the
suppression list and the rule that hands opt-out events to the opt-out function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from infra.context_loading import settings_from_context
from local.intake import create_intake, opt_out_event_pattern
from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES
from outbound_caller.names import OPT_IN_EVENT, OPT_OUT_EVENT, PARTITION_KEY, TTL_ATTRIBUTE
from outbound_caller.safety.suppression import SuppressionList
from tests.infra.synthesis import cdk_json_context


def test_a_destination_call_limit_gets_its_table_locally_as_in_the_stack(tmp_path: Path) -> None:
    # Given settings with a destination call limit, and settings without
    limited = settings_from_context(cdk_json_context() | {"destinationCallLimit": "3/24h"})
    unlimited = settings_from_context(cdk_json_context())
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        # When the local intake is created for each
        with_limit = create_intake(limited, visibility_timeout_seconds=30)
        without_limit = create_intake(unlimited, visibility_timeout_seconds=30, name_suffix="-unlimited")
        # Then only the first has a table of calls per destination, expiring by the function's TTL attribute
        assert without_limit.destination_calls_table_name is None
        assert with_limit.destination_calls_table_name is not None
        ttl = boto3.client("dynamodb").describe_time_to_live(TableName=with_limit.destination_calls_table_name)
        assert ttl["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
        # and the function is told its name, as the stack tells it
        environment = limited.function_environment(
            with_limit.dead_letter_queue_url,
            with_limit.placed_calls_table_name,
            source_queue_url=with_limit.queue_url,
            message_signing_key_secret_id=with_limit.message_signing_key_secret_id,
            destination_calls_table_name=with_limit.destination_calls_table_name,
        )
        assert environment["DESTINATION_CALLS_TABLE_NAME"] == with_limit.destination_calls_table_name


def test_the_local_queues_take_the_message_sizes_the_stacks_do(tmp_path: Path) -> None:
    # Given the local AWS server
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        # When the local intake is created from cdk.json's settings
        intake = create_intake(settings_from_context(cdk_json_context()), visibility_timeout_seconds=30)
        sqs = boto3.client("sqs")

        def size(queue_url: str) -> int:
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["MaximumMessageSize"])
            return int(attributes["Attributes"]["MaximumMessageSize"])

        # Then the source queue keeps room for the function's attributes and the dead-letter queue takes SQS's largest
        assert size(intake.queue_url) == SOURCE_QUEUE_MAX_MESSAGE_BYTES
        assert size(intake.dead_letter_queue_url) == SQS_MAX_MESSAGE_BYTES


def _received(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_the_suppression_list_is_created_as_the_function_reads_it(tmp_path: Path) -> None:
    # Given cdk.json's settings (DeploymentSettings has no suppressionList switch yet: locally the list is on)
    settings = settings_from_context(cdk_json_context())
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        # When the local intake is created with and without the list
        intake = create_intake(settings, visibility_timeout_seconds=30)
        without = create_intake(settings, visibility_timeout_seconds=30, name_suffix="-off", suppression_list=False)
        suppression = intake.suppression
        assert suppression is not None
        assert without.suppression is None
        # Then the function is told the list's table and key by the contract's variables
        environment = suppression.function_environment
        assert set(environment) == {"SUPPRESSION_TABLE_NAME", "SUPPRESSION_KEY_SECRET_ID"}
        # and the table is keyed as safety/suppression.py reads it, with no TTL: an opt-out stands until opted in
        dynamodb = boto3.client("dynamodb")
        table = dynamodb.describe_table(TableName=environment["SUPPRESSION_TABLE_NAME"])["Table"]
        assert table["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
        assert table["AttributeDefinitions"] == [{"AttributeName": PARTITION_KEY, "AttributeType": "S"}]
        ttl = dynamodb.describe_time_to_live(TableName=environment["SUPPRESSION_TABLE_NAME"])
        assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
        # and the list's own client lists a number under the generated key, one item however the number is written
        listed = SuppressionList(
            environment["SUPPRESSION_TABLE_NAME"],
            dynamodb,
            environment["SUPPRESSION_KEY_SECRET_ID"],
            boto3.client("secretsmanager"),
        )
        listed.add("+44 20 7946 0003", "test")
        assert listed.is_listed("+442079460003")
        assert dynamodb.scan(TableName=environment["SUPPRESSION_TABLE_NAME"])["Count"] == 1


def test_opt_out_events_on_the_intake_bus_reach_the_opt_out_function_and_call_requests_do_not(tmp_path: Path) -> None:
    # Given the local intake with its suppression list
    settings = settings_from_context(cdk_json_context())
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        intake = create_intake(settings, visibility_timeout_seconds=30)
        assert intake.suppression is not None
        # When a producer puts an opt-out, an opt-in and a call request on the intake bus
        entries = [
            (OPT_OUT_EVENT, {"PhoneNumber": "+12025550140"}),
            (OPT_IN_EVENT, {"PhoneNumber": "+12025550141"}),
            (settings.event_detail_types[0], {"DestinationPhoneNumber": "+12025550101"}),
        ]
        boto3.client("events").put_events(
            Entries=[
                {
                    "EventBusName": intake.event_bus_name,
                    "Source": "example.crm",
                    "DetailType": kind,
                    "Detail": json.dumps(detail),
                }
                for kind, detail in entries
            ]
        )
        to_function = _received(intake.suppression.opt_out_invocations_queue_url)
        to_caller = _received(intake.queue_url)
    # Then the opt-out rule hands the function the two list changes, as the events they are, and the caller only the
    # call request
    assert sorted(event["detail-type"] for event in to_function) == sorted([OPT_OUT_EVENT, OPT_IN_EVENT])
    assert {event["detail"]["PhoneNumber"] for event in to_function} == {"+12025550140", "+12025550141"}
    assert [event["detail-type"] for event in to_caller] == [settings.event_detail_types[0]]


def test_the_opt_out_rule_admits_the_intake_buses_producers_only_and_no_replays() -> None:
    # Given settings naming the sources allowed on the intake bus
    settings = settings_from_context(cdk_json_context() | {"eventSources": ["com.example.crm"]})
    # When the opt-out rule's pattern is written
    pattern = opt_out_event_pattern(settings)
    # Then it matches the contract's two detail-types from those sources, never an archive replay
    assert pattern == {
        "detail-type": [OPT_OUT_EVENT, OPT_IN_EVENT],
        "source": ["com.example.crm"],
        "replay-name": [{"exists": False}],
    }
