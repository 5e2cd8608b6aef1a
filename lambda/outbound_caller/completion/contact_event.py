"""The Amazon Connect contact event, as much of it as a completion needs (Powertools parser model).

Shape: "Amazon Connect contact events", Amazon Connect Administrator Guide
(https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html): detail-type "Amazon Connect Contact
Event", source "aws.connect", and in `detail` camelCase fields such as eventType, contactId, channel, instanceArn,
initiationMethod and the contact timestamps. Connect adds fields over time and asks consumers to ignore those they do
not know: the model ignores every field it does not name, so the customer's endpoint (their phone number) is never
even read.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from outbound_caller.names import VOICE

# Connect's ContactId length limit (the data model: "Length: 1-256").
CONTACT_ID_MAX_LENGTH = 256


class AgentInfo(BaseModel):
    """The agent a contact connected to (CONNECTED_TO_AGENT and later events): only when it connected."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    connected_to_agent_timestamp: datetime | None = Field(alias="connectedToAgentTimestamp", default=None)


class ContactEventDetail(BaseModel):
    """The contact event's detail: which contact, how it started, and when it was initiated, connected and ended."""

    # Unknown fields are ignored, not kept: nothing the model does not name (customerEndpoint, tags, attributes) is
    # ever copied anywhere.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    event_type: str = Field(alias="eventType")
    contact_id: str = Field(alias="contactId", min_length=1, max_length=CONTACT_ID_MAX_LENGTH)
    # The documentation's own disconnect sample spells it "Voice", its data model "VOICE".
    channel: str | None = Field(alias="channel", default=None)
    instance_arn: str | None = Field(alias="instanceArn", default=None)
    initiation_method: str | None = Field(alias="initiationMethod", default=None)
    initiation_timestamp: datetime | None = Field(alias="initiationTimestamp", default=None)
    # "The date and time the customer endpoint connected to Amazon Connect": the callee's line answered.
    connected_to_system_timestamp: datetime | None = Field(alias="connectedToSystemTimestamp", default=None)
    # "The date and time that the customer endpoint disconnected from Amazon Connect".
    disconnect_timestamp: datetime | None = Field(alias="disconnectTimestamp", default=None)
    disconnect_reason: str | None = Field(alias="disconnectReason", default=None)
    agent_info: AgentInfo | None = Field(alias="agentInfo", default=None)

    @property
    def is_voice(self) -> bool:
        """A voice call (the channel spelled in either of the documentation's cases)."""
        return (self.channel or "").upper() == VOICE


class ContactEvent(EventBridgeModel):
    """One contact event as EventBridge delivers it to a Lambda target."""

    detail: ContactEventDetail
