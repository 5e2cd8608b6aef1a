"""Producers: sample call requests, sent half through SQS SendMessage and half through EventBridge PutEvents."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from local.connect_behaviour import DEFAULT_FLAKY_DESTINATION_PREFIXES, DEFAULT_THROTTLED_DESTINATION_PREFIXES
from outbound_caller.optout.changes import FROM_CONTACT_FLOW, FROM_EVENT, FROM_OPERATOR

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

SAMPLES_PATH = Path(__file__).resolve().parent / "samples" / "call-requests.json"
# The "source" of the demo's events; any value not starting with "aws." is a valid custom source.
DEMO_EVENT_SOURCE = "example.crm"
# The flow the samples name that the function allows but the local instance does not grant (AccessDenied).
DEMO_UNGRANTED_CONTACT_FLOW_ID = "22222222-2222-4222-8222-222222222222"
# EventBridge PutEvents and SQS SendMessageBatch accept at most 10 entries per call.
MAX_PUT_EVENTS_ENTRIES = 10
MAX_SEND_MESSAGE_BATCH_ENTRIES = 10

PLACED = "placed"
# The outcome of a request to a number on the suppression list: no call, no dead-letter (decisions.OutcomeKind).
SUPPRESSED = "suppressed"
# The expected outcome of a request deferred to a time after the run (e.g. "deferred: OutsideCallingHours"): it is
# still waiting, on the queue, when the run ends, which is the outcome the sample means to show.
DEFERRED_PREFIX = "deferred: "
# How a sample's destination comes onto the suppression list in the demo (a sample's `opt_out`), by the opt-out
# function's door: a producer's Opt Out event on the intake bus before the run, an operator's `suppress add` before the
# run, or the callee pressing 9 during this sample's call (a contact flow). The names are the function's origins.
OPT_OUT_DOORS = (FROM_EVENT, FROM_OPERATOR, FROM_CONTACT_FLOW)


@dataclass(frozen=True)
class Sample:
    """One call request from the sample set, and the outcome the pipeline must reach for it."""

    description: str
    expected: str  # "placed" or the dead-letter ErrorCode
    request: dict[str, Any] | None = None
    raw_body: str | None = None  # a body that is not a JSON request at all
    # Request fields naming a time (NotBefore, ExpiresAt), as seconds after the samples are loaded: static JSON
    # cannot name a time relative to the run. load_samples fills them into `request`.
    times_from_now: dict[str, float] | None = None
    # How the destination comes onto the suppression list (one of OPT_OUT_DOORS); None: the demo leaves it off.
    opt_out: str | None = None
    # How many calls the request makes when placed: its attempts, when the redial policy dials it again.
    calls: int = 1
    # Sent in the demo's first pass only: its story (a number that answers the second call) happens once.
    once: bool = False

    def __post_init__(self) -> None:
        if self.opt_out is not None and self.opt_out not in OPT_OUT_DOORS:
            raise ValueError(f"opt_out {self.opt_out!r} is none of {', '.join(OPT_OUT_DOORS)}")
        if self.calls < 1 or (self.calls > 1 and self.expected != PLACED):
            raise ValueError("calls counts the attempts of a placed request: at least 1, and 1 unless it is placed")

    @property
    def body(self) -> str:
        """The SQS message body a direct producer sends."""
        return self.raw_body if self.raw_body is not None else json.dumps(self.request)

    @property
    def plainly_placed(self) -> bool:
        """A request expected to be placed with no scripted fault on the way (the busy scenario sends only these)."""
        destination = str((self.request or {}).get("DestinationPhoneNumber", ""))
        scripted = (*DEFAULT_THROTTLED_DESTINATION_PREFIXES, *DEFAULT_FLAKY_DESTINATION_PREFIXES)
        return (
            self.expected == PLACED
            and not self.times_from_now
            and self.opt_out is None
            and not destination.startswith(scripted)
        )

    @property
    def once_only(self) -> bool:
        """A sample sent in the first pass only: one that says so, and a callee who opts out during their call (later
        requests find them suppressed)."""
        return self.once or self.opt_out == FROM_CONTACT_FLOW

    @property
    def fits_eventbridge(self) -> bool:
        """Whether the request can be an event's detail (a JSON object)."""
        return self.request is not None


def load_samples(path: Path = SAMPLES_PATH, now: datetime | None = None) -> list[Sample]:
    """Read the sample set, with the times named relative to ``now`` (default: the current time) filled in."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [_timed(Sample(**sample), now or datetime.now(UTC)) for sample in document["samples"]]


def _timed(sample: Sample, now: datetime) -> Sample:
    if not sample.times_from_now or sample.request is None:
        return sample
    times = {
        name: (now + timedelta(seconds=seconds)).isoformat(timespec="seconds")
        for name, seconds in sample.times_from_now.items()
    }
    return dataclasses.replace(sample, request={**sample.request, **times})


def build_requests(samples: list[Sample], count: int) -> list[Sample]:
    """The first `count` requests of the sample set repeated in order, samples called once only in the first pass."""
    if not samples:
        raise ValueError("the sample set is empty")
    requests = samples[:count]
    repeated = [sample for sample in samples if not sample.once_only]
    while repeated and len(requests) < count:
        requests += repeated[: count - len(requests)]
    return requests


def opted_out_numbers(samples: list[Sample], door: str) -> list[str]:
    """The destinations the samples have come onto the suppression list through one door, each once, in order."""
    numbers = (
        str((sample.request or {}).get("DestinationPhoneNumber")) for sample in samples if sample.opt_out == door
    )
    return list(dict.fromkeys(numbers))


def expected_outcomes(requests: list[Sample]) -> Counter[str]:
    """How many requests must end in each outcome; placed ones count their calls (a redialled request makes several)."""
    expected: Counter[str] = Counter()
    for request in requests:
        expected[request.expected] += request.calls if request.expected == PLACED else 1
    return expected


@dataclass(frozen=True)
class ProducedCounts:
    """How the requests were sent."""

    via_sqs: int
    via_eventbridge: int

    def __add__(self, other: ProducedCounts) -> ProducedCounts:
        return ProducedCounts(self.via_sqs + other.via_sqs, self.via_eventbridge + other.via_eventbridge)


def split_by_channel(requests: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """Alternate requests between SQS and EventBridge; bodies EventBridge cannot carry go through SQS."""
    via_sqs: list[Sample] = []
    via_eventbridge: list[Sample] = []
    for index, request in enumerate(requests):
        (via_eventbridge if index % 2 and request.fits_eventbridge else via_sqs).append(request)
    return via_sqs, via_eventbridge


def send_via_sqs(queue_url: str, requests: list[Sample]) -> int:
    """Send each request's body to the queue, as a direct producer does (SendMessageBatch, 10 at a time)."""
    sqs: SQSClient = boto3.client("sqs")
    for start in range(0, len(requests), MAX_SEND_MESSAGE_BATCH_ENTRIES):
        chunk = requests[start : start + MAX_SEND_MESSAGE_BATCH_ENTRIES]
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "MessageBody": request.body} for index, request in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"SendMessageBatch rejected {len(response['Failed'])} of {len(chunk)} messages")
    return len(requests)


def send_via_eventbridge(event_bus_name: str, source: str, detail_type: str, requests: list[Sample]) -> int:
    """PutEvents with each request as an event's detail onto the bus whose rule targets the queue."""
    events: EventBridgeClient = boto3.client("events")
    for start in range(0, len(requests), MAX_PUT_EVENTS_ENTRIES):
        chunk = requests[start : start + MAX_PUT_EVENTS_ENTRIES]
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": event_bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(request.request),
                }
                for request in chunk
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected {response['FailedEntryCount']} of {len(chunk)} events")
    return len(requests)


def produce(
    requests: list[Sample], queue_url: str, event_bus_name: str, source: str, detail_type: str
) -> ProducedCounts:
    """Send the requests, half through SQS and half through EventBridge."""
    via_sqs, via_eventbridge = split_by_channel(requests)
    return ProducedCounts(
        via_sqs=send_via_sqs(queue_url, via_sqs),
        via_eventbridge=send_via_eventbridge(event_bus_name, source, detail_type, via_eventbridge),
    )
