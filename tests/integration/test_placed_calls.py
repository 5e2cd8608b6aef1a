"""The placed-calls ledger's items: what DynamoDB holds about a call, and what it never holds."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from outbound_caller.connect.placed_calls import ClaimLostError
from tests.support.connect_stub import ConnectStub
from tests.support.environment import IDEMPOTENCY_TABLE
from tests.support.lambda_events import sqs_record

NUMBER = "+14155550123"
TOKEN = "jane.doe@example.com-order-7"


def test_items_hold_hashes_never_the_token_or_the_number(invoke: Any, connect: ConnectStub) -> None:
    # Given a placed call with a producer's own token
    invoke(sqs_record(json.dumps({"DestinationPhoneNumber": NUMBER, "ClientToken": TOKEN})))
    # When the table is read back
    items = boto3.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    # Then one item says the call was placed, with its ContactId and an expiry, and holds neither token nor number
    assert [(item["status"]["S"], item["contact_id"]["S"]) for item in items] == [("PLACED", "contact-0001")]
    assert "expiration" in items[0]
    text = json.dumps(items)
    assert TOKEN not in text
    assert NUMBER.lstrip("+") not in text


def test_a_claim_retried_after_its_answer_was_lost_is_still_its_own(ledger: Any) -> None:
    # Given a claim DynamoDB applied, whose answer was lost, so botocore sends the same write again
    from outbound_caller.connect.placed_calls import new_claim_id

    claim_id = new_claim_id()
    first = ledger.claim("token-1", "fingerprint", lease_until_ms=0, claim_id=claim_id)
    # When the retried write meets the item the first one wrote
    again = ledger.claim("token-1", "fingerprint", lease_until_ms=0, claim_id=claim_id)
    # Then it is recognised as the same claim (attempt 1), not as another delivery's call in progress
    assert first == again == 1
    assert ledger.claim("token-1", "fingerprint", lease_until_ms=0, claim_id=new_claim_id()).status == "CALLING"


def test_attempts_only_grow_through_a_release(ledger: Any) -> None:
    # Given a claim released because Connect surely created nothing
    from outbound_caller.connect.placed_calls import new_claim_id

    attempt = ledger.claim("token-2", "fingerprint", lease_until_ms=0, claim_id=new_claim_id())
    ledger.release("token-2", attempt)
    # When the token is claimed again
    again = ledger.claim("token-2", "fingerprint", lease_until_ms=0, claim_id=new_claim_id())
    # Then it is a new attempt, so no write meant for the first one can land on it
    assert again == attempt + 1
    with pytest.raises(ClaimLostError):
        ledger.complete("token-2", attempt, "contact-late")


def test_a_released_token_named_with_another_call_is_refused(ledger: Any) -> None:
    # Given a claim released for one call
    from outbound_caller.connect.placed_calls import new_claim_id

    attempt = ledger.claim("token-3", "fingerprint-a", lease_until_ms=0, claim_id=new_claim_id())
    ledger.release("token-3", attempt)
    # When the same token is claimed for a different call
    held = ledger.claim("token-3", "fingerprint-b", lease_until_ms=0, claim_id=new_claim_id())
    # Then the claim fails with the recorded entry, whose fingerprint tells the caller the token was reused
    assert (held.status, held.fingerprint) == ("RELEASED", "fingerprint-a")
