"""Call completion on one machine: each call the local Connect ended becomes a contact event of the documented shape,
which goes through the completion handler's own logic; its Completed events are read back from the result bus.

The contact event is the one Connect publishes on the default bus when a call ends ("Amazon Connect contact events";
tests/support/contact_events/ has the recorded samples). The local instance answers every call at once and the
callee hangs up when the call's duration is over, so each event is connected, with CUSTOMER_DISCONNECT.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.connect_instance import LocalConnectInstance
from local.connect_rules import PlacedCall
from outbound_caller.completion.report import completion_for
from outbound_caller.connect.placed_call_lookup import PlacedCallLookup
from outbound_caller.names import COMPLETED_EVENT
from outbound_caller.names import RESULT_SOURCE as RESULT_EVENT_SOURCE
from outbound_caller.observability import metrics
from outbound_caller.results.publisher import ResultEvents

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

SINK_QUEUE_NAME = "connect-outbound-caller-completed-events"
SINK_RULE_NAME = "completed-events-to-queue"
# Every local call is answered and ends when the callee hangs up.
LOCAL_DISCONNECT_REASON = "CUSTOMER_DISCONNECT"
# The time a Lambda invocation would have left, for the publisher's time budget (the stack's 30 s timeout).
PUBLISH_BUDGET_MS = 30_000
# How often to look for calls that have ended, and how long to wait for the sink queue to hold every event.
POLL_SECONDS = 0.2
SINK_WAIT_SECONDS = 5.0
# SQS ReceiveMessage returns at most 10 messages.
SQS_MAX_MESSAGES = 10


def _timestamp(epoch_seconds: float) -> str:
    """A contact timestamp as Connect writes it: yyyy-MM-dd'T'HH:mm:ss.SSS'Z'."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def contact_event(call: PlacedCall, instance_id: str) -> dict[str, Any]:
    """The DISCONNECTED contact event Connect would publish for the call (the documented shape, customer included)."""
    instance_arn = f"arn:aws:connect:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:instance/{instance_id}"
    ended_at = call.placed_at + call.duration_seconds
    return {
        "version": "0",
        "id": f"local-{call.contact_id}",
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "account": LOCAL_ACCOUNT_ID,
        "time": _timestamp(ended_at)[:19] + "Z",
        "region": LOCAL_REGION,
        "resources": [f"{instance_arn}/contact/{call.contact_id}", instance_arn],
        "detail": {
            "eventType": "DISCONNECTED",
            "contactId": call.contact_id,
            "initialContactId": call.contact_id,
            "channel": "VOICE",
            "instanceArn": instance_arn,
            "initiationMethod": "API",
            "initiationTimestamp": _timestamp(call.placed_at),
            "connectedToSystemTimestamp": _timestamp(call.placed_at),
            "disconnectTimestamp": _timestamp(ended_at),
            "disconnectReason": LOCAL_DISCONNECT_REASON,
            "customerEndpoint": {"type": "TELEPHONE_NUMBER", "address": call.destination},
        },
    }


@dataclass
class CompletionRelay:
    """The completion handler's logic fed with the calls that ended, publishing on the run's result bus, and a queue
    behind that bus for the Completed events.

    Create it inside the pipeline's scoped_environment, so that its clients reach the local AWS.
    """

    placed_calls_table_name: str
    instance_id: str
    result_bus_name: str
    delivered: set[str] = field(default_factory=set)
    found: int = 0

    def __post_init__(self) -> None:
        self._events: EventBridgeClient = boto3.client("events")
        self._sqs: SQSClient = boto3.client("sqs")
        self._lookup = PlacedCallLookup(self.placed_calls_table_name, boto3.client("dynamodb"))
        self.queue_url = self._sqs.create_queue(QueueName=SINK_QUEUE_NAME)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = {"source": [RESULT_EVENT_SOURCE], "detail-type": [COMPLETED_EVENT]}
        bus = self.result_bus_name
        self._events.put_rule(Name=SINK_RULE_NAME, EventBusName=bus, EventPattern=json.dumps(pattern))
        self._events.put_targets(Rule=SINK_RULE_NAME, EventBusName=bus, Targets=[{"Id": "sink", "Arn": queue_arn}])

    def deliver_ended(self, calls: list[PlacedCall]) -> int:
        """Report every call that has ended and was not reported yet; return how many were reported now."""
        now = time.monotonic()
        ended = [call for call in calls if call.ends_at <= now and call.contact_id not in self.delivered]
        events = ResultEvents(self._events, self.result_bus_name)
        for call in ended:
            completion = completion_for(
                contact_event(call, self.instance_id),
                self._lookup,
                # moto's index shows a call at once: nothing to wait for, and the demo reports right after the run.
                catch_up_seconds=0,
            )
            if completion is not None:
                events.add(COMPLETED_EVENT, completion.detail)
                self.found += completion.found
            self.delivered.add(call.contact_id)
        events.flush(lambda: PUBLISH_BUDGET_MS)
        # The publisher counts in the function's metric set; locally nothing flushes it, so it would print itself.
        metrics.clear_metrics()
        return len(ended)

    def deliver_all(self, instance: LocalConnectInstance, max_wait_seconds: float) -> list[dict[str, Any]]:
        """Wait (at most max_wait_seconds) for the calls in progress to end, report each, and read the events back."""
        deadline = time.monotonic() + max_wait_seconds
        while True:
            calls = instance.placed_calls
            self.deliver_ended(calls)
            if len(self.delivered) >= len(calls) or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        return self.received(len(self.delivered))

    def received(self, expected: int) -> list[dict[str, Any]]:
        """The Completed events the result bus delivered to the queue, waiting a little for `expected` of them."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + SINK_WAIT_SECONDS
        while len(events) < expected and time.monotonic() < deadline:
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=SQS_MAX_MESSAGES, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not messages:
                time.sleep(POLL_SECONDS)
        return events


# How many Completed events the demo shows in full.
SHOWN_EVENTS = 3


def completion_summary(events: list[dict[str, Any]], ended: int, found: int) -> list[str]:
    """What the demo prints: how many calls ended and were reported, and the first few events' details."""
    lines = [
        f"Call completion: {ended} calls ended; {len(events)} 'Outbound Call Completed' events on the result bus"
        f" ({found} matched to their call's ClientToken through the placed-calls ledger)."
    ]
    for event in events[:SHOWN_EVENTS]:
        lines.append("  " + json.dumps(event["detail"], sort_keys=True))
    return lines
