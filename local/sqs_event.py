"""Lambda's SQS event, as the event source mapping builds it and reads its answer: the record for each message
received, the messages a partial batch response lists as failed.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from local.account import LOCAL_REGION

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def sqs_event_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """Turn a ReceiveMessage result into the record Lambda puts in an SQS event."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: attributes[key]
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "AWSTraceHeader",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
            )
            if key in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(value["BinaryValue"]).decode() if "BinaryValue" in value else None,
                "stringListValues": list(value.get("StringListValues", [])),
                "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
    for item in record["messageAttributes"].values():
        for key in ("stringValue", "binaryValue"):
            if item[key] is None:
                del item[key]
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(response: Any, batch_ids: set[str]) -> set[str] | None:
    """The messageIds a partial batch response lists, or None when Lambda would treat the response as invalid.

    An empty or missing list means every record succeeded; an itemIdentifier that is empty or not in the batch
    makes the whole batch fail (Lambda, "Reporting batch item failures").
    """
    if response is None or (isinstance(response, dict) and not response.get("batchItemFailures")):
        return set()
    if not isinstance(response, dict) or not isinstance(response["batchItemFailures"], list):
        return None
    failed = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return None
        failed.add(identifier)
    return failed
