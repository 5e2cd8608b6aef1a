"""ALLOWED_DESTINATION_COUNTRIES' and BLOCKED_NUMBER_TYPES' values: region codes and libphonenumber number types."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

# The names BLOCKED_NUMBER_TYPES accepts: those of libphonenumber's PhoneNumberType, as the library spells them.
NUMBER_TYPE_NAMES = frozenset(PhoneNumberType.to_string(value) for value in PhoneNumberType.values())
# Numbers that bill the caller above a normal call's rate: the toll-fraud targets, blocked unless configured.
DEFAULT_BLOCKED_NUMBER_TYPES = frozenset({"PREMIUM_RATE", "SHARED_COST"})


def _comma_separated(text: str) -> list[str]:
    return [item.strip().upper() for item in text.split(",") if item.strip()]


def parse_region_codes(text: str) -> frozenset[str]:
    """ALLOWED_DESTINATION_COUNTRIES as a set of upper-case ISO 3166-1 alpha-2 codes, e.g. ``gb, US``."""
    codes = _comma_separated(text)
    if not codes:
        raise ValueError("no region code given (ISO 3166-1 alpha-2, like GB or US, separated by commas)")
    for code in codes:
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{code!r} is not a region code phonenumbers knows (ISO 3166-1 alpha-2, like GB or US)")
    return frozenset(codes)


def parse_number_types(text: str) -> frozenset[str]:
    """BLOCKED_NUMBER_TYPES as a set of PhoneNumberType names; empty text blocks nothing."""
    names = _comma_separated(text)
    for name in names:
        if name not in NUMBER_TYPE_NAMES:
            valid = ", ".join(sorted(NUMBER_TYPE_NAMES))
            raise ValueError(f"{name!r} is not a phone number type; the types are {valid}")
    return frozenset(names)


def caller_id_region(number: str) -> str:
    """The country of a caller ID, for the stack's default allow-list: its region, else its country code's main one.

    A caller ID is the deployment's own number, not a callee's: a fictional or not-yet-listed one (+1 555 555 0100)
    still belongs to its country code's main region (US), where a callee's number would be refused.
    """
    parsed = phonenumbers.parse(number)
    region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(
        parsed.country_code or 0
    )
    if region in (None, phonenumbers.UNKNOWN_REGION, phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY):
        raise ValueError(f"the caller ID {number!r} belongs to no country: set allowedDestinationCountries")
    return region
