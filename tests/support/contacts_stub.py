"""Amazon Connect's DescribeContact at the HTTP layer, behind the real botocore client: a contact's facts as Connect
reports them after the call ended, its disconnect reason and answering-machine status among them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from tests.support.connect_stub import _RawBody

CONTACT_PATH = "/contacts/"


@dataclass
class ContactsStub:
    """Answers DescribeContact for the contacts it was told of; any other is unknown (ResourceNotFoundException)."""

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    described: list[str] = field(default_factory=list)
    # An error code every DescribeContact answers with (HTTP 429 for throttling, else 500), while set.
    failing: str | None = None

    def ended(
        self,
        contact_id: str,
        *,
        disconnect_reason: str | None = "CUSTOMER_DISCONNECT",
        detection: str | None = None,
        connected: bool = True,
        agent: bool = False,
    ) -> None:
        """A contact that ended so (timestamps as Connect writes them: epoch seconds in JSON)."""
        contact: dict[str, Any] = {
            "Id": contact_id,
            "Channel": "VOICE",
            "InitiationMethod": "API",
            "InitiationTimestamp": 1_795_000_000.0,
            "DisconnectTimestamp": 1_795_000_060.0,
        }
        if disconnect_reason is not None:
            contact["DisconnectReason"] = disconnect_reason
        if detection is not None:
            contact["AnsweringMachineDetectionStatus"] = detection
        if connected:
            contact["ConnectedToSystemTimestamp"] = 1_795_000_010.0
        if agent:
            contact["AgentInfo"] = {"Id": "agent-1", "ConnectedToAgentTimestamp": 1_795_000_015.0}
        self.contacts[contact_id] = contact

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        assert request.method == "GET"
        contact_id = request.url.rsplit("/", 1)[-1]
        self.described.append(contact_id)
        if self.failing is not None:
            status = 429 if self.failing == "ThrottlingException" else 500
            headers = {"x-amzn-ErrorType": f"{self.failing}:", "content-type": "application/json"}
            return AWSResponse(request.url, status, headers, _RawBody(b'{"Message": "failing"}'))
        contact = self.contacts.get(contact_id)
        if contact is None:
            payload = json.dumps({"Message": "Contact not found"}).encode()
            headers = {"x-amzn-ErrorType": "ResourceNotFoundException:", "content-type": "application/json"}
            return AWSResponse(request.url, 404, headers, _RawBody(payload))
        payload = json.dumps({"Contact": contact}).encode()
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, _RawBody(payload))

    def install(self, client: Any) -> None:
        """Answer the client's DescribeContact requests."""
        client.meta.events.register_first("before-send.connect.DescribeContact", self, unique_id="contacts-stub")
