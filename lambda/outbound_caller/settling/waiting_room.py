"""Parking a request in the waiting room while the instance is full: it waits there, with no hop and no Lambda
reading it, until one of this deployment's calls ends and hands it its slot (completion/hand_over.py), or the
instance opens again (the completion function's tick).

The waiting room is an SQS FIFO queue, so that requests are drawn about in the order they were parked: in ten
message groups (by the request's first message), not one, so that two completions drawing at once do not lock each
other out of a single group. The body and the signed attributes are those of any deferral; DeferredUntil is not
set, as the request waits for a slot, not a time. Each park has its own deduplication ID (the message parked, the
request's first message and its deferral count): botocore's retry of one send, or a second delivery of the same
message, parks one copy; two parks of one request (or a redrive of it, a new message) are two.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from outbound_caller.request.record import CallRequestRecord
from outbound_caller.settling.deferral import deferred_values
from outbound_caller.settling.outgoing import check_fits, outgoing_attributes

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# FIFO message groups: order holds within a group, and a group is locked while a message of it is being drawn.
MESSAGE_GROUPS = 10
# SQS: a deduplication ID has at most 128 characters.
_DEDUPLICATION_ID_MAX_LENGTH = 128


def message_group(record: CallRequestRecord) -> str:
    """The FIFO group of a request: one of MESSAGE_GROUPS, by its first message."""
    digest = hashlib.sha256(record.source_message_id.encode("utf-8", "surrogatepass")).digest()
    return f"room-{digest[0] % MESSAGE_GROUPS}"


def park(
    sqs: SQSClient,
    room_url: str,
    record: CallRequestRecord,
    reason: str,
    client_token: str,
    key: bytes | None,
    attempt: int,
) -> None:
    """Send the record's body to the waiting room, signed like any deferral, for the request's ``attempt``."""
    attributes = outgoing_attributes(record.body, deferred_values(record, reason, client_token, attempt), key)
    check_fits(record.body, attributes)
    deduplication = hashlib.sha256(
        f"{record.messageId}#{record.source_message_id}#{record.deferral_count + 1}".encode("utf-8", "surrogatepass")
    ).hexdigest()[:_DEDUPLICATION_ID_MAX_LENGTH]
    sqs.send_message(
        QueueUrl=room_url,
        MessageBody=record.body,
        MessageAttributes=attributes,
        MessageGroupId=message_group(record),
        MessageDeduplicationId=deduplication,
    )
