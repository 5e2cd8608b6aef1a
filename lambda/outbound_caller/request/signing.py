"""The function's MAC over the messages it sends itself, so that only its own attributes can steer a request.

A deferred request carries when it first arrived (which bounds how long it may be deferred), how often and until when
it was deferred; an OutcomeUnknown dead-letter carries the attempt an operator's redrive confirms. Any producer can set
message attributes of the same names, and SQS says nothing reliable about who sent a message (a message move task's
effect on SenderId is undocumented). So the function signs what it sends: an HMAC-SHA256, keyed by a secret only it
can read, over the body's digest and every steering attribute present. A redrive keeps body and attributes, so an
operator's redrive of a dead-letter stays signed; a message the function did not send is read as a producer's: its
steering attributes are ignored.

Pure: the key is handed in by the caller (see signing_key.py for where it comes from).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from outbound_caller.names import (
    ATTEMPT_ATTRIBUTE,
    CLIENT_TOKEN_ATTRIBUTE,
    DEFERRAL_COUNT_ATTRIBUTE,
    DEFERRAL_REASON_ATTRIBUTE,
    DEFERRED_UNTIL_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    FIRST_ARRIVAL_ATTRIBUTE,
    SIGNATURE_ATTRIBUTE,
    SLOT_HANDED_OVER_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)

# The attributes that steer a request, covered by the MAC whenever the message carries them.
SIGNED_ATTRIBUTES = frozenset(
    {
        CLIENT_TOKEN_ATTRIBUTE,
        SOURCE_MESSAGE_ID_ATTRIBUTE,
        FIRST_ARRIVAL_ATTRIBUTE,
        DEFERRAL_COUNT_ATTRIBUTE,
        DEFERRAL_REASON_ATTRIBUTE,
        DEFERRED_UNTIL_ATTRIBUTE,
        ERROR_CODE_ATTRIBUTE,
        UNCERTAIN_ATTEMPT_ATTRIBUTE,
        ATTEMPT_ATTRIBUTE,
        SLOT_HANDED_OVER_ATTRIBUTE,
    }
)
# Names the scheme, so that a later one can be told apart from this one.
_SCHEME = "hmac-sha256-v1:"


def _signed_text(body: str, attributes: Mapping[str, str]) -> bytes:
    """What the MAC covers: the body's SHA-256 and the signed attributes present, in one unambiguous text."""
    # surrogatepass: a body is whatever a producer sent; hashing it must never fail.
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    signed = sorted((name, value) for name, value in attributes.items() if name in SIGNED_ATTRIBUTES)
    return json.dumps([digest, signed], ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature(key: bytes, body: str, attributes: Mapping[str, str]) -> str:
    """The SIGNATURE_ATTRIBUTE value for a message the function sends with ``body`` and ``attributes``."""
    return _SCHEME + hmac.new(key, _signed_text(body, attributes), hashlib.sha256).hexdigest()


def signed_by_us(key: bytes, body: str, attributes: Mapping[str, str]) -> bool:
    """Whether ``attributes`` (a message's String attributes) carry the function's valid MAC over ``body``."""
    claimed = attributes.get(SIGNATURE_ATTRIBUTE)
    if not claimed:
        return False
    expected = signature(key, body, attributes)
    return hmac.compare_digest(claimed.encode("utf-8", "surrogatepass"), expected.encode("ascii"))
