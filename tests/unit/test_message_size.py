"""The function's attributes fit in the room the source queue's maximum size leaves them, whatever their values."""

from __future__ import annotations

from outbound_caller.api_limits import CLIENT_TOKEN_MAX_LENGTH
from outbound_caller.message_size import (
    FUNCTION_ATTRIBUTES_MAX_BYTES,
    REQUEST_BODY_MAX_BYTES,
    SOURCE_QUEUE_MAX_MESSAGE_BYTES,
    SQS_MAX_MESSAGE_BYTES,
    message_bytes,
)
from outbound_caller.names import (
    ATTEMPT_ATTRIBUTE,
    CLIENT_TOKEN_ATTRIBUTE,
    DEFERRAL_COUNT_ATTRIBUTE,
    DEFERRAL_REASON_ATTRIBUTE,
    DEFERRED_UNTIL_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    ERROR_MESSAGE_ATTRIBUTE,
    FIRST_ARRIVAL_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.settling.outcomes import ERROR_MESSAGE_MAX_LENGTH
from outbound_caller.settling.outgoing import outgoing_attributes

# The longest values each attribute can hold: a token of 500 characters (an ID the function was given), a message ID
# as long as SQS makes them (100), an ErrorMessage of 1,024 characters each three bytes in UTF-8 (the longest the
# redactor lets through: astral characters are not XML-safe in SQS and are replaced), the longest reason and time.
LONGEST = {
    ERROR_CODE_ATTRIBUTE: "DestinationNotAllowedByPolicy" + "x" * 40,
    ERROR_MESSAGE_ATTRIBUTE: "\u20ac" * ERROR_MESSAGE_MAX_LENGTH,
    SOURCE_MESSAGE_ID_ATTRIBUTE: "m" * 100,
    CLIENT_TOKEN_ATTRIBUTE: "t" * CLIENT_TOKEN_MAX_LENGTH,
    UNCERTAIN_ATTEMPT_ATTRIBUTE: "999999",
    FIRST_ARRIVAL_ATTRIBUTE: "2026-12-07T18:00:00.000Z",
    DEFERRAL_COUNT_ATTRIBUTE: "999999",
    DEFERRAL_REASON_ATTRIBUTE: "OutsideCallingHours" + "x" * 40,
    DEFERRED_UNTIL_ATTRIBUTE: "2026-12-07T18:00:00.000Z",
    ATTEMPT_ATTRIBUTE: "999999",
}


def test_every_attribute_the_function_can_send_fits_its_reserve() -> None:
    # Given every attribute the function may put on one message, each at its longest, signed
    body = "{}"
    attributes = outgoing_attributes(body, LONGEST, key=b"k" * 64)
    # When SQS counts them (name, data type and value of each, in UTF-8)
    size = message_bytes(body, attributes) - len(body)
    # Then they fit in the room kept for them
    assert size <= FUNCTION_ATTRIBUTES_MAX_BYTES


def test_a_body_the_source_queue_takes_fits_a_dead_letter_and_a_request_fits_a_deferral() -> None:
    # Given the largest body the source queue accepts, and the largest the function reads as a request
    # Then each fits, with the function's attributes, where the function sends it
    assert SOURCE_QUEUE_MAX_MESSAGE_BYTES + FUNCTION_ATTRIBUTES_MAX_BYTES <= SQS_MAX_MESSAGE_BYTES
    assert REQUEST_BODY_MAX_BYTES + FUNCTION_ATTRIBUTES_MAX_BYTES <= SOURCE_QUEUE_MAX_MESSAGE_BYTES
