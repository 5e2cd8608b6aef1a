"""The local call completion: a call the local Connect ended becomes a contact event of the documented shape, the
completion function (its real handler, in a function container) reads the rest from the local Connect's
DescribeContact, records the outcome in the ledger and publishes its Completed event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from local.completions import POLL_SECONDS, CompletionRelay
from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint
from local.connect_instance import LocalConnectInstance
from local.connect_outcomes import OutcomeMix
from local.contact_events import contact_event
from local.intake import IntakeResources
from local.report import completion_summary
from local.results import ResultSinkReader
from outbound_caller.completion.report import contact_event_detail
from outbound_caller.connect.placed_calls import PlacedCallsLedger, new_claim_id
from outbound_caller.names import COMPLETED_EVENT
from outbound_caller.privacy import mask_token
from tests.support.environment import INSTANCE_ID
from tests.support.local_completion import local_completion

ANSWERING = "+12025550101"
RINGING_OUT_FIRST = "+12125550150"  # the local Connect's first call to it is not answered, later ones are
BUSY = "+12125550141"


@dataclass(frozen=True)
class Local:
    intake: IntakeResources
    connect: LocalConnectEndpoint
    relay: CompletionRelay
    reader: ResultSinkReader


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """Local AWS with the demo's ledger and result bus, a local Connect whose calls last 0.3 s, and the relay."""
    behaviour = ConnectBehaviour(
        instance_id=INSTANCE_ID, call_duration_seconds=0.3, outcomes=OutcomeMix(ring_seconds=0.3)
    )
    with local_completion(tmp_path_factory.mktemp("completion"), behaviour) as running:
        yield Local(running.intake, running.connect, running.relay, ResultSinkReader(running.sink))


def _place(local: Local, destination: str, token: str | None) -> str:
    """A call placed through the local Connect's API and, when it has a token, recorded in the ledger as the caller
    records it."""
    connect = boto3.client("connect")
    contact_id = connect.start_outbound_voice_contact(
        InstanceId=INSTANCE_ID,
        ContactFlowId="flow",
        DestinationPhoneNumber=destination,
        SourcePhoneNumber="+15555550100",
        **({"ClientToken": token} if token else {}),
    )["ContactId"]
    if token is not None:
        ledger = PlacedCallsLedger(local.intake.placed_calls_table_name, boto3.client("dynamodb"))
        attempt = ledger.claim(token, "fingerprint", lease_until_ms=0, claim_id=new_claim_id())
        assert isinstance(attempt, int)
        ledger.complete(token, attempt, contact_id)
    return contact_id


def _completed(local: Local, expected: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = local.reader.drain()
        if seen.by_detail_type[COMPLETED_EVENT] >= expected:
            break
        time.sleep(0.2)
    return [example["detail"] for example in seen.examples if example["detail-type"] == COMPLETED_EVENT]


def test_each_call_that_ended_is_reported_once_with_its_outcome_from_describe_contact(local: Local) -> None:
    # Given an answered call and a busy one placed by the caller (in the ledger), and a ring-out placed by no one
    answered = _place(local, ANSWERING, "token-answered")
    busy = _place(local, BUSY, "token-busy")
    _place(local, RINGING_OUT_FIRST, None)
    # When their calls end and the relay has the completion function report them
    assert local.relay.wait_until_reported(timeout_seconds=20)
    # Then each was handled once, with the outcome Connect's DescribeContact gives it; the call nobody placed is
    # reported only after the ledger's catch-up, so the function failed and is retried as Lambda retries it (a second
    # and two apart here, not one and two minutes), then given up on
    deliveries = local.relay.deliveries
    assert deliveries.outcomes == {"Answered": 1, "Busy": 1}
    assert (deliveries.handled, deliveries.dropped, deliveries.failed_attempts) == (2, 1, 3)
    completed = {str(detail["ContactId"]): detail for detail in _completed(local, expected=2)}
    assert completed[answered]["Outcome"] == "Answered"
    assert completed[answered]["ClientToken"] == mask_token("token-answered")
    assert completed[busy]["Outcome"] == "Busy"
    assert completed[busy]["DisconnectReason"] == "TELECOM_BUSY"
    assert completed[busy]["Connected"] is False
    assert ANSWERING.lstrip("+") not in json.dumps(completed)
    # And the demo's summary says so
    [line] = completion_summary(deliveries, calls=3)
    assert line.startswith("Call completion: 3 calls; the completion function reported 2 (Answered 1, Busy 1)")
    assert "1 contact events given up on" in line


def test_the_contact_event_of_a_local_call_has_the_documented_shape_and_gaps(local: Local) -> None:
    # Given a call the local Connect ended, answered, and one nobody answered
    connect = local.connect.instance
    _place(local, ANSWERING, None)
    _place(local, "+12125550151", None)
    answered, unanswered = connect.placed_calls[-2:]
    # When their contact events are parsed as the completion handler parses them
    answered_detail = contact_event_detail(contact_event(answered, INSTANCE_ID))
    unanswered_detail = contact_event_detail(contact_event(unanswered, INSTANCE_ID))
    # Then both are API-started voice calls of this instance, without a disconnect reason (Connect documents one only
    # for failed campaign contacts), and only the answered one connected
    for detail in (answered_detail, unanswered_detail):
        assert (detail.event_type, detail.initiation_method, detail.is_voice) == ("DISCONNECTED", "API", True)
        assert detail.instance_arn is not None
        assert detail.instance_arn.endswith(f":instance/{INSTANCE_ID}")
        assert detail.disconnect_reason is None
    assert answered_detail.connected_to_system_timestamp is not None
    assert unanswered_detail.connected_to_system_timestamp is None
    assert answered_detail.disconnect_timestamp is not None
    assert (answered_detail.disconnect_timestamp - answered_detail.connected_to_system_timestamp).total_seconds() == (
        pytest.approx(0.3, abs=0.002)
    )


def test_the_relay_looks_again_when_the_next_call_ends_not_at_its_next_poll(tmp_path: Path) -> None:
    # Given a relay (its thread not started) over a local Connect, whose calls last 0.05 s, and a call just placed
    instance = LocalConnectInstance(ConnectBehaviour(instance_id=INSTANCE_ID, call_duration_seconds=0.05))
    relay = CompletionRelay(instance, {}, tmp_path, INSTANCE_ID)
    try:
        instance.start_outbound_voice_contact(
            {
                "InstanceId": INSTANCE_ID,
                "DestinationPhoneNumber": ANSWERING,
                "ContactFlowId": "flow",
                "SourcePhoneNumber": "+15555550100",
            }
        )
        # When it looks
        wake_in = relay.look()
        # Then it will look again when that call ends, well before its poll interval, to hand the end to the function
        # as Connect publishes the contact event: at once
        [call] = instance.placed_calls
        assert wake_in <= max(0.0, call.ends_at - time.monotonic()) + 0.01
        assert wake_in < POLL_SECONDS / 2
        # And with nothing placed, it looks again after its poll interval, for calls placed meanwhile
        idle = CompletionRelay(LocalConnectInstance(ConnectBehaviour(instance_id=INSTANCE_ID)), {}, tmp_path, "x")
        assert idle.look() == pytest.approx(POLL_SECONDS, abs=0.01)
        idle.__exit__(None, None, None)
    finally:
        relay.__exit__(None, None, None)
