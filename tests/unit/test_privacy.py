"""Phone numbers never appear in full where operators read."""

from __future__ import annotations

import pytest

from outbound_caller.privacy import mask_phone_number, redact_phone_numbers


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+14155550123", "+*******0123"), ("+12", "+**"), ("+12345", "+*2345"), (None, None)],
)
def test_mask_keeps_only_the_last_four_digits(number: str | None, masked: str | None) -> None:
    # Given a number
    # When it is masked
    # Then at most its last four digits show
    assert mask_phone_number(number) == masked


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Destination +447700900123 not allowed", "447700900123"),
        ("call to 4155550123 failed", "4155550123"),
        ("number (415) 555-0123 refused", "555-0123"),
    ],
)
def test_redact_masks_numbers_in_free_text(text: str, hidden: str) -> None:
    # Given a message quoting a phone number
    # When it is redacted
    redacted = redact_phone_numbers(text)
    # Then the number is gone but the rest of the message stays
    assert hidden not in redacted
    assert redacted.split()[0] == text.split()[0]


def test_redact_leaves_short_numbers() -> None:
    # Given a message with limits and counts, not phone numbers
    text = "Attributes take 32769 UTF-8 bytes; the limit is 32768"
    # When it is redacted
    # Then it is unchanged
    assert redact_phone_numbers(text) == text
