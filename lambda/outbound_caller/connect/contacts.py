"""What Connect says of a contact after it ended: DescribeContact's disconnect reason, answering-machine status,
and whether the callee connected and an agent took the call. The contact event lacks the first two for ordinary API
calls (Connect documents the event's disconnectReason only for failed campaign contacts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient


@dataclass(frozen=True)
class DescribedContact:
    """The contact's facts a completion needs; never its customer endpoint (the phone number)."""

    disconnect_reason: str | None
    detection_status: str | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    agent_connected: bool


class ContactReader:
    """DescribeContact on one instance."""

    def __init__(self, client: ConnectClient, instance_id: str) -> None:
        self.client = client
        self._instance_id = instance_id

    def describe(self, contact_id: str) -> DescribedContact | None:
        """The contact's facts; None when Connect no longer (or not yet) knows it. Other failures raise: the completion
        fails, and Lambda tries again."""
        try:
            contact = self.client.describe_contact(InstanceId=self._instance_id, ContactId=contact_id)["Contact"]
        except self.client.exceptions.ResourceNotFoundException:
            return None
        agent = contact.get("AgentInfo") or {}
        return DescribedContact(
            disconnect_reason=contact.get("DisconnectReason"),
            detection_status=contact.get("AnsweringMachineDetectionStatus"),
            connected_at=contact.get("ConnectedToSystemTimestamp"),
            disconnected_at=contact.get("DisconnectTimestamp"),
            agent_connected=agent.get("ConnectedToAgentTimestamp") is not None,
        )
