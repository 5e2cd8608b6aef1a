"""Where a call request sits in an SQS message body, and the ClientToken its delivery implies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeGuard

import pydantic_core
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsNotificationModel, SqsRecordModel
from pydantic import Discriminator, Field, Json, PrivateAttr, Tag, TypeAdapter, field_validator

from outbound_caller.api_limits import CLIENT_TOKEN_MAX_LENGTH
from outbound_caller.config.settings import Settings
from outbound_caller.decisions import OUTCOME_UNKNOWN
from outbound_caller.message_size import REQUEST_BODY_MAX_BYTES
from outbound_caller.names import (
    CLIENT_TOKEN_ATTRIBUTE,
    DEFERRAL_COUNT_ATTRIBUTE,
    DEFERRAL_REASON_ATTRIBUTE,
    DEFERRED_UNTIL_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    FIRST_ARRIVAL_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.signing import signed_by_us

EVENTBRIDGE = "eventbridge"
SNS = "sns"
REQUEST = "request"

# Where a delivery's ClientToken came from, in the contract's order of precedence.
TOKEN_FROM_REQUEST = "request"  # noqa: S105 - a name, not a secret
TOKEN_FROM_ATTRIBUTE = "message_attribute"  # noqa: S105 - a name, not a secret
TOKEN_FROM_EVENTBRIDGE = "eventbridge_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SNS = "sns_message_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SQS = "sqs_message_id"  # noqa: S105 - a name, not a secret
# Tokens that are a producer's free text, to be masked wherever they are shown.
FREE_TEXT_TOKEN_SOURCES = frozenset({TOKEN_FROM_REQUEST, TOKEN_FROM_ATTRIBUTE})
# An envelope ID that becomes a ClientToken, travels as a message attribute and is logged as it is: a UUID, as
# EventBridge ("a Version 4 UUID generated for every event") and SNS ("a Universally Unique Identifier, unique for
# each message published") make them. A body that only looks like an envelope could name any text in its place: a
# phone number, a name, characters SQS refuses in an attribute.
DELIVERY_ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_DELIVERY_ID = re.compile(DELIVERY_ID_PATTERN)
# A token the function sends travelling: an AWS-generated ID (printable ASCII) or a token's masked hash.
_TRAVELLING_TOKEN = re.compile(rf"^[\x21-\x7e]{{1,{CLIENT_TOKEN_MAX_LENGTH}}}$")
# The function's own attributes are short: a count of deferrals or an attempt number has a few digits, a time is
# ISO-8601 text. Longer values are not the function's, whatever their MAC says.
MAX_COUNT_DIGITS = 6
MAX_TIME_TEXT_LENGTH = 40


class InvalidDeliveryError(ValueError):
    """A record the function refuses before or beside its request's model: dead-lettered as a ValidationError."""


class SteeringAttributeError(InvalidDeliveryError):
    """A signed steering attribute the function cannot read: dead-lettered as a ValidationError, never a crash."""


class RequestTooLargeError(InvalidDeliveryError):
    """A body larger than any call request, and than the function could send back to its queue."""


def _epoch_ms(name: str, iso_time: str | None) -> int | None:
    """A signed ISO-8601 time, as epoch milliseconds; None when absent."""
    if iso_time is None:
        return None
    try:
        if len(iso_time) > MAX_TIME_TEXT_LENGTH:
            raise ValueError(iso_time)
        parsed = datetime.fromisoformat(iso_time)
        if parsed.tzinfo is None:
            raise ValueError(iso_time)
        return int(parsed.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise SteeringAttributeError(f"{name} is not an ISO-8601 time with an offset") from None


def _count(name: str, text: str | None) -> int | None:
    """A signed count (ASCII digits, a few of them); None when absent."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_COUNT_DIGITS):
        raise SteeringAttributeError(f"{name} is not a count of at most {MAX_COUNT_DIGITS} digits")
    return int(text)


@dataclass(frozen=True)
class Steering:
    """What the function's own earlier sends say of a request; empty for a message it did not send."""

    client_token: str | None = None
    source_message_id: str | None = None
    first_arrival_ms: int | None = None
    deferral_count: int = 0
    deferral_reason: str | None = None
    deferred_until_ms: int | None = None
    error_code: str | None = None
    uncertain_attempt: int | None = None


def read_steering(attributes: Mapping[str, str]) -> Steering:
    """The steering attributes of a message the function signed; SteeringAttributeError when one is malformed."""
    token = attributes.get(CLIENT_TOKEN_ATTRIBUTE)
    if token is not None and not _TRAVELLING_TOKEN.fullmatch(token):
        raise SteeringAttributeError(f"{CLIENT_TOKEN_ATTRIBUTE} is not a usable ClientToken")
    return Steering(
        client_token=token,
        source_message_id=attributes.get(SOURCE_MESSAGE_ID_ATTRIBUTE),
        first_arrival_ms=_epoch_ms(FIRST_ARRIVAL_ATTRIBUTE, attributes.get(FIRST_ARRIVAL_ATTRIBUTE)),
        deferral_count=_count(DEFERRAL_COUNT_ATTRIBUTE, attributes.get(DEFERRAL_COUNT_ATTRIBUTE)) or 0,
        deferral_reason=attributes.get(DEFERRAL_REASON_ATTRIBUTE),
        deferred_until_ms=_epoch_ms(DEFERRED_UNTIL_ATTRIBUTE, attributes.get(DEFERRED_UNTIL_ATTRIBUTE)),
        error_code=attributes.get(ERROR_CODE_ATTRIBUTE),
        uncertain_attempt=_count(UNCERTAIN_ATTEMPT_ATTRIBUTE, attributes.get(UNCERTAIN_ATTEMPT_ATTRIBUTE)),
    )


class CallRequestRecord(SqsRecordModel):
    """An SQS record whose body is kept as the producer's raw text: it is parsed, and dead-lettered, as sent.

    Its steering attributes count only once ``steer`` has found the function's MAC on them: until then (and for
    every message the function did not send) the record is read as a producer's new request.
    """

    body: str
    _steering: Steering = PrivateAttr(default_factory=Steering)

    def string_attribute(self, name: str) -> str | None:
        """A String message attribute's value, if the message carries it."""
        attribute = self.messageAttributes.get(name)
        return attribute.stringValue if attribute is not None else None

    @property
    def string_attributes(self) -> dict[str, str]:
        """Every String (or Number) message attribute of the message, by name."""
        return {
            name: attribute.stringValue
            for name, attribute in self.messageAttributes.items()
            if attribute.stringValue is not None
        }

    def steer(self, key: bytes) -> bool:
        """Trust the message's steering attributes if the function signed them; return whether it did.

        Raises SteeringAttributeError when a signed attribute is malformed (the record then stays unsteered).
        """
        attributes = self.string_attributes
        if not signed_by_us(key, self.body, attributes):
            return False
        self._steering = read_steering(attributes)
        return True

    @property
    def steering(self) -> Steering:
        """The function's own attributes of this message (empty unless ``steer`` verified them)."""
        return self._steering

    @property
    def travelling_token(self) -> str | None:
        """The ClientToken an earlier send of this request attached (trusted only under the function's MAC)."""
        return self._steering.client_token

    @property
    def confirmed_attempt(self) -> int | None:
        """The uncertain attempt an operator confirmed by redriving this request's OutcomeUnknown dead-letter."""
        if self._steering.error_code != OUTCOME_UNKNOWN:
            return None
        return self._steering.uncertain_attempt

    @property
    def source_message_id(self) -> str:
        """The messageId that first brought this request (a deferral or dead-letter names it), else this one's."""
        return self._steering.source_message_id or self.messageId

    @property
    def first_arrival_ms(self) -> int:
        """When the request first reached the source queue: a deferral says so, else this message was sent then."""
        carried = self._steering.first_arrival_ms
        return carried if carried is not None else int(self.attributes.SentTimestamp.timestamp() * 1000)

    @property
    def deferral_count(self) -> int:
        """How many times the function has deferred this request."""
        return self._steering.deferral_count

    @property
    def deferral_reason(self) -> str | None:
        """Why the request was last deferred, if it was."""
        return self._steering.deferral_reason

    @property
    def deferred_until_ms(self) -> int | None:
        """The time a deferral asked the request to wait until, if it was deferred."""
        return self._steering.deferred_until_ms


class EventBridgeCallRequest(EventBridgeModel):
    """An EventBridge event whose detail is the call request (a rule targeting the queue, no transformer)."""

    # EventBridge always sets it, but emulators (moto) may not, and nothing here depends on it.
    account: str | None = None  # type: ignore[assignment]
    # Becomes the ClientToken when the request has none, so it must be a valid one.
    id: str = Field(pattern=DELIVERY_ID_PATTERN)
    detail: CallRequest  # type: ignore[assignment]

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
        return own, TOKEN_FROM_REQUEST
    usable_id = delivery_id if isinstance(delivery_id, str) and _DELIVERY_ID.fullmatch(delivery_id) else None
    return delivery_token(record, usable_id, delivery_id_source)


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
