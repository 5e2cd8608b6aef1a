"""Sending a checked call request: to the queue (SQS SendMessage) or to an event bus (EventBridge PutEvents)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outbound_caller.cli_clients import AwsClients
from outbound_caller.privacy import mask_phone_number, redact_phone_numbers

if TYPE_CHECKING:
    pass

# The detail-type the stack's rule matches by default (infra/settings.py DEFAULT_EVENT_DETAIL_TYPE; a test keeps
# them equal, since the function's package never imports the infrastructure's).
DEFAULT_DETAIL_TYPE = "Outbound Call Requested"
# The event source this tool puts events with unless told otherwise. A deployment's rule forwards only the sources
# listed in its eventSources context value, so add it there (or pass --source with one that is listed).
DEFAULT_EVENT_SOURCE = "outbound-caller.cli"
# Request members whose values are a callee's number, or a producer's free text: shown masked or summarised.
_PHONE_NUMBER_MEMBERS = frozenset({"DestinationPhoneNumber", "SourcePhoneNumber"})
_FREE_TEXT_MEMBERS = frozenset({"Attributes", "References", "Name", "Description"})


@dataclass(frozen=True)
class Target:
    """Where the request goes: a queue URL, or an event bus (name or ARN) with the event's source and detail-type."""

    queue_url: str | None = None
    event_bus: str | None = None
    source: str = DEFAULT_EVENT_SOURCE
    detail_type: str = DEFAULT_DETAIL_TYPE

    def describe(self) -> str:
        """The target in words, for the tool's output."""
        if self.queue_url is not None:
            return f"queue {self.queue_url}"
        return f"event bus {self.event_bus} (source {self.source}, detail-type {self.detail_type})"

    def as_json(self) -> dict[str, str]:
        """The target as the tool's --json output names it."""
        if self.queue_url is not None:
            return {"queueUrl": self.queue_url}
        return {"eventBus": self.event_bus or "", "source": self.source, "detailType": self.detail_type}


def message_body(document: dict[str, Any]) -> str:
    """The request as it is sent: the SQS message body, or the event's Detail."""
    return json.dumps(document, ensure_ascii=False)


def shown_request(document: dict[str, Any]) -> dict[str, Any]:
    """The request as the tool may print it: numbers masked, free text summarised, never quoted."""
    shown: dict[str, Any] = {}
    for member, value in document.items():
        if member in _PHONE_NUMBER_MEMBERS and isinstance(value, str):
            shown[member] = mask_phone_number(value)
        elif member in _FREE_TEXT_MEMBERS and isinstance(value, (dict, str)):
            kind = "entries" if isinstance(value, dict) else "characters"
            shown[member] = f"<{kind}: {len(value)}, not shown>"
        else:
            shown[member] = value
    return shown


def send(clients: AwsClients, target: Target, body: str) -> str:
    """Send the body to the target; the SQS MessageId or the EventBridge event id.

    Raises botocore's ClientError or BotoCoreError when AWS refuses or cannot be reached, and EventNotAccepted when
    PutEvents answers with a failed entry.
    """
    if target.queue_url is not None:
        answer = clients.client("sqs").send_message(QueueUrl=target.queue_url, MessageBody=body)
        return str(answer["MessageId"])
    entry = {"Source": target.source, "DetailType": target.detail_type, "Detail": body}
    entry["EventBusName"] = target.event_bus or "default"
    answer = clients.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount", 0):
        failed = answer["Entries"][0]
        raise EventNotAcceptedError(failed.get("ErrorCode", "UnknownError"), failed.get("ErrorMessage", ""))
    return str(answer["Entries"][0]["EventId"])


class EventNotAcceptedError(Exception):
    """PutEvents answered, but with the entry failed (FailedEntryCount 1): its ErrorCode and ErrorMessage."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {redact_phone_numbers(message)}" if message else code)
        self.code = code
