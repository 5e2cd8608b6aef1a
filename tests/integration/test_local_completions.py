"""The local call completion: a call the local Connect ended becomes a contact event, goes through the completion
handler's logic, and its Completed event comes back from the result bus (moto, in process)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local.completions import CompletionRelay, completion_summary, contact_event
from local.connect_rules import PlacedCall
from local.intake import expiring_table_definition
from outbound_caller.completion.report import contact_event_detail
from outbound_caller.connect.placed_calls import PlacedCallsLedger, new_claim_id
from outbound_caller.privacy import mask_token
from tests.support.environment import INSTANCE_ID

TABLE = "local-placed-calls"
RESULT_BUS = "local-results"
NUMBER = "+14155550123"


def call(contact_id: str, token: str | None, ends_in: float, duration: float = 3.5) -> PlacedCall:
    """A contact as the local Connect records it."""
    return PlacedCall(
        contact_id=contact_id,
        client_token=token,
        destination=NUMBER,
        contact_flow_id="flow",
        placed_at=time.time() - duration,
        ends_at=time.monotonic() + ends_in,
        duration_seconds=duration,
    )


@pytest.fixture
def relay() -> Iterator[CompletionRelay]:
    """The relay on moto, with the ledger table laid out as the local pipeline lays it out, and a result bus."""
    with mock_aws():
        boto3.client("dynamodb").create_table(**expiring_table_definition(TABLE, contact_id_index=True))
        boto3.client("events").create_event_bus(Name=RESULT_BUS)
        yield CompletionRelay(TABLE, INSTANCE_ID, RESULT_BUS)


def test_the_contact_event_of_a_local_call_has_the_documented_shape() -> None:
    # Given a call the local Connect ended after 3.5 s
    event = contact_event(call("contact-1", "token-1", ends_in=0), INSTANCE_ID)
    # When it is parsed as the completion handler parses contact events
    detail = contact_event_detail(event)
    # Then it is an API-started voice call of this instance that ended 3.5 s after it connected
    assert (event["source"], event["detail-type"]) == ("aws.connect", "Amazon Connect Contact Event")
    assert (detail.event_type, detail.initiation_method, detail.is_voice) == ("DISCONNECTED", "API", True)
    assert detail.instance_arn is not None
    assert detail.instance_arn.endswith(f":instance/{INSTANCE_ID}")
    assert detail.connected_to_system_timestamp is not None
    assert detail.disconnect_timestamp is not None
    assert (detail.disconnect_timestamp - detail.connected_to_system_timestamp).total_seconds() == pytest.approx(
        3.5, abs=0.002
    )


def test_only_calls_that_ended_are_reported_each_once_with_their_token(relay: CompletionRelay) -> None:
    # Given a placed call recorded in the ledger that has ended, and one still in progress
    ledger = PlacedCallsLedger(TABLE, boto3.client("dynamodb"))
    attempt = ledger.claim("token-1", "fingerprint", lease_until_ms=0, claim_id=new_claim_id())
    assert isinstance(attempt, int)
    ledger.complete("token-1", attempt, "contact-1")
    calls = [call("contact-1", "token-1", ends_in=-1), call("contact-2", None, ends_in=60)]
    # When the relay looks twice
    assert relay.deliver_ended(calls) == 1
    assert relay.deliver_ended(calls) == 0
    # Then one Completed event came back from the result bus, for the ended call, matched to its token
    [event] = relay.received(expected=1)
    assert event["detail"]["ContactId"] == "contact-1"
    assert event["detail"]["ClientToken"] == mask_token("token-1")
    assert event["detail"]["Connected"] is True
    assert NUMBER.lstrip("+") not in json.dumps(event)
    # And the demo's summary says so
    summary = completion_summary([event], ended=len(relay.delivered), found=relay.found)
    assert summary[0].startswith("Call completion: 1 calls ended; 1 'Outbound Call Completed' events")
    assert "(1 matched" in summary[0]
