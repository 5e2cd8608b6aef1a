"""Sending a request that can never succeed to the dead-letter queue, with the reason attached."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from outbound_caller.outcomes import Failure

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS answers SendMessage in milliseconds; botocore "standard" mode retries throttling and 5xx.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
    user_agent_extra="connect-outbound-caller",
)

# Created once per container (module import) and reused by every invocation.
sqs: SQSClient = boto3.client("sqs", config=CLIENT_CONFIG)


def dead_letter(queue_url: str, body: str, failure: Failure, source_message_id: str) -> str:
    """Send the original body, unchanged, with ErrorCode, ErrorMessage and SourceMessageId attributes."""
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={
            "ErrorCode": {"DataType": "String", "StringValue": failure.code},
            "ErrorMessage": {"DataType": "String", "StringValue": failure.message or failure.code},
            "SourceMessageId": {"DataType": "String", "StringValue": source_message_id},
        },
    )
    return response["MessageId"]
