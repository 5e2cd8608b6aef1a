"""One request, one ClientToken across its result events: Completed names it as Placed, Rejected and Deferred do."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbound_caller.completion.completed import completed_detail
from outbound_caller.completion.report import contact_event_detail
from outbound_caller.config.settings import load_settings
from outbound_caller.connect.placed_calls import token_key
from outbound_caller.names import PLACED_CALL_KEY_PREFIX
from outbound_caller.privacy import mask_token
from outbound_caller.request.envelopes import CallDelivery, parse_delivery, unparsed_token
from outbound_caller.request.record import CallRequestRecord
from tests.support.contact_events import ANSWERED, contact_event
from tests.support.environment import FUNCTION_ENVIRONMENT
from tests.support.lambda_events import aws_id, eventbridge_body, sns_body, sqs_record
from tests.unit.conftest import request

# ClientTokens as the API takes them (1 to 500 characters), and SQS message IDs.
SETTINGS = load_settings(FUNCTION_ENVIRONMENT)
TOKENS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=500)


def _completed_token(client_token: str) -> str:
    """What Outbound Call Completed names for the call placed with this token: the ledger holds only its key."""
    key = token_key(client_token).removeprefix(f"{PLACED_CALL_KEY_PREFIX}#")
    return str(completed_detail(contact_event_detail(contact_event(ANSWERED)), key, outcome="Answered")["ClientToken"])


@given(own_token=TOKENS)
def test_a_producers_own_token_is_named_alike_by_placed_and_completed(own_token: str) -> None:
    # Given a request carrying its own ClientToken
    record = CallRequestRecord.model_validate(sqs_record(json.dumps(request(ClientToken=own_token)), message_id="m-1"))
    delivery = parse_delivery(record, SETTINGS)
    # When the caller names it in Placed and the completion handler in Completed
    # Then both name the same value, and neither the token itself (it is the producer's free text)
    assert result_token(record, delivery) == _completed_token(own_token)
    assert result_token(record, delivery) != own_token


@given(message_id=st.uuids().map(str))
def test_a_token_aws_generated_is_named_alike_by_placed_and_completed(message_id: str) -> None:
    # Given a request with no token of its own: its token is the SQS messageId
    record = CallRequestRecord.model_validate(sqs_record(json.dumps(request()), message_id=message_id))
    delivery = parse_delivery(record, SETTINGS)
    # When the caller names it in Placed and the completion handler in Completed
    # Then both name the same value, so a consumer matches a call's events by ClientToken whatever its source
    assert result_token(record, delivery) == _completed_token(message_id)


def result_token(record: CallRequestRecord, delivery: CallDelivery | None) -> str:
    """The token as the caller's result events name it: its delivery's, or for an invalid body the record's."""
    return (delivery.token if delivery is not None else unparsed_token(record)).in_results


def _unparsable(body: str) -> CallRequestRecord:
    return CallRequestRecord.model_validate(sqs_record(body, message_id="sqs-1"))


def test_an_invalid_request_is_rejected_under_its_own_token() -> None:
    # Given an EventBridge event whose request has its own ClientToken and a field the contract does not know
    record = _unparsable(eventbridge_body(request(ClientToken="order-42", Typo=1), event_id=aws_id("evt-1")))
    # When the Rejected event names the token of a body that could not be parsed
    # Then it is the request's own, the one the producer knows (and the CLI printed), not the SQS messageId
    assert result_token(record, None) == mask_token("order-42")


def test_an_invalid_event_without_a_token_is_rejected_under_its_event_id() -> None:
    # Given an invalid EventBridge event and an invalid SNS notification with no ClientToken of their own
    event = _unparsable(eventbridge_body(request(Typo=1), event_id=aws_id("evt-1")))
    notification = _unparsable(sns_body(json.dumps(request(Typo=1)), message_id=aws_id("sns-1")))
    # When their Rejected events name their tokens
    # Then they are the IDs the producers got back from PutEvents and Publish, as for a valid request
    assert result_token(event, None) == mask_token(aws_id("evt-1"))
    assert result_token(notification, None) == mask_token(aws_id("sns-1"))


@pytest.mark.parametrize("body", ["not json", "[]", '{"ClientToken": 7}', json.dumps({"ClientToken": "x" * 501})])
def test_a_body_with_no_usable_token_is_rejected_under_its_sqs_message_id(body: str) -> None:
    # Given a body that is not JSON, not an object, or whose ClientToken is not a token
    # When its Rejected event names its token
    # Then it is the SQS messageId, as the contract orders
    assert result_token(_unparsable(body), None) == mask_token("sqs-1")
