"""Where the request sits in the SQS body, and the ClientToken each delivery implies."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from outbound_caller.config.settings import Settings
from outbound_caller.request.envelopes import EVENTBRIDGE, REQUEST, SNS, CallDelivery
from outbound_caller.request.envelopes import parse_delivery as parse_record
from outbound_caller.request.problems import describe_validation_error
from outbound_caller.request.record import CallRequestRecord, SteeringAttributeError
from outbound_caller.request.token import TOKEN_FROM_ATTRIBUTE, TOKEN_FROM_REQUEST, TOKEN_FROM_SQS
from tests.support.environment import SIGNING_KEY
from tests.support.lambda_events import aws_id, eventbridge_body, signed_sqs_record, sns_body, sqs_record
from tests.unit.conftest import request

RAW = json.dumps(request())


def record(body: str, message_id: str, attributes: dict[str, str] | None = None) -> CallRequestRecord:
    """The SQS record Lambda delivers for ``body``, as the batch processor parses it."""
    return CallRequestRecord.model_validate(sqs_record(body, message_id=message_id, attributes=attributes))


def signed(body: str, message_id: str, attributes: dict[str, str]) -> CallRequestRecord:
    """A message the function sent (a dead-letter redriven, a deferral), read under the tests' signing key."""
    parsed = CallRequestRecord.model_validate(signed_sqs_record(body, message_id=message_id, attributes=attributes))
    assert parsed.steer(SIGNING_KEY.encode())
    return parsed


def parse_delivery(body: str, message_id: str, settings: Settings) -> CallDelivery:
    """Parse a body delivered as the SQS message ``message_id`` with no message attributes."""
    return parse_record(record(body, message_id), settings)


def test_raw_request_token_is_the_sqs_message_id(settings: Settings) -> None:
    # Given a request sent straight to the queue
    # When its delivery is parsed
    delivery = parse_delivery(RAW, "sqs-message-1", settings)
    # Then it is a plain request whose token is the SQS messageId
    assert (delivery.envelope, delivery.token.value) == (REQUEST, "sqs-message-1")


def test_eventbridge_event_token_is_the_event_id(settings: Settings) -> None:
    # Given the request as the detail of an EventBridge event
    body = eventbridge_body(request(), event_id=aws_id("event-1"))
    # When its delivery is parsed
    delivery = parse_delivery(body, "sqs-message-1", settings)
    # Then the detail is the request and the event id is the token
    assert (delivery.envelope, delivery.token.value) == (EVENTBRIDGE, aws_id("event-1"))
    assert delivery.request.DestinationPhoneNumber == "+14155550123"


def test_eventbridge_event_without_account_is_accepted(settings: Settings) -> None:
    # Given an event as moto's EventBridge delivers it, with no account
    body = eventbridge_body(request(), event_id=aws_id("event-2"), account=None)
    # When its delivery is parsed
    # Then it is accepted
    assert parse_delivery(body, "m", settings).token.value == aws_id("event-2")


def test_sns_notification_token_is_the_sns_message_id(settings: Settings) -> None:
    # Given the request as an SNS notification's Message (no raw delivery)
    body = sns_body(RAW, message_id=aws_id("sns-1"))
    # When its delivery is parsed
    delivery = parse_delivery(body, "sqs-message-1", settings)
    # Then the Message is the request and the SNS MessageId is the token
    assert (delivery.envelope, delivery.token.value) == (SNS, aws_id("sns-1"))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(request(ClientToken="own-token")),
        eventbridge_body(request(ClientToken="own-token")),
        sns_body(json.dumps(request(ClientToken="own-token"))),
    ],
    ids=["raw", "eventbridge", "sns"],
)
def test_the_requests_own_token_wins(settings: Settings, body: str) -> None:
    # Given a request carrying its own ClientToken, in any envelope
    # When its delivery is parsed
    # Then that token is used
    assert parse_delivery(body, "sqs-message-1", settings).token.value == "own-token"


def test_the_same_delivery_gives_the_same_token(settings: Settings) -> None:
    # Given the same EventBridge event delivered twice in different SQS messages
    body = eventbridge_body(request(), event_id=aws_id("event-3"))
    # When both deliveries are parsed
    first = parse_delivery(body, "sqs-message-1", settings)
    second = parse_delivery(body, "sqs-message-2", settings)
    # Then they carry the same token, so Connect places one call
    assert first.token.value == second.token.value == aws_id("event-3")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", "Invalid JSON"),
        ("[1, 2]", "Input should be an object"),
        ('"+14155550123"', "Input should be an object"),
        ("{}", "request.DestinationPhoneNumber: Field required"),
        (eventbridge_body({"DestinationPhoneNumber": "0"}), "eventbridge.detail.DestinationPhoneNumber"),
        (sns_body("not json"), "sns.Message: Invalid JSON"),
        (sns_body(json.dumps({"Destination": "+1"})), "sns.Message.DestinationPhoneNumber: Field required"),
    ],
)
def test_invalid_bodies_say_where_and_what(settings: Settings, body: str, expected: str) -> None:
    # Given a body that is not a valid request in any envelope
    # When its delivery is parsed
    with pytest.raises(ValidationError) as caught:
        parse_delivery(body, "m", settings)
    # Then the error, as the dead-letter queue gets it, locates the problem
    assert expected in describe_validation_error(caught.value)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (eventbridge_body(request(), event_id=""), "eventbridge.id"),
        (eventbridge_body(request(), event_id="e" * 501), "eventbridge.id"),
        (sns_body(RAW, message_id=""), "sns.MessageId"),
    ],
    ids=["empty-event-id", "long-event-id", "empty-sns-id"],
)
def test_envelope_ids_that_cannot_be_a_client_token_are_refused(settings: Settings, body: str, location: str) -> None:
    # Given an envelope whose id would become the ClientToken but is empty or too long for one
    # When its delivery is parsed
    with pytest.raises(ValidationError) as caught:
        parse_delivery(body, "m", settings)
    # Then it is refused, rather than sent to Connect as an invalid token
    assert location in describe_validation_error(caught.value)


@pytest.mark.parametrize(
    "body",
    [RAW, eventbridge_body(request(), event_id=aws_id("event-4")), sns_body(RAW, message_id=aws_id("sns-4"))],
    ids=["raw", "eventbridge", "sns"],
)
def test_a_travelling_token_wins_over_every_delivery_id(settings: Settings, body: str) -> None:
    # Given a request the function dead-lettered with its token, redriven as a new SQS message
    redriven = signed(body, "new-message-id", {"ClientToken": "original-message-id", "ErrorCode": "RetriesExhausted"})
    # When its delivery is parsed
    delivery = parse_record(redriven, settings)
    # Then it keeps its first token, not the redrive's new messageId (nor the envelope's id)
    assert (delivery.token.value, delivery.token.source) == ("original-message-id", TOKEN_FROM_ATTRIBUTE)


def test_the_requests_own_token_wins_over_a_travelling_one(settings: Settings) -> None:
    # Given a request naming its own token, carrying a (masked) travelling token attribute
    redriven = signed(json.dumps(request(ClientToken="order-7")), "m2", {"ClientToken": "sha256:0011223344556677"})
    # When its delivery is parsed
    delivery = parse_record(redriven, settings)
    # Then the request's own token is used, and it counts as a producer's free text
    assert (delivery.token.value, delivery.token.source, delivery.token.is_free_text) == (
        "order-7",
        TOKEN_FROM_REQUEST,
        True,
    )


@pytest.mark.parametrize("attribute", ["order-7", "", "t" * 501])
def test_a_producer_s_client_token_attribute_is_ignored(settings: Settings, attribute: str) -> None:
    # Given a ClientToken message attribute a producer set (no MAC of the function's)
    # When the delivery is parsed
    delivery = parse_record(record(RAW, "m3", {"ClientToken": attribute}), settings)
    # Then the SQS messageId is the token, as if the attribute were absent: only the function's own travel
    assert (delivery.token.value, delivery.token.source) == ("m3", TOKEN_FROM_SQS)


@pytest.mark.parametrize("attribute", ["", "t" * 501, "bad\x01token"])
def test_a_signed_travelling_token_that_cannot_be_a_token_is_refused(attribute: str) -> None:
    # Given a ClientToken under the function's MAC that no send of the function's would carry
    raw = signed_sqs_record(RAW, message_id="m3", attributes={"ClientToken": attribute})
    # Then reading its steering refuses it, as invalid rather than as a crash
    with pytest.raises(SteeringAttributeError):
        CallRequestRecord.model_validate(raw).steer(SIGNING_KEY.encode())


@pytest.mark.parametrize(
    ("attributes", "confirmed"),
    [
        ({"ErrorCode": "OutcomeUnknown", "OutcomeUnknownAttempt": "2"}, 2),
        ({"ErrorCode": "OutcomeUnknown"}, None),  # no attempt named: nothing to confirm
        ({"ErrorCode": "RetriesExhausted", "OutcomeUnknownAttempt": "2"}, None),
        ({}, None),
    ],
)
def test_only_a_redriven_outcome_unknown_confirms_the_attempt_it_names(
    attributes: dict[str, str], confirmed: int | None
) -> None:
    # Given a message the function sent, with or without the attributes it attaches to an uncertain call's dead-letter
    # Then only a redriven OutcomeUnknown naming its attempt confirms calling that token again, for that attempt
    assert signed(RAW, "m4", attributes).confirmed_attempt == confirmed


def test_a_confirmation_without_the_function_s_mac_confirms_nothing() -> None:
    # Given the attributes of an OutcomeUnknown dead-letter, set by a producer (or planted in the dead-letter queue)
    forged = record(RAW, "m5", {"ErrorCode": "OutcomeUnknown", "OutcomeUnknownAttempt": "1"})
    # Then they confirm nothing: only the function's own dead-letter, redriven, can
    assert forged.confirmed_attempt is None
    assert not forged.steer(SIGNING_KEY.encode())
    assert forged.confirmed_attempt is None
