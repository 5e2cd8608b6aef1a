"""Where a call request sits in an SQS message body, and the ClientToken its delivery implies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeGuard

import pydantic_core
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsNotificationModel
from pydantic import Discriminator, Field, Json, Tag, TypeAdapter, field_validator

from outbound_caller.api_limits import CLIENT_TOKEN_MAX_LENGTH
from outbound_caller.config.settings import Settings
from outbound_caller.message_size import REQUEST_BODY_MAX_BYTES
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.record import CallRequestRecord, RequestTooLargeError
from outbound_caller.request.token import (
    TOKEN_FROM_ATTRIBUTE,
    TOKEN_FROM_EVENTBRIDGE,
    TOKEN_FROM_REQUEST,
    TOKEN_FROM_SNS,
    TOKEN_FROM_SQS,
    RecordToken,
)

EVENTBRIDGE = "eventbridge"
SNS = "sns"
REQUEST = "request"

# An envelope ID that becomes a ClientToken, travels as a message attribute and is logged as it is: a UUID, as
# EventBridge ("a Version 4 UUID generated for every event") and SNS ("a Universally Unique Identifier, unique for
# each message published") make them. A body that only looks like an envelope could name any text in its place: a
# phone number, a name, characters SQS refuses in an attribute.
DELIVERY_ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_DELIVERY_ID = re.compile(DELIVERY_ID_PATTERN)


class EventBridgeCallRequest(EventBridgeModel):
    """An EventBridge event whose detail is the call request (a rule targeting the queue, no transformer)."""

    # EventBridge always sets it, but emulators (moto) may not, and nothing here depends on it.
    account: str | None = None  # type: ignore[assignment]
    # Becomes the ClientToken when the request has none, so it must be a valid one.
    id: str = Field(pattern=DELIVERY_ID_PATTERN)
    detail: CallRequest

    @field_validator("replay_name")
    @classmethod
    def _not_a_replay(cls, value: str | None) -> str | None:
        # An archive replay re-sends events that were call requests once: each would ring its customer again (its
        # id is new). The stack's rule excludes them; a replay reaching the queue another way is refused here too.
        if value is not None:
            raise ValueError("an EventBridge archive replay is not a call request")
        return value


class SnsCallRequest(SnsNotificationModel):
    """An SNS notification (SNS to SQS without raw delivery) whose Message is the request as JSON."""

    Message: Json[CallRequest]  # type: ignore[assignment]
    # Becomes the ClientToken when the request has none, so it must be a valid one.
    MessageId: str = Field(pattern=DELIVERY_ID_PATTERN)


def _envelope_of(body: Any) -> str:
    if isinstance(body, dict):
        if "detail-type" in body and "detail" in body:
            return EVENTBRIDGE
        if body.get("Type") == "Notification" and "TopicArn" in body and "Message" in body:
            return SNS
    return REQUEST


_DELIVERY: TypeAdapter[EventBridgeCallRequest | SnsCallRequest | CallRequest] = TypeAdapter(
    Annotated[
        Annotated[EventBridgeCallRequest, Tag(EVENTBRIDGE)]
        | Annotated[SnsCallRequest, Tag(SNS)]
        | Annotated[CallRequest, Tag(REQUEST)],
        Discriminator(_envelope_of),
    ]
)


@dataclass(frozen=True)
class CallDelivery:
    """A validated call request and the ClientToken that makes its redelivery place no second call."""

    request: CallRequest
    token: RecordToken
    envelope: str


def _delivery_token(record: CallRequestRecord, delivery_id: str | None, delivery_id_source: str) -> RecordToken:
    """The token of a delivery whose request names none: the travelling token first, then the delivery's ID."""
    travelling = record.travelling_token
    if travelling is not None:
        return RecordToken(travelling, TOKEN_FROM_ATTRIBUTE)
    if delivery_id is not None:
        return RecordToken(delivery_id, delivery_id_source)
    return RecordToken(record.messageId, TOKEN_FROM_SQS)


def unparsed_token(record: CallRequestRecord) -> RecordToken:
    """The token of a body that failed validation, read leniently in the contract's order.

    The producer knows its request's own ClientToken, or the ID PutEvents or Publish gave it, never the SQS messageId:
    a rejection named by the messageId alone would be one its producer cannot match to what it sent.
    """
    body = _lenient_json(record.body)
    request, delivery_id, delivery_id_source = body, None, TOKEN_FROM_SQS
    envelope = _envelope_of(body)  # the same test that chose the model the body failed
    if isinstance(body, dict) and envelope == EVENTBRIDGE:
        request, delivery_id, delivery_id_source = body.get("detail"), body.get("id"), TOKEN_FROM_EVENTBRIDGE
    elif isinstance(body, dict) and envelope == SNS:
        delivery_id, delivery_id_source = body.get("MessageId"), TOKEN_FROM_SNS
        message = body.get("Message")
        request = _lenient_json(message) if isinstance(message, str) else None
    own = request.get("ClientToken") if isinstance(request, dict) else None
    if _usable_token(own):
        return RecordToken(own, TOKEN_FROM_REQUEST)
    usable_id = delivery_id if isinstance(delivery_id, str) and _DELIVERY_ID.fullmatch(delivery_id) else None
    return _delivery_token(record, usable_id, delivery_id_source)


def _lenient_json(text: str) -> Any:
    """A body read as JSON if it is JSON at all, else None: never a lone surrogate, never unbounded recursion.

    pydantic's parser (the one validation uses) refuses lone surrogates and limits nesting, where json.loads would
    hand back text no encoder accepts, or raise RecursionError on a body nested 10,000 deep.
    """
    try:
        return pydantic_core.from_json(text)
    except ValueError:
        return None


def _usable_token(value: object) -> TypeGuard[str]:
    """Whether a value read from an unvalidated body can be a request's ClientToken (1 to 500 characters)."""
    return isinstance(value, str) and 1 <= len(value) <= CLIENT_TOKEN_MAX_LENGTH


def parse_delivery(record: CallRequestRecord, settings: Settings) -> CallDelivery:
    """Find and validate the call request in an SQS record's body; raises pydantic.ValidationError."""
    size = len(record.body.encode("utf-8", "surrogatepass"))
    if size > REQUEST_BODY_MAX_BYTES:
        raise RequestTooLargeError(
            f"the body takes {size:,} bytes; a call request takes at most {REQUEST_BODY_MAX_BYTES:,}"
        )
    envelope = _DELIVERY.validate_json(record.body, context=settings)
    if isinstance(envelope, EventBridgeCallRequest):
        request, kind = envelope.detail, EVENTBRIDGE
        token = _delivery_token(record, envelope.id, TOKEN_FROM_EVENTBRIDGE)
    elif isinstance(envelope, SnsCallRequest):
        request, kind = envelope.Message, SNS
        token = _delivery_token(record, envelope.MessageId, TOKEN_FROM_SNS)
    else:
        request, kind = envelope, REQUEST
        token = _delivery_token(record, None, TOKEN_FROM_SQS)
    if request.ClientToken is not None:
        token = RecordToken(request.ClientToken, TOKEN_FROM_REQUEST)
    return CallDelivery(request=request, token=token, envelope=kind)
