"""Deferral's bound and where it goes: ExpiresAt, else the first arrival plus MAX_DEFERRAL_SECONDS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from outbound_caller.config.settings import Settings
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.record import CallRequestRecord, SteeringAttributeError
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from outbound_caller.settling.deferral import deferral_deadline_ms, source_queue_url
from tests.support.environment import SIGNING_KEY
from tests.support.lambda_events import signed_sqs_record, sqs_record
from tests.unit.conftest import request

SENT_MS = 1_795_000_000_000


def record(**attributes: str) -> CallRequestRecord:
    """A producer's message (no MAC of the function's): its attributes steer nothing."""
    raw = sqs_record(json.dumps(request()), attributes=attributes)
    raw["attributes"]["SentTimestamp"] = str(SENT_MS)
    return CallRequestRecord.model_validate(raw)


def signed_record(**attributes: str) -> CallRequestRecord:
    """A message the function sent (a deferral), read under the tests' signing key."""
    raw = signed_sqs_record(json.dumps(request()), attributes=attributes)
    raw["attributes"]["SentTimestamp"] = str(SENT_MS)
    parsed = CallRequestRecord.model_validate(raw)
    assert parsed.steer(SIGNING_KEY.encode())
    return parsed


def call_request(settings: Settings, **fields: str) -> CallRequest:
    return CallRequest.model_validate_json(json.dumps(request(**fields)), context=settings)


def test_a_first_delivery_arrived_when_it_was_sent(settings: Settings) -> None:
    # Given a message no deferral has touched
    # When its bound is computed
    # Then it runs MAX_DEFERRAL_SECONDS from the time SQS says it was sent
    assert deferral_deadline_ms(record(), None, settings) == SENT_MS + settings.max_deferral_seconds * 1000


def test_a_deferred_copy_keeps_the_first_arrival_it_carries(settings: Settings) -> None:
    # Given a deferred copy sent later, carrying its first arrival
    first = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    copy = signed_record(FirstArrivalTime=first.isoformat())
    # When its bound is computed
    # Then it runs from the first arrival, not from this copy's send
    assert (
        deferral_deadline_ms(copy, None, settings)
        == int(first.timestamp() * 1000) + settings.max_deferral_seconds * 1000
    )


@pytest.mark.parametrize("carried", ["yesterday", "2026-11-21T09:00:00", "", "9999-12-31T23:59:59+00:00"])
def test_a_producer_s_first_arrival_is_ignored(settings: Settings, carried: str) -> None:
    # Given a first arrival a producer set (no MAC of the function's), readable or not, in the far future even
    # When the bound is computed
    # Then the message's own send time is used: a producer cannot extend its request's deferral bound
    assert deferral_deadline_ms(record(FirstArrivalTime=carried), None, settings) == (
        SENT_MS + settings.max_deferral_seconds * 1000
    )


@pytest.mark.parametrize(
    "attributes",
    [{"FirstArrivalTime": "yesterday"}, {"FirstArrivalTime": "2026-11-21T09:00:00"}, {"DeferralCount": "9" * 5000}],
)
def test_a_signed_attribute_the_function_cannot_read_is_refused(attributes: dict[str, str]) -> None:
    # Given a message under the function's MAC whose attribute is not what the function writes (a bug, or a leaked key)
    raw = signed_sqs_record(json.dumps(request()), attributes=attributes)
    # When its steering is read
    # Then it is refused as invalid (dead-lettered as a ValidationError), never a crash
    with pytest.raises(SteeringAttributeError):
        CallRequestRecord.model_validate(raw).steer(SIGNING_KEY.encode())


def test_expires_at_is_the_bound_when_the_request_names_one(settings: Settings) -> None:
    # Given a request with an ExpiresAt, later than MAX_DEFERRAL_SECONDS would allow (three days after it was sent)
    expires = "2026-11-21T18:00:00+01:00"
    # When its bound is computed
    # Then ExpiresAt is the bound
    bound = deferral_deadline_ms(record(), call_request(settings, ExpiresAt=expires), settings)
    assert bound == int(datetime.fromisoformat(expires).timestamp() * 1000)


def test_no_request_is_deferred_longer_than_the_placed_calls_ledger_remembers(settings: Settings) -> None:
    # Given a request whose ExpiresAt is five weeks after it was sent (and may name a NotBefore as late)
    expires = "2026-12-24T18:00:00+01:00"
    # When its bound is computed
    bound = deferral_deadline_ms(record(), call_request(settings, ExpiresAt=expires), settings)
    # Then it is at most seven days after its first arrival: a copy left by a crash between a deferral's send and
    # the original's acknowledgement could otherwise come back after the ledger forgot the call, and ring again
    assert bound == SENT_MS + MAX_DEFERRAL_LIMIT_SECONDS * 1000


def test_the_source_queue_is_found_from_the_record_when_not_configured(settings: Settings) -> None:
    # Given no SOURCE_QUEUE_URL
    # When the queue of a record is needed
    # Then it is the URL its eventSourceARN names, on the SQS client's endpoint
    assert source_queue_url(record(), settings, boto3.client("sqs", region_name="us-east-1")) == (
        "https://sqs.us-east-1.amazonaws.com/123456789012/outbound-call-requests"
    )


def test_a_configured_source_queue_wins(settings: Settings) -> None:
    # Given SOURCE_QUEUE_URL set
    configured = settings.model_copy(update={"source_queue_url": "https://sqs.example/123/queue"})
    # When the queue of a record is needed
    # Then it is the configured one
    assert (
        source_queue_url(record(), configured, boto3.client("sqs", region_name="us-east-1"))
        == "https://sqs.example/123/queue"
    )
