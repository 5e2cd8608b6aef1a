"""Keeping phone numbers out of logs, metrics and dead-letter attributes."""

from __future__ import annotations

import hashlib
import re

# How many trailing digits of a number stay visible: enough for an operator to match a complaint.
VISIBLE_DIGITS = 4
# A run of at least seven digits, optionally "+"-prefixed and split by single spaces, dots, dashes or
# parentheses, is treated as a phone number: the shortest national numbers in use have seven digits.
_PHONE_NUMBER_LIKE = re.compile(r"\+?\(?\d(?:[\s().-]?\d){6,}")


def mask_phone_number(number: str | None) -> str | None:
    """Show only the last digits of a phone number, e.g. ``+*******0123``."""
    if number is None:
        return None
    digits = [char for char in number if char.isdigit()]
    visible = "".join(digits[-VISIBLE_DIGITS:]) if len(digits) > VISIBLE_DIGITS else ""
    return "+" + "*" * (len(digits) - len(visible)) + visible


def redact_phone_numbers(text: str) -> str:
    """Mask everything in a free text (an error message) that looks like a phone number."""
    return _PHONE_NUMBER_LIKE.sub(lambda match: mask_phone_number(match.group()) or "", text)


# Hex digits of a token's SHA-256 shown in its place: enough to match a known token, never to read it back.
TOKEN_HASH_DIGITS = 16


def mask_token(token: str) -> str:
    """A producer's free-text token (it may be an email or a name) as a short hash, e.g. ``sha256:1f2e…``."""
    # surrogatepass: whatever text reaches here (a lone surrogate from a hostile body) hashes, never raises.
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:TOKEN_HASH_DIGITS]
