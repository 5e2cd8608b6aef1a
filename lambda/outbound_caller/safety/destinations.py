"""Which destinations may be dialled: an allow-list of countries and a block-list of number types.

A call to a premium-rate number costs the operator money and pays whoever holds the number, which is what toll
fraud exploits: a producer fed a hostile list, or a compromised one, dials numbers that bill by the minute. The
country and the type are decided by Google's libphonenumber metadata (the ``phonenumbers`` package), which tracks
numbering plans as regulators change them; a table of prefixes written here would go stale silently.

Nothing here keeps the number: a Destination holds only what the policy needs, so it can be logged and compared,
and the refusal's message names the country or the type, never the number (it is personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number

if TYPE_CHECKING:
    # Typing only: config imports this module's parsers.
    from outbound_caller.config import Settings

# The names BLOCKED_NUMBER_TYPES accepts: those of libphonenumber's PhoneNumberType, as the library spells them.
NUMBER_TYPE_NAMES = frozenset(PhoneNumberType.to_string(value) for value in PhoneNumberType.values())
# Numbers that bill the caller above a normal call's rate: the toll-fraud targets, blocked unless configured.
DEFAULT_BLOCKED_NUMBER_TYPES = frozenset({"PREMIUM_RATE", "SHARED_COST"})
_UNKNOWN_TYPE = PhoneNumberType.to_string(PhoneNumberType.UNKNOWN)


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


@dataclass(frozen=True)
class Destination:
    """What the policy needs to know of a number, without the number: its country, its type, its time zones."""

    region: str | None  # ISO 3166-1 alpha-2; None when the number belongs to no country
    number_type: str  # a NUMBER_TYPE_NAMES member; UNKNOWN for a number the library cannot classify
    time_zones: tuple[str, ...]  # IANA names; empty when unknown


class DestinationNotAllowedError(Exception):
    """The policy refuses the destination; the message names why, never the number."""


def destination_of(number: str) -> Destination:
    """The country, type and time zones of an E.164 number, as libphonenumber's metadata has them."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        # E.164's form admits country codes that are not assigned (+999...): a number in no plan at all.
        return Destination(region=None, number_type=_UNKNOWN_TYPE, time_zones=())
    region = phonenumbers.region_code_for_number(parsed)
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        # "001": a global service (+800 freephone, +882 networks), in no country an allow-list can name.
        region = None
    zones = tuple(zone for zone in time_zones_for_number(parsed) if zone != UNKNOWN_TIMEZONE)
    return Destination(
        region=region, number_type=PhoneNumberType.to_string(phonenumbers.number_type(parsed)), time_zones=zones
    )


def check_destination(
    destination: Destination, *, allowed_regions: frozenset[str] | None, blocked_types: frozenset[str]
) -> None:
    """Raise DestinationNotAllowedError unless the destination's country is allowed and its type not blocked.

    ``allowed_regions`` None allows any country, including a number the library places in none (an invalid
    number, such as +1 555 555 01xx in the 555 area code, which does not exist and which tests use).
    """
    if allowed_regions is not None:
        if destination.region is None:
            raise DestinationNotAllowedError(
                "the destination's country could not be determined, and ALLOWED_DESTINATION_COUNTRIES is set"
            )
        if destination.region not in allowed_regions:
            raise DestinationNotAllowedError(
                f"the destination is in {destination.region}, which is not in ALLOWED_DESTINATION_COUNTRIES"
            )
    if destination.number_type in blocked_types:
        raise DestinationNotAllowedError(
            f"the destination is a {destination.number_type} number, which BLOCKED_NUMBER_TYPES refuses"
        )


def allowed_destination(number: str, settings: Settings) -> Destination:
    """The destination of an E.164 number, or DestinationNotAllowedError when the deployment refuses it."""
    destination = destination_of(number)
    check_destination(
        destination,
        allowed_regions=settings.allowed_destination_countries,
        blocked_types=settings.blocked_number_types,
    )
    return destination


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
