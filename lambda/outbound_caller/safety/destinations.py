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
    from outbound_caller.config.settings import Settings

_UNKNOWN_TYPE = PhoneNumberType.to_string(PhoneNumberType.UNKNOWN)


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
