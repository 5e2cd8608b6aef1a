"""The completion's part in pacing to a full instance: each of the deployment's ended calls hands its slot on, and
a tick draws the waiting room when no call has ended for a while.

- An ended call (its outcome recorded for the first time, so a repeated event hands nothing twice) draws one request
  from the waiting room, marked with SlotHandedOver so that it calls at once; with nobody waiting, the slot is
  counted free in the instance's shared state (connect/slots.py).
- The tick (a schedule, every minute) draws, while the instance is held, the calls an opening allows once the hold
  has passed with no slot handed on (a lost contact event, other traffic ending, the limit raised); once the
  instance is open to all, every waiting request, a few at a time. Those requests are not marked: they take an
  opening's calls like any (connect/back_pressure.py), which is the fallback that works without completions.

A drawn request is sent to the source queue, then deleted from the waiting room: a crash between the two leaves a
copy, which the placed-calls ledger answers with the same call. Never the reverse: a request is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from outbound_caller.decisions import iso_utc
from outbound_caller.names import SIGNATURE_ATTRIBUTE, SLOT_HANDED_OVER_ATTRIBUTE
from outbound_caller.observability import logger
from outbound_caller.request.signing import SIGNED_ATTRIBUTES, signed_by_us
from outbound_caller.settling.outgoing import outgoing_attributes

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

# SQS ReceiveMessage returns at most 10 messages.
SQS_MAX_MESSAGES = 10
# Long enough to send a drawn request on and delete it; shorter than a tick, so a crash leaves it drawable again soon.
DRAW_VISIBILITY_SECONDS = 30


class Room(Protocol):
    """Where requests wait for a slot, drawn into the source queue."""

    def draw(self, count: int, *, key: bytes | None, handed_over_at_ms: int | None = None) -> int:
        """Move up to ``count`` waiting requests on; return how many."""
        ...


@dataclass(frozen=True)
class WaitingRoom:
    """The waiting room's queue, the source queue it is drawn into, and the key that signs a handed-over slot."""

    sqs: SQSClient
    room_url: str
    source_queue_url: str

    def draw(self, count: int, *, key: bytes | None, handed_over_at_ms: int | None = None) -> int:
        """Move up to ``count`` parked requests to the source queue, oldest first within their groups; return how
        many. ``handed_over_at_ms``: each holds the slot of a call that ended then (signed, so only with ``key``)."""
        moved = 0
        while moved < count:
            messages = self.sqs.receive_message(
                QueueUrl=self.room_url,
                MaxNumberOfMessages=min(SQS_MAX_MESSAGES, count - moved),
                MessageAttributeNames=["All"],
                VisibilityTimeout=DRAW_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._move(message, key, handed_over_at_ms)
                moved += 1
        return moved

    def _move(self, message: MessageTypeDef, key: bytes | None, handed_over_at_ms: int | None) -> None:
        body = message.get("Body", "")
        received: dict[str, Any] = dict(message.get("MessageAttributes", {}))
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
            for name, value in received.items()
            if "StringValue" in value
        }
        strings = {name: value["StringValue"] for name, value in attributes.items()}
        if handed_over_at_ms is not None and key is not None and signed_by_us(key, body, strings):
            values = {name: value for name, value in strings.items() if name in SIGNED_ATTRIBUTES}
            values.pop(SIGNATURE_ATTRIBUTE, None)
            values[SLOT_HANDED_OVER_ATTRIBUTE] = iso_utc(handed_over_at_ms)
            attributes = outgoing_attributes(body, values, key)
        self.sqs.send_message(QueueUrl=self.source_queue_url, MessageBody=body, MessageAttributes=attributes)
        self.sqs.delete_message(QueueUrl=self.room_url, ReceiptHandle=message["ReceiptHandle"])
        logger.debug("Waiting request drawn", extra={"slot_handed_over": handed_over_at_ms is not None})
