"""Publish one `Outbound Call Completed` event on the result bus.

The smallest publish step, to be replaced by the function's result-event publisher (outbound_caller.results) once
that is merged: same source, same bus, one event per invocation.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from outbound_caller.completion.completed import DETAIL_TYPE
from outbound_caller.timeouts import create_client

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

# The contract's source of every result event.
RESULT_EVENT_SOURCE = "connect-outbound-caller"
# PutEvents answers in tens of milliseconds; botocore's standard retries cover a throttled or failed attempt.
EVENTS_CONNECT_TIMEOUT_SECONDS = 1
EVENTS_READ_TIMEOUT_SECONDS = 2


class CompletionNotPublishedError(Exception):
    """EventBridge did not take the Completed event; the invocation fails so that Lambda retries it."""


def events_client() -> EventBridgeClient:
    """An EventBridge client with the function's timeouts and retries."""
    client: EventBridgeClient = create_client("events", EVENTS_CONNECT_TIMEOUT_SECONDS, EVENTS_READ_TIMEOUT_SECONDS)
    return client


def publish_completed(client: EventBridgeClient, bus_name: str, detail: dict[str, Any]) -> None:
    """Put one Completed event on the bus; raise CompletionNotPublishedError when EventBridge refuses it."""
    answer = client.put_events(
        Entries=[
            {
                "Source": RESULT_EVENT_SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=True),
                "EventBusName": bus_name,
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        codes = sorted({entry.get("ErrorCode", "") for entry in answer.get("Entries", [])} - {""})
        raise CompletionNotPublishedError(f"PutEvents refused the Completed event: {', '.join(codes) or 'unknown'}")
