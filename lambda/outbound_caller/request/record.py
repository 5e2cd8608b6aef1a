"""An SQS record of the source queue, its body kept as the producer sent it, and what the function's own earlier
sends say of it (its steering attributes), trusted only under the function's MAC (signing.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import PrivateAttr

from outbound_caller.api_limits import CLIENT_TOKEN_MAX_LENGTH
from outbound_caller.config.redial import MAX_REDIAL_ATTEMPTS
from outbound_caller.decisions import OUTCOME_UNKNOWN
from outbound_caller.names import (
    ATTEMPT_ATTRIBUTE,
    CLIENT_TOKEN_ATTRIBUTE,
    DEFERRAL_COUNT_ATTRIBUTE,
    DEFERRAL_REASON_ATTRIBUTE,
    DEFERRED_UNTIL_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    FIRST_ARRIVAL_ATTRIBUTE,
    SLOT_HANDED_OVER_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.request.signing import signed_by_us

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
    # Which attempt of a redialled request the message is for (1: the first, or no redial).
    attempt: int = 1
    # When one of the deployment's ended calls handed its slot to this request, drawn from the waiting room.
    slot_handed_over_ms: int | None = None


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
        attempt=_attempt(attributes.get(ATTEMPT_ATTRIBUTE)),
        slot_handed_over_ms=_epoch_ms(SLOT_HANDED_OVER_ATTRIBUTE, attributes.get(SLOT_HANDED_OVER_ATTRIBUTE)),
    )


def _attempt(text: str | None) -> int:
    attempt = _count(ATTEMPT_ATTRIBUTE, text)
    if attempt is None:
        return 1
    if not 1 <= attempt <= MAX_REDIAL_ATTEMPTS:
        raise SteeringAttributeError(f"{ATTEMPT_ATTRIBUTE} is not an attempt from 1 to {MAX_REDIAL_ATTEMPTS}")
    return attempt


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
    def attempt(self) -> int:
        """Which attempt of a redialled request this message is for (1 unless the function sent it for a later one)."""
        return self._steering.attempt

    @property
    def slot_handed_over(self) -> bool:
        """Whether an ended call of the deployment handed its slot to this request (drawn from the waiting room)."""
        return self._steering.slot_handed_over_ms is not None

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
