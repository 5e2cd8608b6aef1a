"""Which destinations may be dialled, decided by libphonenumber's metadata: real numbers at the policy's edges."""

from __future__ import annotations

import re

import pytest

from outbound_caller.config.destinations import (
    DEFAULT_BLOCKED_NUMBER_TYPES,
    NUMBER_TYPE_NAMES,
    caller_id_region,
    parse_number_types,
    parse_region_codes,
)
from outbound_caller.safety.destinations import (
    Destination,
    DestinationNotAllowedError,
    check_destination,
    destination_of,
)

GB_PREMIUM_RATE = "+449090901234"  # 09x: premium rate
GB_0845 = "+448451234567"  # 0845: "shared cost" to Ofcom, but PREMIUM_RATE to libphonenumber
GB_MOBILE = "+447400123456"
GUERNSEY_MOBILE = "+447911123456"  # +44 7911 12x: a Guernsey operator's range, region GG, not GB
GB_PERSONAL_NUMBER = "+447031234567"  # 070: "personal numbers", which look like mobiles and bill far more
FR_SHARED_COST = "+33810123456"  # 0810: shared cost
FR_MOBILE = "+33612345678"
US_PREMIUM_RATE = "+19002001234"
US_TOLL_FREE = "+18002001234"
CA_TORONTO = "+14162223333"  # +1 like the US, but region CA
FICTIONAL = "+15555550100"  # the 555-01xx range reserved for fiction: invalid to libphonenumber
GLOBAL_FREEPHONE = "+80012345678"  # +800: a global service, in no country
UNASSIGNED_COUNTRY_CODE = "+999123456"  # E.164 in form, but +999 is no country code


def refusal(number: str, *, allowed: frozenset[str] | None = None, blocked: frozenset[str] = frozenset()) -> str:
    with pytest.raises(DestinationNotAllowedError) as refused:
        check_destination(destination_of(number), allowed_regions=allowed, blocked_types=blocked)
    return str(refused.value)


def allows(number: str, *, allowed: frozenset[str] | None = None, blocked: frozenset[str] = frozenset()) -> bool:
    check_destination(destination_of(number), allowed_regions=allowed, blocked_types=blocked)
    return True


def test_the_type_names_are_the_librarys() -> None:
    # Given libphonenumber's PhoneNumberType
    # When its names are listed
    # Then they are all there, spelt as the library spells them
    assert {
        "FIXED_LINE",
        "MOBILE",
        "FIXED_LINE_OR_MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
        "UNKNOWN",
    } == NUMBER_TYPE_NAMES
    assert DEFAULT_BLOCKED_NUMBER_TYPES <= NUMBER_TYPE_NAMES


def test_a_uk_mobile_is_in_gb_on_london_time() -> None:
    # Given a UK mobile number
    # When its destination is read
    destination = destination_of(GB_MOBILE)
    # Then it is a GB mobile, and London is among its zones (so are the Crown Dependencies': +44 covers them)
    assert (destination.region, destination.number_type) == ("GB", "MOBILE")
    assert "Europe/London" in destination.time_zones
    # And the number is nowhere in what the destination shows
    assert "7400123456" not in repr(destination)


def test_a_plus_44_mobile_may_be_in_guernsey_not_gb() -> None:
    # Given a +44 7911 mobile held by a Guernsey operator
    destination = destination_of(GUERNSEY_MOBILE)
    # When GB alone is allowed
    # Then it is refused as GG: an operator calling the whole +44 plan lists GB,GG,IM,JE
    assert destination.region == "GG"
    assert "GG" in refusal(GUERNSEY_MOBILE, allowed=frozenset({"GB"}))
    assert allows(GUERNSEY_MOBILE, allowed=frozenset({"GB", "GG", "IM", "JE"}))


def test_a_uk_premium_rate_number_is_blocked_by_default() -> None:
    # Given a UK 09 number
    # When the default block-list applies
    # Then it is refused as premium rate
    assert destination_of(GB_PREMIUM_RATE).number_type == "PREMIUM_RATE"
    assert refusal(GB_PREMIUM_RATE, blocked=DEFAULT_BLOCKED_NUMBER_TYPES) == (
        "the destination is a PREMIUM_RATE number, which BLOCKED_NUMBER_TYPES refuses"
    )


def test_uk_0845_is_premium_rate_to_the_library() -> None:
    # Given a UK 0845 number, which Ofcom's plan calls a service number of shared cost
    # When its type is read
    # Then libphonenumber has it as PREMIUM_RATE (its GB metadata has no SHARED_COST at all), blocked by default
    assert destination_of(GB_0845).number_type == "PREMIUM_RATE"
    assert refusal(GB_0845, blocked=DEFAULT_BLOCKED_NUMBER_TYPES)


def test_a_shared_cost_number_is_blocked_by_default() -> None:
    # Given a French 0810 number
    # When the default block-list applies
    # Then it is refused as shared cost
    assert destination_of(FR_SHARED_COST).number_type == "SHARED_COST"
    assert "SHARED_COST" in refusal(FR_SHARED_COST, blocked=DEFAULT_BLOCKED_NUMBER_TYPES)


def test_a_uk_personal_number_passes_unless_the_operator_blocks_it() -> None:
    # Given a UK 070 personal number: it looks like a mobile to a callee's eye and bills far more, a known
    # toll-fraud vector that the default list does not name
    assert destination_of(GB_PERSONAL_NUMBER).number_type == "PERSONAL_NUMBER"
    # When only the defaults apply, it passes; when the operator blocks PERSONAL_NUMBER, it is refused
    assert allows(GB_PERSONAL_NUMBER, blocked=DEFAULT_BLOCKED_NUMBER_TYPES)
    assert "PERSONAL_NUMBER" in refusal(GB_PERSONAL_NUMBER, blocked=DEFAULT_BLOCKED_NUMBER_TYPES | {"PERSONAL_NUMBER"})


def test_a_us_900_number_is_premium_rate_and_toll_free_is_not() -> None:
    # Given a US 900 number and a US 800 number
    # When the default block-list applies
    # Then the 900 number is refused as premium rate, and the toll-free one passes
    assert (destination_of(US_PREMIUM_RATE).region, destination_of(US_PREMIUM_RATE).number_type) == (
        "US",
        "PREMIUM_RATE",
    )
    assert "PREMIUM_RATE" in refusal(US_PREMIUM_RATE, blocked=DEFAULT_BLOCKED_NUMBER_TYPES)
    assert destination_of(US_TOLL_FREE).number_type == "TOLL_FREE"
    assert allows(US_TOLL_FREE, allowed=frozenset({"US"}), blocked=DEFAULT_BLOCKED_NUMBER_TYPES)


def test_a_country_outside_the_allow_list_is_refused() -> None:
    # Given only GB and US allowed
    allowed = parse_region_codes("GB,US")
    # When a French mobile is checked
    # Then it is refused, naming the country
    assert refusal(FR_MOBILE, allowed=allowed) == (
        "the destination is in FR, which is not in ALLOWED_DESTINATION_COUNTRIES"
    )
    assert allows(GB_MOBILE, allowed=allowed)


def test_canada_shares_plus_1_but_is_not_the_us() -> None:
    # Given only the US allowed
    # When a Toronto number (+1 416) is checked
    # Then it is refused as CA: the country is the number's, not its country calling code's
    assert destination_of(CA_TORONTO).region == "CA"
    assert "CA" in refusal(CA_TORONTO, allowed=frozenset({"US"}))


def test_a_number_in_no_country_passes_only_without_an_allow_list() -> None:
    # Given the fictional +1 555 0100, which libphonenumber calls invalid
    destination = destination_of(FICTIONAL)
    assert destination == Destination(region=None, number_type="UNKNOWN", time_zones=())
    # When no allow-list is set, it passes (the default block-list does not name UNKNOWN)
    assert allows(FICTIONAL, blocked=DEFAULT_BLOCKED_NUMBER_TYPES)
    # Then with an allow-list it is refused, as is a global service and an unassigned country code
    for number in (FICTIONAL, GLOBAL_FREEPHONE, UNASSIGNED_COUNTRY_CODE):
        assert refusal(number, allowed=frozenset({"US"})) == (
            "the destination's country could not be determined, and ALLOWED_DESTINATION_COUNTRIES is set"
        )


def test_an_operator_may_refuse_what_the_library_cannot_classify() -> None:
    # Given UNKNOWN in the block-list
    # When the fictional number is checked
    # Then it is refused by its type
    assert "UNKNOWN" in refusal(FICTIONAL, blocked=frozenset({"UNKNOWN"}))


@pytest.mark.parametrize(
    "number",
    [GB_PREMIUM_RATE, GUERNSEY_MOBILE, FR_SHARED_COST, FR_MOBILE, US_PREMIUM_RATE, CA_TORONTO, FICTIONAL],
)
def test_no_refusal_names_the_number(number: str) -> None:
    # Given a destination refused for its country, and for its type
    national_digits = number[-7:]
    # When the refusals are read
    # Then no run of the number's digits is in them
    for message in (
        refusal(number, allowed=frozenset({"JP"})),
        refusal(number, blocked=NUMBER_TYPE_NAMES),
    ):
        assert national_digits not in message
        assert not re.search(r"\d{4,}", message)


def test_region_codes_are_read_case_insensitively_with_spaces() -> None:
    # Given an allow-list written loosely
    # When it is parsed
    # Then the codes come out upper-case
    assert parse_region_codes(" gb, Us ,fr") == frozenset({"GB", "US", "FR"})


@pytest.mark.parametrize(("text", "bad"), [("GB,XX", "'XX'"), ("GBR", "'GBR'"), ("UK", "'UK'"), ("001", "'001'")])
def test_an_unknown_region_code_is_named(text: str, bad: str) -> None:
    # Given an allow-list with a code libphonenumber does not know (UK is not ISO 3166-1; GB is)
    # When it is parsed
    # Then the error names the bad code
    with pytest.raises(ValueError, match=bad):
        parse_region_codes(text)


@pytest.mark.parametrize("text", ["", " ", ",,"])
def test_an_empty_allow_list_is_an_error(text: str) -> None:
    # Given an allow-list that names no country (which would refuse every call)
    # When it is parsed
    # Then it is an error: leaving the variable unset is how to allow any country
    with pytest.raises(ValueError, match="no region code"):
        parse_region_codes(text)


def test_number_types_are_read_case_insensitively_and_may_be_empty() -> None:
    # Given block-lists written loosely, and an empty one
    # When they are parsed
    # Then the names come out as the library's, and empty blocks nothing
    assert parse_number_types("premium_rate , Shared_Cost") == DEFAULT_BLOCKED_NUMBER_TYPES
    assert parse_number_types("") == frozenset()


def test_an_unknown_number_type_is_named_with_the_valid_ones() -> None:
    # Given a block-list with a misspelt type
    # When it is parsed
    # Then the error names it and lists the types there are
    with pytest.raises(ValueError, match="'PREMIUM'") as raised:
        parse_number_types("PREMIUM,VOIP")
    assert "PREMIUM_RATE" in str(raised.value)
    assert "SHARED_COST" in str(raised.value)


@pytest.mark.parametrize(
    ("caller_id", "region"),
    [
        ("+442079460123", "GB"),  # a London number: its own region
        ("+14165550123", "CA"),  # +1, but Toronto: Canada, not the +1 plan's main region
        ("+15555550100", "US"),  # fictional, in no region: the +1 plan's main region
    ],
)
def test_a_caller_ids_country_is_its_region_else_its_country_codes_main_one(caller_id: str, region: str) -> None:
    # Given the deployment's caller ID
    # When the stack takes its default allow-list from it
    # Then the country is the number's own, or, for a number listed nowhere, its country code's main region
    assert caller_id_region(caller_id) == region


def test_a_caller_id_in_no_country_asks_for_the_countries() -> None:
    # Given a caller ID of a global service (+800), in no country
    # When the stack takes its default allow-list from it
    # Then it is told to name the countries
    with pytest.raises(ValueError, match="allowedDestinationCountries"):
        caller_id_region("+80012345678")
