"""The call request: what producers send, validated to StartOutboundVoiceContact's real limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from outbound_caller.api_limits import (
    ATTRIBUTE_KEY_PATTERN,
    ATTRIBUTES_MAX_BYTES,
    CAMPAIGN_ID_MAX_LENGTH,
    CLIENT_TOKEN_MAX_LENGTH,
    CONTACT_FLOW_ID_MAX_LENGTH,
    CONTACT_ID_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    E164_PATTERN,
    INSTANCE_ID_MAX_LENGTH,
    NAME_MAX_LENGTH,
    REFERENCE_ARN_MAX_LENGTH,
    REFERENCE_ARN_MIN_LENGTH,
    REFERENCE_STATUS_REASON_MAX_LENGTH,
    REFERENCES_MAX_BYTES,
    RING_TIMEOUT_MAX_SECONDS,
    RING_TIMEOUT_MIN_SECONDS,
)
from outbound_caller.config.redial import MAX_REDIAL_ATTEMPTS, MIN_REDIAL_INTERVAL_SECONDS, RedialPolicy
from outbound_caller.config.settings import Settings

PhoneNumber = Annotated[str, StringConstraints(pattern=E164_PATTERN)]
AttributeKey = Annotated[str, StringConstraints(min_length=1, pattern=ATTRIBUTE_KEY_PATTERN)]
ReferenceKey = Annotated[str, StringConstraints(min_length=1, max_length=REFERENCES_MAX_BYTES)]

# The reference types Connect accepts when a voice contact is created ("ATTACHMENT is not a
# supported reference type during voice contact creation"; the others are produced by Connect itself).
CreatableReferenceType = Literal["URL", "NUMBER", "STRING", "DATE", "EMAIL"]
ReferenceStatus = Literal["AVAILABLE", "DELETED", "APPROVED", "REJECTED", "PROCESSING", "FAILED", "DRAFTING"]

_STRICT_NO_EXTRAS = ConfigDict(extra="forbid", strict=True, frozen=True)
# Request members that say when to call, not how: the function reads them, Connect never sees them.
SCHEDULING_MEMBERS = frozenset({"NotBefore", "ExpiresAt", "Redial"})
# The outcomes a request may name in Redial.On (Answered never earns another attempt).
RedialOutcome = Literal["Voicemail", "NoAnswer", "Busy", "InvalidNumber", "Failed", "Unknown"]
_ISO_8601_EXAMPLE = "2026-11-21T18:00:00+01:00"


def _utf8_size(*texts: str | None) -> int:
    return sum(len(text.encode("utf-8")) for text in texts if text is not None)


class AnswerMachineDetection(BaseModel):
    """Answering-machine detection for the call; enabling it requires TrafficType CAMPAIGN."""

    model_config = _STRICT_NO_EXTRAS

    EnableAnswerMachineDetection: bool | None = None
    AwaitAnswerMachinePrompt: bool | None = None


class Reference(BaseModel):
    """A reference shown to the agent in the Contact Control Panel."""

    model_config = _STRICT_NO_EXTRAS

    Type: CreatableReferenceType
    Value: str | None = None
    Status: ReferenceStatus | None = None
    Arn: str | None = Field(
        default=None,
        min_length=REFERENCE_ARN_MIN_LENGTH,
        max_length=REFERENCE_ARN_MAX_LENGTH,
        pattern=r"^[-:/A-Za-z0-9]+$",
    )
    StatusReason: str | None = Field(default=None, max_length=REFERENCE_STATUS_REASON_MAX_LENGTH)

    def utf8_size(self) -> int:
        """The bytes this reference counts against the contact's references limit."""
        return _utf8_size(self.Type, self.Value, self.Status, self.Arn, self.StatusReason)


class RedialRequest(BaseModel):
    """A request's own redial wishes, within the deployment's policy: fewer attempts, a longer interval, fewer outcomes.
    ``{"MaxAttempts": 1}`` turns redial off for the request."""

    model_config = _STRICT_NO_EXTRAS

    MaxAttempts: int | None = Field(default=None, ge=1, le=MAX_REDIAL_ATTEMPTS)
    IntervalSeconds: int | None = Field(default=None, ge=MIN_REDIAL_INTERVAL_SECONDS)
    On: list[RedialOutcome] | None = None


class CallRequest(BaseModel):
    """One outbound call, named exactly as StartOutboundVoiceContact's request members.

    Validate it with the function's Settings as context (``model_validate(..., context=settings)``):
    the flow and instance allow-lists and the source-or-queue rule depend on the deployment.
    """

    model_config = _STRICT_NO_EXTRAS

    # Personal data: kept out of repr() so that no stray log of the model shows them.
    DestinationPhoneNumber: PhoneNumber = Field(repr=False)
    ContactFlowId: str | None = Field(default=None, min_length=1, max_length=CONTACT_FLOW_ID_MAX_LENGTH)
    InstanceId: str | None = Field(default=None, min_length=1, max_length=INSTANCE_ID_MAX_LENGTH)
    SourcePhoneNumber: PhoneNumber | None = None
    QueueId: str | None = Field(default=None, min_length=1)
    Attributes: dict[AttributeKey, str] | None = Field(default=None, repr=False)
    Name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)
    Description: str | None = Field(default=None, max_length=DESCRIPTION_MAX_LENGTH)
    References: dict[ReferenceKey, Reference] | None = None
    RelatedContactId: str | None = Field(default=None, min_length=1, max_length=CONTACT_ID_MAX_LENGTH)
    ClientToken: str | None = Field(default=None, min_length=1, max_length=CLIENT_TOKEN_MAX_LENGTH)
    RingTimeoutInSeconds: int | None = Field(default=None, ge=RING_TIMEOUT_MIN_SECONDS, le=RING_TIMEOUT_MAX_SECONDS)
    TrafficType: Literal["GENERAL", "CAMPAIGN"] | None = None
    CampaignId: str | None = Field(default=None, min_length=1, max_length=CAMPAIGN_ID_MAX_LENGTH)
    AnswerMachineDetectionConfig: AnswerMachineDetection | None = None
    # Scheduling, never sent to Connect. Not placed before NotBefore (deferred until then); a request not placed by
    # ExpiresAt is dead-lettered as Expired, never dialled.
    NotBefore: AwareDatetime | None = Field(default=None, strict=False)
    ExpiresAt: AwareDatetime | None = Field(default=None, strict=False)
    # Redial wishes, never sent to Connect: within the deployment's policy only (a wider one is refused).
    Redial: RedialRequest | None = None

    @field_validator("NotBefore", "ExpiresAt", mode="before")
    @classmethod
    def _iso_8601_text(cls, value: Any) -> Any:
        # Lax datetime parsing would also take epoch numbers; the contract names ISO-8601 text with an offset.
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be an ISO-8601 date-time with an offset, like {_ISO_8601_EXAMPLE}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _refuse_outbound_strategy(cls, data: Any) -> Any:
        if isinstance(data, dict) and "OutboundStrategy" in data:
            raise ValueError(
                "OutboundStrategy is not accepted: only Connect's outbound campaigns service principal may use it"
            )
        return data

    @model_validator(mode="after")
    def _within_api_limits(self) -> CallRequest:
        if self.Attributes is not None:
            size = sum(_utf8_size(key, value) for key, value in self.Attributes.items())
            if size > ATTRIBUTES_MAX_BYTES:
                # Thousands separated: a seven-digit count is no phone number to the redactor of error messages.
                raise ValueError(f"Attributes take {size:,} UTF-8 bytes; the limit is {ATTRIBUTES_MAX_BYTES:,}")
        if self.References is not None:
            size = sum(_utf8_size(key) + reference.utf8_size() for key, reference in self.References.items())
            if size > REFERENCES_MAX_BYTES:
                raise ValueError(f"References take {size:,} UTF-8 bytes; the limit is {REFERENCES_MAX_BYTES:,}")
        if self.NotBefore is not None and self.ExpiresAt is not None and self.NotBefore >= self.ExpiresAt:
            raise ValueError("NotBefore must be before ExpiresAt: the request could never be placed")
        detection = self.AnswerMachineDetectionConfig
        # The API's rule, nothing stricter: only enabling detection needs a CAMPAIGN call.
        if detection is not None and detection.EnableAnswerMachineDetection and self.TrafficType != "CAMPAIGN":
            raise ValueError("EnableAnswerMachineDetection requires TrafficType CAMPAIGN")
        return self

    @model_validator(mode="after")
    def _allowed_by_deployment(self, info: ValidationInfo) -> CallRequest:
        settings = info.context
        if not isinstance(settings, Settings):
            raise TypeError("CallRequest must be validated with the function's Settings as context")
        if self.ContactFlowId is not None and self.ContactFlowId not in settings.allowed_contact_flow_ids:
            raise ValueError("ContactFlowId is neither the default flow nor one of CONNECT_ALLOWED_CONTACT_FLOW_IDS")
        if self.InstanceId is not None and self.InstanceId != settings.instance_id:
            raise ValueError("InstanceId differs from the configured Connect instance")
        # A caller ID or queue the deployment did not choose could impersonate another business line.
        if self.SourcePhoneNumber is not None and self.SourcePhoneNumber not in settings.allowed_source_phone_numbers:
            raise ValueError(
                "SourcePhoneNumber is neither the default caller ID nor one of CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS"
            )
        if self.QueueId is not None and self.QueueId not in settings.allowed_queue_ids:
            raise ValueError("QueueId is neither the default queue nor one of CONNECT_ALLOWED_QUEUE_IDS")
        if self.RelatedContactId is not None and not settings.allow_related_contact:
            raise ValueError("RelatedContactId is not accepted unless ALLOW_RELATED_CONTACT is true")
        if self.Redial is not None:
            # Raises ValueError naming what the request asks beyond the deployment's policy.
            self.redial_policy(settings)
        if not (self.SourcePhoneNumber or self.QueueId or settings.source_phone_number or settings.queue_id):
            raise ValueError(
                "a call needs a SourcePhoneNumber or a QueueId, in the request or as the function's default"
            )
        return self

    def redial_policy(self, settings: Settings) -> RedialPolicy:
        """The redial policy for this request: the deployment's, narrowed by the request's own Redial member."""
        wished = self.Redial
        if wished is None:
            return settings.redial_policy
        return settings.redial_policy.narrowed(
            frozenset(wished.On) if wished.On is not None else None, wished.MaxAttempts, wished.IntervalSeconds
        )

    def to_api_params(self, settings: Settings, client_token: str) -> dict[str, Any]:
        """The StartOutboundVoiceContact arguments: this request with the deployment's defaults filled in."""
        params = self.model_dump(exclude_none=True, exclude=set(SCHEDULING_MEMBERS))
        params["InstanceId"] = settings.instance_id
        params["ContactFlowId"] = self.ContactFlowId or settings.contact_flow_id
        params["ClientToken"] = client_token
        if self.SourcePhoneNumber is None and settings.source_phone_number is not None:
            params["SourcePhoneNumber"] = settings.source_phone_number
        if self.QueueId is None and settings.queue_id is not None:
            params["QueueId"] = settings.queue_id
        return params


def request_json_schema() -> dict[str, Any]:
    """The call request's JSON Schema, for producers; the model stays the source of truth."""
    schema = CallRequest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Call request"
    schema["description"] = (
        "One outbound call for connect-outbound-caller, named as StartOutboundVoiceContact's request members. "
        "Also enforced, beyond what JSON Schema states: Attributes at most 32,768 UTF-8 bytes over all keys and "
        "values; References at most 4,096 UTF-8 bytes in all; EnableAnswerMachineDetection requires TrafficType "
        "CAMPAIGN; ContactFlowId, SourcePhoneNumber and QueueId must be the deployment's defaults or allow-listed; "
        "InstanceId must be the deployment's instance; RelatedContactId only where the deployment allows it; a "
        "SourcePhoneNumber or QueueId is needed unless the deployment sets a default; NotBefore must be before "
        "ExpiresAt; Redial may only narrow the deployment's redial policy (fewer attempts, a longer interval, fewer"
        " outcomes)."
    )
    return schema
