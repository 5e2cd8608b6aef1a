"""Where a call request sits in an SQS message body, and the ClientToken its delivery implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsNotificationModel, SqsRecordModel
from pydantic import Discriminator, Field, Json, Tag, TypeAdapter

from outbound_caller.config import Settings
from outbound_caller.contract import CallRequest
from outbound_caller.limits import CLIENT_TOKEN_MAX_LENGTH

EVENTBRIDGE = "eventbridge"
SNS = "sns"
REQUEST = "request"


class CallRequestRecord(SqsRecordModel):
    """An SQS record whose body is kept as the producer's raw text: it is parsed, and dead-lettered, as sent."""

    body: str


class EventBridgeCallRequest(EventBridgeModel):
    """An EventBridge event whose detail is the call request (a rule targeting the queue, no transformer)."""

    # EventBridge always sets it, but emulators (moto) may not, and nothing here depends on it.
    account: str | None = None  # type: ignore[assignment]
    # Becomes the ClientToken when the request has none, so it must be a valid one.
    id: str = Field(min_length=1, max_length=CLIENT_TOKEN_MAX_LENGTH)
    detail: CallRequest  # type: ignore[assignment]


class SnsCallRequest(SnsNotificationModel):
    """An SNS notification (SNS to SQS without raw delivery) whose Message is the request as JSON."""

    Message: Json[CallRequest]  # type: ignore[assignment]
    # Becomes the ClientToken when the request has none, so it must be a valid one.
    MessageId: str = Field(min_length=1, max_length=CLIENT_TOKEN_MAX_LENGTH)


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
    client_token: str
    envelope: str


def parse_delivery(body: str, sqs_message_id: str, settings: Settings) -> CallDelivery:
    """Find and validate the call request in an SQS body; raises pydantic.ValidationError."""
    envelope = _DELIVERY.validate_json(body, context=settings)
    if isinstance(envelope, EventBridgeCallRequest):
        request, delivery_id, kind = envelope.detail, envelope.id, EVENTBRIDGE
    elif isinstance(envelope, SnsCallRequest):
        request, delivery_id, kind = envelope.Message, envelope.MessageId, SNS
    else:
        request, delivery_id, kind = envelope, sqs_message_id, REQUEST
    return CallDelivery(request=request, client_token=request.ClientToken or delivery_id, envelope=kind)
