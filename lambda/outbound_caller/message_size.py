"""How large a message may be on each queue, so that whatever the function sends on a request's behalf fits.

SQS counts a message's body and every part of its message attributes (names, types, values) towards one limit. The
function sends a request's body unchanged, with attributes of its own, to the dead-letter queue and back to the source
queue: the source queue therefore takes bodies smaller than SQS's maximum by the most those attributes can take, so a
body the source queue accepted always fits with them. The stack sets both queues from these constants.
"""

from __future__ import annotations

# SQS: "The maximum message size is 1 MiB (1,048,576 bytes)", body and message attributes together (raised from
# 256 KiB in August 2025; a queue's MaximumMessageSize is 1,024 bytes to this).
SQS_MAX_MESSAGE_BYTES = 1_048_576
# The most the attributes the function adds to a message can take (tests/unit/test_message_size.py builds the largest
# ones it can send and checks they fit): ErrorMessage is at most 1,024 characters, a travelling ClientToken 500.
FUNCTION_ATTRIBUTES_MAX_BYTES = 16 * 1024
# The source queue's MaximumMessageSize: a body it accepts still fits, with the function's attributes, in a deferral
# back to it or in a dead-letter.
SOURCE_QUEUE_MAX_MESSAGE_BYTES = SQS_MAX_MESSAGE_BYTES - FUNCTION_ATTRIBUTES_MAX_BYTES
# The largest body the function reads as a call request: one it can always defer to the source queue, attributes
# included (a valid request is far smaller; anything larger is refused as a ValidationError, and dead-lettered).
REQUEST_BODY_MAX_BYTES = SOURCE_QUEUE_MAX_MESSAGE_BYTES - FUNCTION_ATTRIBUTES_MAX_BYTES


def message_bytes(body: str, attributes: dict[str, dict[str, str]]) -> int:
    """The size SQS counts for a message: its body and every attribute's name, data type and value, in UTF-8."""
    size = len(body.encode("utf-8", "surrogatepass"))
    for name, attribute in attributes.items():
        size += len(name.encode()) + len(attribute["DataType"].encode()) + len(attribute["StringValue"].encode())
    return size
