"""Real-shaped Lambda inputs: SQS event records, producer envelopes and a Lambda context."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from outbound_caller.names import SIGNATURE_ATTRIBUTE
from outbound_caller.request.signing import signature
from tests.support.environment import SIGNING_KEY

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:outbound-call-requests"


def sqs_record(
    body: str, message_id: str | None = None, receive_count: int = 1, attributes: dict[str, str] | None = None
) -> dict[str, Any]:
    """One record as Lambda's SQS event source delivers it, with String message ``attributes``."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(int(time.time() * 1000)),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        },
        "messageAttributes": {
            name: {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for name, value in (attributes or {}).items()
        },
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def signed_sqs_record(
    body: str, message_id: str | None = None, receive_count: int = 1, attributes: dict[str, str] | None = None
) -> dict[str, Any]:
    """A record of a message the function itself sent (a deferral, a redriven dead-letter): its attributes carry the
    function's MAC under the tests' signing key, as the function would have signed them."""
    values = dict(attributes or {})
    values[SIGNATURE_ATTRIBUTE] = signature(SIGNING_KEY.encode(), body, values)
    return sqs_record(body, message_id=message_id, receive_count=receive_count, attributes=values)


def aws_id(name: str) -> str:
    """A UUID named after ``name``, as EventBridge event IDs and SNS MessageIds are UUIDs (one name, one ID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SQS event holding ``records``."""
    return {"Records": list(records)}


def eventbridge_body(detail: Any, event_id: str | None = None, account: str | None = "123456789012") -> str:
    """The SQS body an EventBridge rule targeting the queue (no input transformer) delivers."""
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()) if event_id is None else event_id,
        "detail-type": "Outbound Call Requested",
        "source": "com.example.orders",
        "time": "2026-11-21T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    if account is not None:
        event["account"] = account
    return json.dumps(event)


def sns_body(message: str, message_id: str | None = None) -> str:
    """The SQS body an SNS subscription without raw message delivery delivers."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()) if message_id is None else message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:call-requests",
            "Message": message,
            "Timestamp": "2026-11-21T10:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        }
    )


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context object the function and Powertools read."""

    remaining_ms: int = 300_000
    function_name: str = "outbound-caller"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:outbound-caller"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # An invocation that had this much at its start (the function timeout), then remaining_ms: one near its deadline.
    started_with_ms: int | None = None

    def get_remaining_time_in_millis(self) -> int:
        """What Lambda's context answers: milliseconds left in the invocation."""
        if self.started_with_ms is not None:
            started, self.started_with_ms = self.started_with_ms, None
            return started
        return self.remaining_ms
