"""What a run reads off the local queues to count its outcomes: how many messages each holds, and, at the end, every
dead-letter once with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from local.event_source import SQS_MAX_MESSAGES_PER_RECEIVE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The reason shown for dead-letter messages without an ErrorCode: SQS moved them there itself, after
# maxReceiveCount receives. The function dead-letters a last receive itself, with its reason, so this only
# happens when the invocation handling the last receive died.
MOVED_BY_SQS = "(none: moved by SQS)"
# Hide dead-letter messages while counting them, so one is never counted twice.
DLQ_COUNTING_VISIBILITY_SECONDS = 600


def queue_depth(sqs: SQSClient, queue_url: str) -> dict[str, int]:
    """Visible, in-flight and delayed message counts of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


@dataclass(frozen=True)
class DeadLetter:
    """A message found in the dead-letter queue: its body and its ErrorCode (MOVED_BY_SQS when it has none)."""

    body: str
    error_code: str
    error_message: str = ""


def read_dead_letters(sqs: SQSClient, dead_letter_queue_url: str) -> list[DeadLetter]:
    """Receive every dead-letter message once, with its ErrorCode attribute."""
    letters: list[DeadLetter] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_queue_url,
            MaxNumberOfMessages=SQS_MAX_MESSAGES_PER_RECEIVE,
            MessageAttributeNames=["All"],
            VisibilityTimeout=DLQ_COUNTING_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return letters
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            error_code = attributes.get("ErrorCode", {}).get("StringValue")  # type: ignore[call-overload]
            error_message = attributes.get("ErrorMessage", {}).get("StringValue", "")  # type: ignore[call-overload]
            letters.append(DeadLetter(message["Body"], error_code or MOVED_BY_SQS, error_message))
