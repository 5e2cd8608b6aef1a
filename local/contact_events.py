"""The contact events Connect publishes on the default bus for a call of the local Connect: DISCONNECTED as it ends, and
CONNECTED_TO_AGENT as an agent of its queue takes it ("Amazon Connect contact events"; tests/support/contact_events/
has recorded samples), with their documented gaps: an API-started call's event carries no disconnectReason (documented
only for failed campaign contacts), and a call that never connected has no connectedToSystemTimestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.connect_agents import agent_id
from local.connect_instance import instance_arn
from local.connect_rules import PlacedCall
from outbound_caller.names import CONNECTED_TO_AGENT, DISCONNECTED


def event_timestamp(epoch_seconds: float) -> str:
    """A contact timestamp as Connect writes it: yyyy-MM-dd'T'HH:mm:ss.SSS'Z'."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def contact_event(call: PlacedCall, instance_id: str) -> dict[str, Any]:
    """The DISCONNECTED contact event Connect would publish for the call, customer endpoint included."""
    ended_at = call.placed_at + call.duration_seconds
    detail = _detail(call, instance_id, DISCONNECTED, connected_to_agent=call.connected_to_agent_at is not None)
    detail["disconnectTimestamp"] = event_timestamp(ended_at)
    return _envelope(call, instance_id, detail, ended_at)


def connected_to_agent_event(call: PlacedCall, instance_id: str) -> dict[str, Any]:
    """The CONNECTED_TO_AGENT contact event Connect would publish as an agent takes the call."""
    connected_at = call.connected_to_agent_at
    if connected_at is None:
        raise ValueError("no agent took this call")
    return _envelope(
        call, instance_id, _detail(call, instance_id, CONNECTED_TO_AGENT, connected_to_agent=True), connected_at
    )


def _detail(call: PlacedCall, instance_id: str, event_type: str, *, connected_to_agent: bool) -> dict[str, Any]:
    """What every contact event of the call says (customer endpoint included), and its queue and agent if any."""
    arn = instance_arn(instance_id)
    detail: dict[str, Any] = {
        "eventType": event_type,
        "contactId": call.contact_id,
        "initialContactId": call.contact_id,
        "channel": "VOICE",
        "instanceArn": arn,
        "initiationMethod": "API",
        "initiationTimestamp": event_timestamp(call.placed_at),
        "customerEndpoint": {"type": "TELEPHONE_NUMBER", "address": call.destination},
    }
    if call.story.connected:
        detail["connectedToSystemTimestamp"] = event_timestamp(call.placed_at)
    queue = call.queue
    if queue is not None:
        detail["queueInfo"] = {
            "queueType": "STANDARD",
            "queueArn": f"{arn}/queue/{queue.queue_id}",
            "enqueueTimestamp": event_timestamp(call.placed_at),
        }
        connected_at = call.connected_to_agent_at
        if connected_to_agent and connected_at is not None:
            detail["agentInfo"] = {
                "agentArn": f"{arn}/agent/{agent_id(queue.queue_id, queue.agent)}",
                "connectedToAgentTimestamp": event_timestamp(connected_at),
            }
    return detail


def _envelope(call: PlacedCall, instance_id: str, detail: dict[str, Any], at: float) -> dict[str, Any]:
    """The EventBridge event around a contact event's detail."""
    arn = instance_arn(instance_id)
    return {
        "version": "0",
        # The DISCONNECTED event's id as before; another kind's names its kind.
        "id": f"local-{call.contact_id}"
        if detail["eventType"] == DISCONNECTED
        else f"local-{detail['eventType'].lower()}-{call.contact_id}",
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "account": LOCAL_ACCOUNT_ID,
        "time": event_timestamp(at)[:19] + "Z",
        "region": LOCAL_REGION,
        "resources": [f"{arn}/contact/{call.contact_id}", arn],
        "detail": detail,
    }
