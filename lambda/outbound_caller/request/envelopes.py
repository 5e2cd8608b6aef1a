"""Where a call request sits in an SQS message body, and the ClientToken its delivery implies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeGuard

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsNotificationModel, SqsRecordModel
from pydantic import Discriminator, Field, Json, Tag, TypeAdapter

from outbound_caller.config import Settings
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.limits import CLIENT_TOKEN_MAX_LENGTH

EVENTBRIDGE = "eventbridge"
SNS = "sns"
REQUEST = "request"

# The message attributes the function sets on every message it sends itself (dead-letters, deferrals): the
# token that travels with the request, and why it was sent.
CLIENT_TOKEN_ATTRIBUTE = "ClientToken"  # noqa: S105 - a name, not a secret
ERROR_CODE_ATTRIBUTE = "ErrorCode"
# On an OutcomeUnknown dead-letter: the placed-calls attempt whose outcome is unknown, which its redrive confirms.
UNCERTAIN_ATTEMPT_ATTRIBUTE = "OutcomeUnknownAttempt"
# The ErrorCode whose redrive is an operator's confirmation to call again (see idempotency.py).
OUTCOME_UNKNOWN = "OutcomeUnknown"
# The message that first brought the request, named on every message the function sends on its behalf.
SOURCE_MESSAGE_ID_ATTRIBUTE = "SourceMessageId"
# On a deferred request (deferral.py): when it first arrived, how often and why it was deferred, and until when.
FIRST_ARRIVAL_ATTRIBUTE = "FirstArrivalTime"
DEFERRAL_COUNT_ATTRIBUTE = "DeferralCount"
DEFERRAL_REASON_ATTRIBUTE = "DeferralReason"
DEFERRED_UNTIL_ATTRIBUTE = "DeferredUntil"

# Where a delivery's ClientToken came from, in the contract's order of precedence.
TOKEN_FROM_REQUEST = "request"  # noqa: S105 - a name, not a secret
TOKEN_FROM_ATTRIBUTE = "message_attribute"  # noqa: S105 - a name, not a secret
TOKEN_FROM_EVENTBRIDGE = "eventbridge_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SNS = "sns_message_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SQS = "sqs_message_id"  # noqa: S105 - a name, not a secret
# Tokens that are a producer's free text, to be masked wherever they are shown.
FREE_TEXT_TOKEN_SOURCES = frozenset({TOKEN_FROM_REQUEST, TOKEN_FROM_ATTRIBUTE})


def _epoch_ms(iso_time: str | None) -> int | None:
    """An ISO-8601 time the function wrote, as epoch milliseconds; None when absent or unreadable."""
    if not iso_time:
        return None
    try:
        parsed = datetime.fromisoformat(iso_time)
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000) if parsed.tzinfo is not None else None


class CallRequestRecord(SqsRecordModel):
    """An SQS record whose body is kept as the producer's raw text: it is parsed, and dead-lettered, as sent."""

    body: str

    def string_attribute(self, name: str) -> str | None:
        """A String message attribute's value, if the message carries it."""
        attribute = self.messageAttributes.get(name)
        return attribute.stringValue if attribute is not None else None

    @property
    def travelling_token(self) -> str | None:
        """The ClientToken an earlier send of this request attached, when it is a valid token."""
        token = self.string_attribute(CLIENT_TOKEN_ATTRIBUTE)
        return token if token and len(token) <= CLIENT_TOKEN_MAX_LENGTH else None

    @property
    def confirmed_attempt(self) -> int | None:
        """The uncertain attempt an operator confirmed by redriving this request's OutcomeUnknown dead-letter."""
        attempt = self.string_attribute(UNCERTAIN_ATTEMPT_ATTRIBUTE)
        if self.string_attribute(ERROR_CODE_ATTRIBUTE) != OUTCOME_UNKNOWN or attempt is None:
            return None
        return int(attempt) if attempt.isdecimal() else None

    @property
    def source_message_id(self) -> str:
        """The messageId that first brought this request (a deferral or dead-letter names it), else this one's."""
        return self.string_attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) or self.messageId

    @property
    def first_arrival_ms(self) -> int:
        """When the request first reached the source queue: a deferral says so, else this message was sent then."""
        carried = _epoch_ms(self.string_attribute(FIRST_ARRIVAL_ATTRIBUTE))
        return carried if carried is not None else int(self.attributes.SentTimestamp.timestamp() * 1000)

    @property
    def deferral_count(self) -> int:
        """How many times the function has deferred this request."""
        count = self.string_attribute(DEFERRAL_COUNT_ATTRIBUTE)
        return int(count) if count is not None and count.isdecimal() else 0

    @property
    def deferral_reason(self) -> str | None:
        """Why the request was last deferred, if it was."""
        return self.string_attribute(DEFERRAL_REASON_ATTRIBUTE)

    @property
    def deferred_until_ms(self) -> int | None:
        """The time a deferral asked the request to wait until, if it was deferred."""
        return _epoch_ms(self.string_attribute(DEFERRED_UNTIL_ATTRIBUTE))


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
    token_source: str
    envelope: str

    @property
    def token_is_free_text(self) -> bool:
        """Whether the token is a producer's own text (mask it) rather than an ID AWS generated."""
        return self.token_source in FREE_TEXT_TOKEN_SOURCES


def delivery_token(record: CallRequestRecord, delivery_id: str | None, delivery_id_source: str) -> tuple[str, str]:
    """The token of a delivery whose request names none, and its source: the travelling token first."""
    travelling = record.travelling_token
    if travelling is not None:
        return travelling, TOKEN_FROM_ATTRIBUTE
    if delivery_id is not None:
        return delivery_id, delivery_id_source
    return record.messageId, TOKEN_FROM_SQS


def unparsed_token(record: CallRequestRecord) -> tuple[str, str]:
    """The token of a body that failed validation, read leniently in the contract's order, and its source.

    The producer knows its request's own ClientToken, or the ID PutEvents or Publish gave it, never the SQS messageId:
    a rejection named by the messageId alone would be one its producer cannot match to what it sent.
    """
    try:
        body = json.loads(record.body)
    except ValueError:
        body = None
    request, delivery_id, delivery_id_source = body, None, TOKEN_FROM_SQS
    envelope = _envelope_of(body)  # the same test that chose the model the body failed
    if isinstance(body, dict) and envelope == EVENTBRIDGE:
        request, delivery_id, delivery_id_source = body.get("detail"), body.get("id"), TOKEN_FROM_EVENTBRIDGE
    elif isinstance(body, dict) and envelope == SNS:
        delivery_id, delivery_id_source = body.get("MessageId"), TOKEN_FROM_SNS
        try:
            request = json.loads(body.get("Message") or "")
        except (TypeError, ValueError):
            request = None
    own = request.get("ClientToken") if isinstance(request, dict) else None
    if _usable_token(own):
        return own, TOKEN_FROM_REQUEST
    return delivery_token(record, delivery_id if _usable_token(delivery_id) else None, delivery_id_source)


def _usable_token(value: object) -> TypeGuard[str]:
    """Whether a value read from an unvalidated body can be a ClientToken (1 to 500 characters)."""
    return isinstance(value, str) and 1 <= len(value) <= CLIENT_TOKEN_MAX_LENGTH


def parse_delivery(record: CallRequestRecord, settings: Settings) -> CallDelivery:
    """Find and validate the call request in an SQS record's body; raises pydantic.ValidationError."""
    envelope = _DELIVERY.validate_json(record.body, context=settings)
    if isinstance(envelope, EventBridgeCallRequest):
        request, kind = envelope.detail, EVENTBRIDGE
        token, source = delivery_token(record, envelope.id, TOKEN_FROM_EVENTBRIDGE)
    elif isinstance(envelope, SnsCallRequest):
        request, kind = envelope.Message, SNS
        token, source = delivery_token(record, envelope.MessageId, TOKEN_FROM_SNS)
    else:
        request, kind = envelope, REQUEST
        token, source = delivery_token(record, None, TOKEN_FROM_SQS)
    if request.ClientToken is not None:
        token, source = request.ClientToken, TOKEN_FROM_REQUEST
    return CallDelivery(request=request, client_token=token, token_source=source, envelope=kind)
