"""The result event bus of the local pipeline, and a sink queue that shows what the function announced."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from rich.table import Table

from infra.settings import DeploymentSettings
from outbound_caller.names import COMPLETED_EVENT
from outbound_caller.names import RESULT_SOURCE as RESULT_EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

# The stack creates a bus of its own when resultEventBusName is unset; locally it gets this name.
LOCAL_RESULT_BUS_NAME = "connect-outbound-caller-results"
RESULT_SINK_QUEUE_NAME = "connect-outbound-caller-results-sink"
RESULT_SINK_RULE_NAME = "connect-outbound-caller-results-to-sink"
# SQS ReceiveMessage returns at most 10 messages (and DeleteMessageBatch takes as many).
SQS_MAX_MESSAGES_PER_RECEIVE = 10
# How many events the demo shows in full, per detail-type.
SHOWN_PER_DETAIL_TYPE = 2


@dataclass(frozen=True)
class ResultSink:
    """The bus the function publishes to, and the queue a rule on it forwards every result event to."""

    bus_name: str
    queue_url: str


@dataclass
class ResultEventsSeen:
    """What the sink received: counts by detail-type (and by ErrorCode, Reason or Origin), and a few events in full."""

    by_detail_type: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    # The contacts whose Completed event said Final: their request is done, and was told so.
    final_contact_ids: set[str] = field(default_factory=set)


def local_bus_name(settings: DeploymentSettings) -> str:
    """The bus name for the local run: the configured one (an ARN's name part), else the stack's default bus."""
    configured = settings.result_event_bus_name
    if configured is None:
        return LOCAL_RESULT_BUS_NAME
    return configured.split(":event-bus/", 1)[-1]


def create_result_sink(settings: DeploymentSettings, name_suffix: str = "") -> ResultSink | None:
    """Create the result bus (as the stack does) with a rule forwarding its events to a sink queue; None when
    resultEvents is false. Call it inside scoped_environment(local_sdk_environment(...))."""
    if not settings.result_events:
        return None
    events: EventBridgeClient = boto3.client("events")
    sqs: SQSClient = boto3.client("sqs")
    bus_name = local_bus_name(settings)
    if bus_name != "default":
        events.create_event_bus(Name=bus_name)
    queue_url = sqs.create_queue(
        QueueName=RESULT_SINK_QUEUE_NAME + name_suffix, Attributes={"SqsManagedSseEnabled": "true"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = RESULT_SINK_RULE_NAME + name_suffix
    events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps({"source": [RESULT_EVENT_SOURCE]}))
    events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "ResultSink", "Arn": queue_arn}])
    return ResultSink(bus_name=bus_name, queue_url=queue_url)


class ResultSinkReader:
    """Reads the sink's events as they arrive, counting each once and deleting it.

    Read during the run, not once at its end: a queue in moto costs every send and receive a scan of all its
    messages, so a sink left to grow by one message per outcome slowed every result event after it.
    """

    def __init__(self, sink: ResultSink) -> None:
        """Call it inside scoped_environment(local_sdk_environment(...)), as create_result_sink."""
        self.sink = sink
        self.seen = ResultEventsSeen()
        self._sqs: SQSClient = boto3.client("sqs")

    def drain(self) -> ResultEventsSeen:
        """Count and delete every event the sink holds now; return everything counted so far."""
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.sink.queue_url, MaxNumberOfMessages=SQS_MAX_MESSAGES_PER_RECEIVE, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                self._count(json.loads(message["Body"]))
            self._sqs.delete_message_batch(
                QueueUrl=self.sink.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)],
            )

    def _count(self, event: dict[str, Any]) -> None:
        seen = self.seen
        detail_type, detail = event.get("detail-type", "?"), event.get("detail", {})
        if seen.by_detail_type[detail_type] < SHOWN_PER_DETAIL_TYPE:
            seen.examples.append({"detail-type": detail_type, "detail": detail})
        seen.by_detail_type[detail_type] += 1
        # A rejection by its ErrorCode, a deferral by its Reason, an opt-out or opt-in by the door it came through, a
        # completed call by its Outcome.
        kind = detail.get("ErrorCode") or detail.get("Reason") or detail.get("Origin") or detail.get("Outcome") or ""
        seen.by_kind[(detail_type, kind)] += 1
        if detail_type == COMPLETED_EVENT and detail.get("Final") is True:
            seen.final_contact_ids.add(str(detail.get("ContactId")))


def result_events_table(seen: ResultEventsSeen, sink: ResultSink) -> Table:
    """The events the sink received, by detail-type and ErrorCode, Reason, Origin or Outcome."""
    table = Table(title=f"Result events on bus {sink.bus_name} (a rule forwards them to an SQS sink)")
    table.add_column("detail-type")
    table.add_column("ErrorCode / Reason / Origin / Outcome")
    table.add_column("events", justify="right")
    for (detail_type, kind), count in sorted(seen.by_kind.items()):
        table.add_row(detail_type, kind or "-", str(count))
    table.add_row("[bold]all[/]", "", f"[bold]{sum(seen.by_detail_type.values())}[/]")
    return table
