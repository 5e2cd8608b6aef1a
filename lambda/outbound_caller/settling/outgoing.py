"""The attributes of a message the function sends on a request's behalf: typed for SQS, and signed.

Every message the function sends itself (a dead-letter, a deferral) carries its MAC (request/signing.py), so that a
later delivery, or an operator's redrive, can trust what it says; without a key (the secret could not be read) the
message goes unsigned, and is then read as a producer's: it loses its steering, never gains any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outbound_caller.message_size import SQS_MAX_MESSAGE_BYTES, message_bytes
from outbound_caller.names import DEFERRAL_COUNT_ATTRIBUTE, SIGNATURE_ATTRIBUTE, UNCERTAIN_ATTEMPT_ATTRIBUTE
from outbound_caller.request.signing import signature

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# Attributes SQS types as numbers (consumers may filter on them); the others are text.
NUMBER_ATTRIBUTES = frozenset({DEFERRAL_COUNT_ATTRIBUTE, UNCERTAIN_ATTEMPT_ATTRIBUTE})


class MessageTooLargeError(Exception):
    """The body and the function's attributes exceed what SQS takes in one message."""


def outgoing_attributes(
    body: str, values: dict[str, str], key: bytes | None
) -> dict[str, MessageAttributeValueTypeDef]:
    """``values`` as SQS message attributes, with the function's MAC over them and the body when there is a key."""
    signed = {**values, SIGNATURE_ATTRIBUTE: signature(key, body, values)} if key is not None else dict(values)
    return {
        name: {"DataType": "Number" if name in NUMBER_ATTRIBUTES else "String", "StringValue": value}
        for name, value in signed.items()
    }


def check_fits(body: str, attributes: dict[str, MessageAttributeValueTypeDef]) -> None:
    """Raise MessageTooLargeError unless SQS takes the body with these attributes in one message."""
    size = message_bytes(body, attributes)  # type: ignore[arg-type]
    if size > SQS_MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(
            f"{size:,} bytes with the function's attributes; SQS takes {SQS_MAX_MESSAGE_BYTES:,}"
        )
