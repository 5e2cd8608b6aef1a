"""The local call completion with agent pacing: as an agent of a staffed queue takes a call, the relay delivers its
CONNECTED_TO_AGENT contact event (the documented shape, agentInfo and queueInfo) to the real completion function,
which ends the call's claim on an agent while the call goes on; its DISCONNECTED follows as it ends. A callee who
hung up waiting gets no such event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from local.completions import CompletionRelay
from local.connect_agents import QueueStaffing
from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint
from local.contact_events import connected_to_agent_event, contact_event
from local.intake import IntakeResources
from outbound_caller.completion.report import contact_event_detail
from outbound_caller.connect.agents import token_sha256
from outbound_caller.connect.agents_store import AgentsStore
from outbound_caller.connect.placed_calls import PlacedCallsLedger, new_claim_id
from tests.support.environment import INSTANCE_ID
from tests.support.local_completion import local_completion

QUEUE = "33333333-3333-4333-8333-333333333333"
ANSWERING = "+12025550101"
# Long enough for the warm function to handle the CONNECTED_TO_AGENT event well before the call ends.
HANDLE_SECONDS = 2.0
PATIENCE_SECONDS = 0.3
WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Local:
    intake: IntakeResources
    connect: LocalConnectEndpoint
    relay: CompletionRelay
    agents: AgentsStore


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """Local AWS with the demo's ledger and result bus, a local Connect with one agent on QUEUE, and the relay with
    agent pacing on, its function warmed by one call to no queue."""
    behaviour = ConnectBehaviour(
        instance_id=INSTANCE_ID,
        call_duration_seconds=0.2,
        agent_queues=(QueueStaffing(QUEUE, 1, (HANDLE_SECONDS, HANDLE_SECONDS), PATIENCE_SECONDS),),
    )
    with local_completion(tmp_path_factory.mktemp("agent-events"), behaviour, agent_pacing=True) as running:
        agents = AgentsStore(running.intake.placed_calls_table_name, INSTANCE_ID, boto3.client("dynamodb"))
        local = Local(running.intake, running.connect, running.relay, agents)
        _place(local, "token-warm-up", queue_id=None)
        assert running.relay.wait_until_reported(timeout_seconds=WAIT_SECONDS)
        yield local


def _place(local: Local, token: str, queue_id: str | None = QUEUE) -> str:
    """A call placed through the local Connect's API, recorded in the ledger with its queue and counting on an agent
    of it, as the caller with agent pacing records it."""
    contact_id = boto3.client("connect").start_outbound_voice_contact(
        InstanceId=INSTANCE_ID,
        ContactFlowId="flow",
        DestinationPhoneNumber=ANSWERING,
        ClientToken=token,
        **({"QueueId": queue_id} if queue_id else {"SourcePhoneNumber": "+15555550100"}),
    )["ContactId"]
    ledger = PlacedCallsLedger(local.intake.placed_calls_table_name, boto3.client("dynamodb"))
    attempt = ledger.claim(token, "fingerprint", lease_until_ms=0, claim_id=new_claim_id(), agent_queue=queue_id)
    assert isinstance(attempt, int)
    ledger.complete(token, attempt, contact_id)
    if queue_id is not None:
        now_ms = int(time.time() * 1000)
        agents = local.agents.load(queue_id)
        claims = {**agents.claims, token_sha256(token): now_ms + 60_000}
        assert local.agents.write_claims(queue_id, claims, agents.version, now_ms)
    return contact_id


def _wait_for(condition: object, timeout_seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_an_agent_taking_the_call_ends_its_claim_before_the_call_ends(local: Local) -> None:
    # Given a call to the queue, counting on its one agent
    handled_before = local.relay.deliveries.handled
    _place(local, "token-connected")
    assert token_sha256("token-connected") in local.agents.load(QUEUE).claims
    # When the agent takes it (at once: the agent is free)
    assert _wait_for(lambda: local.relay.deliveries.agent_connections == 1)
    # Then the completion function has ended its claim, while the call goes on with the agent
    assert token_sha256("token-connected") not in local.agents.load(QUEUE).claims
    assert local.relay.deliveries.handled == handled_before
    assert local.connect.instance.active_calls() == 1
    # And its DISCONNECTED follows once the handle time is over
    assert local.relay.wait_until_reported(timeout_seconds=WAIT_SECONDS)
    assert local.relay.deliveries.handled == handled_before + 1


def test_a_callee_who_hung_up_waiting_gets_no_connected_to_agent_event(local: Local) -> None:
    # Given the queue's one agent taken by a call, and a second call answered meanwhile
    connections_before = local.relay.deliveries.agent_connections
    _place(local, "token-taken")
    _place(local, "token-abandoned")
    # When both have ended and been reported
    assert local.relay.wait_until_reported(timeout_seconds=WAIT_SECONDS)
    # Then only the first had an agent (the second hung up after its patience), and its claim ended with its call
    assert local.relay.deliveries.agent_connections == connections_before + 1
    assert local.relay.deliveries.agent_connections_dropped == 0
    assert local.connect.instance.queue_records()[QUEUE].abandoned == 1
    assert token_sha256("token-abandoned") not in local.agents.load(QUEUE).claims


def test_the_connected_to_agent_event_has_the_documented_shape(local: Local) -> None:
    # Given a call an agent took, and one nobody placed to a queue
    calls = local.connect.instance.placed_calls
    taken = next(call for call in calls if call.connected_to_agent_at is not None)
    unqueued = next(call for call in calls if call.queue is None)
    # When its events are built as the relay builds them
    connected = connected_to_agent_event(taken, INSTANCE_ID)
    disconnected = contact_event(taken, INSTANCE_ID)
    # Then CONNECTED_TO_AGENT carries the agent and the queue, and parses as the completion handler parses it
    detail = connected["detail"]
    assert contact_event_detail(connected).event_type == "CONNECTED_TO_AGENT"
    assert detail["queueInfo"]["queueArn"].endswith(f"/queue/{QUEUE}")
    assert detail["queueInfo"]["queueType"] == "STANDARD"
    assert "/agent/" in detail["agentInfo"]["agentArn"]
    assert "disconnectTimestamp" not in detail
    # And the DISCONNECTED that follows says the same of them, with its end; a call to no queue has neither
    assert disconnected["detail"]["agentInfo"] == detail["agentInfo"]
    assert disconnected["detail"]["disconnectTimestamp"] > detail["agentInfo"]["connectedToAgentTimestamp"]
    unqueued_detail = contact_event(unqueued, INSTANCE_ID)["detail"]
    assert "queueInfo" not in unqueued_detail
    assert "agentInfo" not in unqueued_detail
    with pytest.raises(ValueError, match="no agent"):
        connected_to_agent_event(unqueued, INSTANCE_ID)
