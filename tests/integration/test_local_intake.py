"""The intake created in local AWS as the stack deploys it: the tables it needs, the message sizes its queues take."""

from __future__ import annotations

from pathlib import Path

import boto3

from infra.context_loading import settings_from_context
from local.intake import create_intake
from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES
from outbound_caller.names import TTL_ATTRIBUTE
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
