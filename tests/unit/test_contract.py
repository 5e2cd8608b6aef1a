"""The call request model: every StartOutboundVoiceContact limit, on both sides of its boundary."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from outbound_caller.api_limits import ATTRIBUTES_MAX_BYTES, REFERENCES_MAX_BYTES
from outbound_caller.config.settings import Settings, load_settings
from outbound_caller.request.contract import CallRequest
from tests.support.environment import (
    DEFAULT_FLOW_ID,
    EXTRA_FLOW_ID,
    EXTRA_SOURCE_NUMBER,
    FUNCTION_ENVIRONMENT,
    INSTANCE_ID,
    QUEUE_ID,
    SOURCE_NUMBER,
)
from tests.unit.conftest import request


def validate(data: dict[str, Any], settings: Settings) -> CallRequest:
    return CallRequest.model_validate(data, context=settings)


def problems(data: dict[str, Any], settings: Settings) -> str:
    with pytest.raises(ValidationError) as caught:
        validate(data, settings)
    return str(caught.value)


def test_minimal_request_is_accepted(settings: Settings) -> None:
    # Given only a destination
    # When it is validated
    model = validate(request(), settings)
    # Then it is a call request for that number
    assert model.DestinationPhoneNumber == "+14155550123"


def test_full_request_is_accepted(settings: Settings) -> None:
    # Given every member the contract allows
    data = request(
        ContactFlowId=EXTRA_FLOW_ID,
        InstanceId=INSTANCE_ID,
        SourcePhoneNumber="+442071838750",
        QueueId=QUEUE_ID,
        Attributes={"order-id": "A-1", "customer_name": "Ada"},
        Name="Delivery follow-up",
        Description="Ask about the delivery slot",
        References={"order": {"Type": "URL", "Value": "https://example.com/orders/1"}},
        RelatedContactId="c0ffee00-0000-4000-8000-000000000000",
        ClientToken="order-1-reminder",
        RingTimeoutInSeconds=30,
        TrafficType="CAMPAIGN",
        CampaignId="campaign-1",
        AnswerMachineDetectionConfig={"EnableAnswerMachineDetection": True, "AwaitAnswerMachinePrompt": True},
    )
    # When it is validated
    model = validate(data, settings)
    # Then every member survives unchanged into the API call
    params = model.to_api_params(settings, "token")
    assert {key: params[key] for key in data if key != "ClientToken"} == {
        key: value for key, value in data.items() if key != "ClientToken"
    }


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("+12", True),  # the shortest E.164 the pattern allows: 2 digits
        ("+1", False),
        ("+123456789012345", True),  # 15 digits in all
        ("+1234567890123456", False),  # 16 digits
        ("+04155550123", False),  # the first digit is 1-9
        ("14155550123", False),  # the plus sign is required
        ("+1 415 555 0123", False),  # no separators
        ("+1415555012a", False),
        ("+1\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0662\u0663", False),  # Arabic-Indic digits
        ("+\uff11415555\uff10123", False),  # full-width digits
    ],
)
@pytest.mark.parametrize("member", ["DestinationPhoneNumber", "SourcePhoneNumber"])
def test_phone_numbers_are_e164(settings: Settings, member: str, number: str, valid: bool) -> None:
    # Given a phone number in either number member (a caller ID the deployment allows, so only its form counts)
    settings = settings.model_copy(update={"extra_source_phone_numbers": frozenset({number})})
    data = request(**{member: number})
    # When it is validated
    # Then only E.164 numbers pass
    if valid:
        validate(data, settings)
    else:
        assert member in problems(data, settings)


@pytest.mark.parametrize(
    ("member", "longest", "max_length"),
    [
        ("Name", 1024, 1024),
        ("Description", 4096, 4096),
        ("ClientToken", 500, 500),
        ("RelatedContactId", 256, 256),
        ("CampaignId", 100, 100),
    ],
)
def test_string_maximums(settings: Settings, member: str, longest: int, max_length: int) -> None:
    # Given a member at its maximum length, and one character over
    # When each is validated
    validate(request(**{member: "x" * longest}), settings)
    # Then the longer one is refused, naming the member
    assert member in problems(request(**{member: "x" * (max_length + 1)}), settings)


@pytest.mark.parametrize("member", ["ClientToken", "RelatedContactId", "CampaignId", "QueueId", "ContactFlowId"])
def test_empty_identifiers_are_refused(settings: Settings, member: str) -> None:
    # Given an identifier member that is present but empty
    # When it is validated
    # Then it is refused rather than sent as an empty string
    assert member in problems(request(**{member: ""}), settings)


@pytest.mark.parametrize(("seconds", "valid"), [(14, False), (15, True), (60, True), (61, False)])
def test_ring_timeout_is_15_to_60_seconds(settings: Settings, seconds: int, valid: bool) -> None:
    # Given a ring timeout at or beyond either end of 15-60 s
    data = request(RingTimeoutInSeconds=seconds)
    # When it is validated
    # Then only 15 to 60 passes
    if valid:
        assert validate(data, settings).RingTimeoutInSeconds == seconds
    else:
        assert "RingTimeoutInSeconds" in problems(data, settings)


def test_types_are_not_coerced(settings: Settings) -> None:
    # Given a ring timeout sent as a string and an attribute value sent as a number
    # When they are validated
    # Then both are refused: a producer's type error is reported, not guessed at
    assert "RingTimeoutInSeconds" in problems(request(RingTimeoutInSeconds="30"), settings)
    assert "Attributes" in problems(request(Attributes={"count": 3}), settings)


@pytest.mark.parametrize(("traffic_type", "valid"), [("GENERAL", True), ("CAMPAIGN", True), ("campaign", False)])
def test_traffic_type(settings: Settings, traffic_type: str, valid: bool) -> None:
    # Given a traffic type
    data = request(TrafficType=traffic_type)
    # When it is validated
    # Then only the API's two values pass
    if valid:
        validate(data, settings)
    else:
        assert "TrafficType" in problems(data, settings)


@pytest.mark.parametrize(
    ("traffic_type", "enabled", "valid"),
    [
        ("CAMPAIGN", {"EnableAnswerMachineDetection": True}, True),
        ("GENERAL", {"EnableAnswerMachineDetection": True}, False),
        (None, {"EnableAnswerMachineDetection": True}, False),
        # The API's rule is about enabling detection only: awaiting the prompt alone needs no CAMPAIGN.
        (None, {"AwaitAnswerMachinePrompt": True}, True),
        ("GENERAL", {"AwaitAnswerMachinePrompt": True, "EnableAnswerMachineDetection": False}, True),
        ("CAMPAIGN", {"AwaitAnswerMachinePrompt": True}, True),
        ("GENERAL", {"EnableAnswerMachineDetection": False}, True),
    ],
)
def test_answering_machine_detection_requires_campaign(
    settings: Settings, traffic_type: str | None, enabled: dict[str, bool], valid: bool
) -> None:
    # Given answering-machine detection settings, with a traffic type
    data = request(AnswerMachineDetectionConfig=enabled)
    if traffic_type is not None:
        data["TrafficType"] = traffic_type
    # When it is validated
    # Then enabling detection is only allowed on CAMPAIGN traffic
    if valid:
        validate(data, settings)
    else:
        assert "EnableAnswerMachineDetection requires TrafficType CAMPAIGN" in problems(data, settings)


def test_attributes_up_to_32768_utf8_bytes(settings: Settings) -> None:
    # Given attributes of exactly the limit, counted in UTF-8 bytes over keys and values ("é" is 2 bytes)
    key = "note"
    value = "é" * ((ATTRIBUTES_MAX_BYTES - len(key)) // 2)
    assert len(key.encode()) + len(value.encode()) == ATTRIBUTES_MAX_BYTES
    # When they are validated, and again with one more byte
    validate(request(Attributes={key: value}), settings)
    message = problems(request(Attributes={key: value + "x"}), settings)
    # Then only the larger set is refused, with its size
    assert f"Attributes take {ATTRIBUTES_MAX_BYTES + 1:,} UTF-8 bytes" in message


def test_attributes_size_counts_every_pair(settings: Settings) -> None:
    # Given many small attributes that only together exceed the limit
    attributes = {f"k{i:04d}": "v" * 59 for i in range(513)}  # 513 x (5 + 59) = 32,832 bytes
    # When they are validated
    # Then the sum is what is limited
    assert "Attributes take 32,832 UTF-8 bytes" in problems(request(Attributes=attributes), settings)


@pytest.mark.parametrize(("key", "valid"), [("order-id_2", True), ("order id", False), ("prénom", False), ("", False)])
def test_attribute_keys(settings: Settings, key: str, valid: bool) -> None:
    # Given an attribute key
    data = request(Attributes={key: "value"})
    # When it is validated
    # Then only letters, digits, '-' and '_' are accepted
    if valid:
        validate(data, settings)
    else:
        assert "Attributes" in problems(data, settings)


def test_references_up_to_4096_utf8_bytes(settings: Settings) -> None:
    # Given one reference whose key, type and value are exactly 4,096 bytes together
    key, kind = "ticket", "URL"
    value = "u" * (REFERENCES_MAX_BYTES - len(key) - len(kind))
    # When it is validated, and again with one byte more
    validate(request(References={key: {"Type": kind, "Value": value}}), settings)
    message = problems(request(References={key: {"Type": kind, "Value": value + "u"}}), settings)
    # Then only the larger one is refused
    assert f"References take {REFERENCES_MAX_BYTES + 1:,} UTF-8 bytes" in message


@pytest.mark.parametrize(
    ("reference", "valid"),
    [
        ({"Type": "URL", "Value": "https://example.com"}, True),
        ({"Type": "STRING", "Value": "gold customer"}, True),
        ({"Type": "ATTACHMENT", "Value": "file"}, False),  # not allowed when a voice contact is created
        ({"Value": "no type"}, False),  # Type is required
        ({"Type": "URL", "Value": "x", "Colour": "red"}, False),
    ],
)
def test_reference_shape(settings: Settings, reference: dict[str, Any], valid: bool) -> None:
    # Given a reference
    data = request(References={"ref": reference})
    # When it is validated
    # Then ATTACHMENT, a missing Type and unknown members are refused
    if valid:
        validate(data, settings)
    else:
        assert "References" in problems(data, settings)


def test_unknown_fields_are_refused(settings: Settings) -> None:
    # Given a request with a misspelt member
    data = request(Atributes={"a": "b"})
    # When it is validated
    # Then the typo is reported rather than silently dropped
    assert "Atributes" in problems(data, settings)
    assert "Extra inputs are not permitted" in problems(data, settings)


def test_outbound_strategy_is_refused(settings: Settings) -> None:
    # Given a request using the campaigns-only OutboundStrategy member
    data = request(OutboundStrategy={"Type": "AGENT_FIRST"})
    # When it is validated
    # Then it is refused with the reason
    assert "only Connect's outbound campaigns service principal may use it" in problems(data, settings)


@pytest.mark.parametrize(("flow_id", "valid"), [(DEFAULT_FLOW_ID, True), (EXTRA_FLOW_ID, True), ("other-flow", False)])
def test_contact_flow_must_be_allowed(settings: Settings, flow_id: str, valid: bool) -> None:
    # Given a request naming a contact flow
    data = request(ContactFlowId=flow_id)
    # When it is validated
    # Then only the default flow and the allowed extra flows pass
    if valid:
        validate(data, settings)
    else:
        assert "CONNECT_ALLOWED_CONTACT_FLOW_IDS" in problems(data, settings)


def test_instance_must_be_the_configured_one(settings: Settings) -> None:
    # Given requests naming the configured instance and another one
    # When they are validated
    validate(request(InstanceId=INSTANCE_ID), settings)
    # Then another instance is refused
    assert "InstanceId differs" in problems(request(InstanceId="another-instance"), settings)


def test_a_call_needs_a_source_number_or_a_queue() -> None:
    # Given a deployment with neither a default source number nor a default queue
    bare = load_settings(
        {k: v for k, v in FUNCTION_ENVIRONMENT.items() if k not in ("CONNECT_SOURCE_PHONE_NUMBER", "CONNECT_QUEUE_ID")}
    )
    # When requests with and without their own source number or queue are validated
    validate(request(SourcePhoneNumber=EXTRA_SOURCE_NUMBER), bare)
    validate(request(QueueId=QUEUE_ID), bare)
    # Then one with neither is refused
    assert "needs a SourcePhoneNumber or a QueueId" in problems(request(), bare)


def test_defaults_fill_what_the_request_leaves_out(settings: Settings) -> None:
    # Given a request with only a destination
    model = validate(request(), settings)
    # When it becomes API parameters
    params = model.to_api_params(settings, "token-1")
    # Then the deployment's instance, default flow and caller ID are used, with the given token
    assert params == {
        "DestinationPhoneNumber": "+14155550123",
        "InstanceId": INSTANCE_ID,
        "ContactFlowId": DEFAULT_FLOW_ID,
        "SourcePhoneNumber": SOURCE_NUMBER,
        "ClientToken": "token-1",
    }


def test_request_values_win_over_defaults(settings: Settings) -> None:
    # Given a request with its own flow, source number and queue
    model = validate(
        request(ContactFlowId=EXTRA_FLOW_ID, SourcePhoneNumber=EXTRA_SOURCE_NUMBER, QueueId=QUEUE_ID), settings
    )
    # When it becomes API parameters
    params = model.to_api_params(settings, "t")
    # Then the request's values are kept
    assert (params["ContactFlowId"], params["SourcePhoneNumber"], params["QueueId"]) == (
        EXTRA_FLOW_ID,
        EXTRA_SOURCE_NUMBER,
        QUEUE_ID,
    )


@pytest.mark.parametrize(
    ("member", "value", "variable"),
    [
        ("SourcePhoneNumber", "+15550100009", "CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS"),
        ("QueueId", "12345678-0000-4000-8000-000000000000", "CONNECT_ALLOWED_QUEUE_IDS"),
    ],
)
def test_caller_ids_and_queues_the_deployment_did_not_choose_are_refused(
    settings: Settings, member: str, value: str, variable: str
) -> None:
    # Given a request naming a caller ID or queue that is neither the default nor allow-listed
    # When it is validated
    # Then it is refused, naming the allow-list that would admit it
    assert variable in problems(request(**{member: value}), settings)


def test_related_contacts_are_refused_unless_the_deployment_allows_them(settings: Settings) -> None:
    # Given a request naming a related contact (Connect would copy that contact's attributes into the call)
    data = request(RelatedContactId="c0ffee00-0000-4000-8000-000000000000")
    # When it is validated by a deployment that allows them, and by one that does not (the default)
    validate(data, settings)
    refusing = load_settings({k: v for k, v in FUNCTION_ENVIRONMENT.items() if k != "ALLOW_RELATED_CONTACT"})
    # Then only the first accepts it
    assert "ALLOW_RELATED_CONTACT" in problems(data, refusing)


def test_validation_needs_the_deployment_settings() -> None:
    # Given no settings as validation context
    # When a request is validated
    # Then validation refuses to guess the allow-lists
    with pytest.raises(TypeError, match="Settings as context"):
        CallRequest.model_validate(request())


def test_personal_data_stays_out_of_repr(settings: Settings) -> None:
    # Given a request with a number and an attribute value
    model = validate(request(Attributes={"name": "Ada Lovelace"}), settings)
    # When it is printed, as a stray log line would
    text = repr(model)
    # Then neither appears
    assert "4155550123" not in text
    assert "Ada Lovelace" not in text
