"""What asks a number to join or leave the suppression list, in the three shapes it arrives in.

- An EventBridge event on the intake bus, detail-type ``Outbound Call Opt Out`` or ``Outbound Call Opt In``, detail
  ``{"PhoneNumber": "+..."}`` (from an allowed producer: the stack's rule admits the intake bus's producers).
- A contact flow's "Invoke AWS Lambda function" block ("press 9 to not be called again"): Connect's ContactFlowEvent,
  whose contact's CustomerEndpoint is the callee; the block may pass ``Action=OptIn`` (default: opt out).
- The operators' command line (``outbound_caller.cli suppress``): ``{"Operation": "add"|"remove"|"check",
  "PhoneNumbers": [...]}``, invoked directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outbound_caller.api_limits import MAX_NUMBERS_PER_INVOCATION
from outbound_caller.names import OPT_IN_EVENT, OPT_OUT_EVENT

Operation = Literal["add", "remove", "check"]
OPT_OUT: Operation = "add"
OPT_IN: Operation = "remove"
CHECK: Operation = "check"
# Where a change came from, as its announcement names it (never who: the number's owner is the only one).
FROM_EVENT = "event"
FROM_CONTACT_FLOW = "contact-flow"
FROM_OPERATOR = "operator"
# Connect's contact flow event name, and the parameter a flow may set to opt a callee back in.
CONTACT_FLOW_EVENT = "ContactFlowEvent"
ACTION_PARAMETER = "Action"
OPT_IN_ACTION = "OptIn"


@dataclass(frozen=True)
class Changes:
    """One request to change the list: the operation, the numbers as given, and where the request came from."""

    operation: Operation
    numbers: tuple[str, ...]
    origin: str


class NotAListChangeError(ValueError):
    """The event is none of the three shapes: the message names which fields are at fault, never their values."""


class _OptEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    detail_type: Literal["Outbound Call Opt Out", "Outbound Call Opt In"] = Field(alias="detail-type")
    detail: _PhoneNumberDetail


class _PhoneNumberDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    PhoneNumber: str = Field(min_length=1, max_length=64)


class _Endpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Address: str = Field(min_length=1, max_length=64)


class _ContactData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    CustomerEndpoint: _Endpoint


class _FlowDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ContactData: _ContactData
    Parameters: dict[str, str] = Field(default_factory=dict)


class _FlowEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Name: Literal["ContactFlowEvent"]
    Details: _FlowDetails


class _Direct(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Operation: Literal["add", "remove", "check"]
    PhoneNumbers: list[str] = Field(min_length=1, max_length=MAX_NUMBERS_PER_INVOCATION)


_OptEvent.model_rebuild()


def changes_of(event: Any) -> Changes:
    """The change an invocation asks for; NotAListChangeError when it is none of the shapes."""
    shape: type[BaseModel]
    if isinstance(event, dict) and "detail-type" in event:
        shape = _OptEvent
    elif isinstance(event, dict) and event.get("Name") == CONTACT_FLOW_EVENT:
        shape = _FlowEvent
    else:
        shape = _Direct
    try:
        parsed = shape.model_validate(event)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in problem["loc"]) or "event" for problem in error.errors()})
        raise NotAListChangeError(f"not a suppression-list change: bad or missing {', '.join(fields)}") from None
    if isinstance(parsed, _OptEvent):
        operation = OPT_OUT if parsed.detail_type == OPT_OUT_EVENT else OPT_IN
        return Changes(operation, (parsed.detail.PhoneNumber,), FROM_EVENT)
    if isinstance(parsed, _FlowEvent):
        opt_in = parsed.Details.Parameters.get(ACTION_PARAMETER) == OPT_IN_ACTION
        return Changes(
            OPT_IN if opt_in else OPT_OUT, (parsed.Details.ContactData.CustomerEndpoint.Address,), FROM_CONTACT_FLOW
        )
    assert isinstance(parsed, _Direct)  # noqa: S101 - the third shape
    return Changes(parsed.Operation, tuple(parsed.PhoneNumbers), FROM_OPERATOR)


def announced_as(operation: str) -> str:
    """The result event's detail-type for a change: Opt Out when a number joined, Opt In when it left."""
    return OPT_OUT_EVENT if operation == OPT_OUT else OPT_IN_EVENT
