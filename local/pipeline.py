"""The whole system on one machine: local AWS, local Connect, the event source runner and the real function.

Outcomes are counted from their effects, not from logs: the contacts the local Connect created, the messages
in the dead-letter queue with their ErrorCode attributes, and the partial batch responses the runner saw.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from infra.settings import DeploymentSettings
from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint
from local.connect_instance import ConnectStats
from local.delivery_faults import DeliveryFaults
from local.event_source import EventSourceMappingSpec, SqsEventSource
from local.event_source_stats import EventSourceStats
from local.function_container import DEFAULT_CODE_ROOT, DEFAULT_HANDLER, FunctionSpec
from local.intake import IntakeResources, create_intake
from local.moto_servers import LocalAws
from local.producers import (
    DEFERRED_PREFIX,
    DEMO_EVENT_SOURCE,
    PLACED,
    ProducedCounts,
    Sample,
    expected_outcomes,
    produce,
)
from local.queue_reading import queue_depth
from local.results import ResultEventsSeen, ResultSink, ResultSinkReader, create_result_sink
from local.sdk_environment import local_sdk_environment, scoped_environment
from local.worker_faults import WorkerFaults

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = REPO_ROOT / ".local"
FUNCTION_LOG_NAME = "function.log"
# The reason shown for dead-letter messages without an ErrorCode: SQS moved them there itself, after
# maxReceiveCount receives. The function dead-letters a last receive itself, with its reason, so this only
# happens when the invocation handling the last receive died.
MOVED_BY_SQS = "(none: moved by SQS)"
# How often the pipeline looks at the queues while waiting for the requests to settle.
SETTLE_POLL_SECONDS = 0.25
# SQS ReceiveMessage returns at most 10 messages.
SQS_MAX_MESSAGES_PER_RECEIVE = 10
# The window over which the busiest stretch of calls is measured; long enough to average out the burst.
PEAK_WINDOW_SECONDS = 5.0
# The deferral reasons a request may not be called before (the function's settling.deferral.BINDING_REASONS): a
# request deferred for one of them to a time after the run has reached its outcome for the run, waiting.
BINDING_DEFERRAL_REASONS = frozenset({"NotBefore", "OutsideCallingHours"})
# Hide dead-letter messages while counting them, so one is never counted twice.
DLQ_COUNTING_VISIBILITY_SECONDS = 600


@dataclass(frozen=True)
class PipelineConfig:
    """One local run: the deployment settings plus the local instance's behaviour and the demo overrides."""

    settings: DeploymentSettings
    connect: ConnectBehaviour
    # Demo override: the deployed visibility timeout (6 x the function timeout) would make a retry wait minutes.
    visibility_timeout_seconds: int | None = None
    # Demo/test override of the function timeout; None keeps the one the stack derives.
    function_timeout_seconds: float | None = None
    work_dir: Path = DEFAULT_WORK_DIR
    handler: str = DEFAULT_HANDLER
    code_root: Path = DEFAULT_CODE_ROOT
    extra_function_environment: dict[str, str] = field(default_factory=dict)
    # Misbehaviour of the runtime and of SQS to inject (reliability runs): dying workers, duplicate deliveries.
    worker_faults: WorkerFaults | None = None
    delivery_faults: DeliveryFaults | None = None
    # Send every request before the event source starts polling, and start the run's clock then (benchmarks): the
    # whole load is queued and no function container has started, so cold starts count and sending does not.
    queue_before_polling: bool = False

    @property
    def effective_visibility_timeout_seconds(self) -> int:
        """The visibility timeout the local queue gets."""
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.settings.visibility_timeout_seconds

    @property
    def effective_function_timeout_seconds(self) -> float:
        """The timeout the runner enforces on each invocation."""
        if self.function_timeout_seconds is not None:
            return self.function_timeout_seconds
        return float(self.settings.function_timeout_seconds)

    @property
    def log_path(self) -> Path:
        """Where the function containers' stdout and stderr go."""
        return self.work_dir / FUNCTION_LOG_NAME


@dataclass(frozen=True)
class Progress:
    """A snapshot while requests settle."""

    elapsed_seconds: float
    requests: int
    placed: int
    dead_lettered: int
    queue: dict[str, int]
    event_source: EventSourceStats
    connect: ConnectStats
    active_calls: int
    waiting: int = 0  # requests deferred to a time after the run (their messages stay on the queue, delayed)
    sent: int = 0  # requests the producers have sent so far

    @property
    def unsettled_on_queue(self) -> int:
        """Messages of requests still to settle: visible, in flight or delayed, but for the waiting requests'."""
        return max(0, sum(self.queue.values()) - self.waiting)

    @property
    def backlog(self) -> int:
        """Messages waiting for a poller to receive them: neither in flight nor delayed."""
        return self.queue.get("visible", 0)

    @property
    def settled_requests(self) -> int:
        """Requests sent that have left the source queue for good (each has one message there until then), or wait
        beyond the run; about, since a deferral sends its new message just before it deletes the old one."""
        return min(self.requests, max(0, self.sent - self.unsettled_on_queue))

    @property
    def settled(self) -> bool:
        """Nothing left on the source queue but the requests waiting beyond the run, no invocation running and no
        duplicate delivery still to come."""
        source = self.event_source
        return sum(self.queue.values()) == self.waiting and source.in_flight == 0 and source.duplicates_pending == 0


@dataclass(frozen=True)
class Waiting:
    """A request the function deferred, for a reason it may not be called before (NotBefore, calling hours)."""

    reason: str
    until: datetime


class FunctionLog:
    """Follows the function's structured log lines: deferrals by reason, and the requests deferred until a time.

    Read as it grows (each look reads only the new lines), since a run looks often and the log can be long.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.deferred: Counter[str] = Counter()  # a request may be deferred several times
        # ClientToken (as logged) -> its latest binding deferral; gone once the request ends another way.
        self._waiting: dict[str, Waiting] = {}

    def waiting_after(self, moment: datetime) -> list[Waiting]:
        """The requests whose latest outcome is a deferral until after ``moment``."""
        self._read()
        return [waiting for waiting in self._waiting.values() if waiting.until > moment]

    def _read(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as log:
            log.seek(self._offset)
            text = log.read()
        complete = text.rfind(b"\n") + 1  # a line still being written is read next time
        self._offset += complete
        for line in text[:complete].decode("utf-8", errors="replace").splitlines():
            if '"outcome"' in line:
                self._note(line)

    def _note(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return
        if not isinstance(entry, dict) or "outcome" not in entry:
            return
        token = str(entry.get("client_token"))
        self._waiting.pop(token, None)
        if entry["outcome"] != "deferred":
            return
        reason = str(entry.get("reason"))
        self.deferred[reason] += 1
        until = entry.get("deferred_until")
        if reason in BINDING_DEFERRAL_REASONS and isinstance(until, str):
            self._waiting[token] = Waiting(reason, datetime.fromisoformat(until))


@dataclass(frozen=True)
class DeadLetter:
    """A message found in the dead-letter queue: its body and its ErrorCode (MOVED_BY_SQS when it has none)."""

    body: str
    error_code: str
    error_message: str = ""


@dataclass(frozen=True)
class RunResult:
    """What a run achieved, counted from its effects."""

    requests: int
    produced: ProducedCounts
    expected: Counter[str]
    placed: int
    dead_letters: list[DeadLetter]
    event_source: EventSourceStats
    connect: ConnectStats
    duration_seconds: float
    complete: bool  # everything settled before the time limit
    left_on_queue: int
    config: PipelineConfig
    peak_calls_per_second: float = 0.0  # the busiest PEAK_WINDOW_SECONDS of calls placed
    # Deferrals by reason (a request may be deferred several times), from the function's log: a deferral leaves no
    # other trace once the request it sent back is settled.
    deferred: Counter[str] = field(default_factory=Counter)
    # Requests still deferred when the run ended, to a time after it: waiting on the queue, as they should be.
    waiting: list[Waiting] = field(default_factory=list)
    # Result events the function published, by detail-type, as a rule on the result bus forwarded them to a sink.
    result_events: Counter[str] = field(default_factory=Counter)

    @property
    def dead_lettered(self) -> Counter[str]:
        """ErrorCode (or MOVED_BY_SQS) -> messages in the dead-letter queue."""
        return Counter(letter.error_code for letter in self.dead_letters)

    @property
    def observed(self) -> Counter[str]:
        """Outcome -> count, in the same terms as `expected`."""
        observed = Counter(self.dead_lettered)
        if self.placed:
            observed[PLACED] = self.placed
        observed.update(f"{DEFERRED_PREFIX}{waiting.reason}" for waiting in self.waiting)
        return observed

    @property
    def matches_expected(self) -> bool:
        """Whether every request reached the outcome its sample names."""
        return self.complete and self.observed == self.expected

    @property
    def achieved_calls_per_second(self) -> float:
        """Calls placed per second, from the first request Connect saw to the last call it placed."""
        first, last = self.connect.first_request_at, self.connect.last_placed_at
        if self.placed < 2 or first is None or last is None or last <= first:
            return 0.0
        return (self.placed - 1) / (last - first)

    def to_json(self) -> dict[str, Any]:
        """The report's JSON document."""
        settings = self.config.settings
        return {
            "complete": self.complete,
            "matches_expected": self.matches_expected,
            "requests": self.requests,
            "sent_via_sqs": self.produced.via_sqs,
            "sent_via_eventbridge": self.produced.via_eventbridge,
            "expected": dict(sorted(self.expected.items())),
            "placed": self.placed,
            "dead_lettered": dict(sorted(self.dead_lettered.items())),
            "deferred": dict(sorted(self.deferred.items())),
            "waiting": [
                {"reason": waiting.reason, "until": waiting.until.isoformat()}
                for waiting in sorted(self.waiting, key=lambda waiting: waiting.until)
            ],
            "left_on_queue": self.left_on_queue,
            "result_events": dict(sorted(self.result_events.items())),
            "retried_records": self.event_source.retried,
            "redeliveries": self.event_source.redeliveries,
            "duration_seconds": round(self.duration_seconds, 2),
            "achieved_calls_per_second": round(self.achieved_calls_per_second, 3),
            "peak_calls_per_second": round(self.peak_calls_per_second, 3),
            "peak_window_seconds": PEAK_WINDOW_SECONDS,
            "connect": {
                "quota_calls_per_second": self.config.connect.calls_per_second,
                "quota_burst": self.config.connect.burst,
                "max_concurrent_calls": self.config.connect.max_concurrent_calls,
                "call_duration_seconds": self.config.connect.call_duration_seconds,
                "requests": self.connect.requests,
                "throttled_responses": self.connect.throttled,
                "responses": dict(sorted(self.connect.responses.items())),
                "max_active_calls": self.connect.max_active_calls,
                "server_error_rate": self.config.connect.server_error_rate,
                "throttle_rate": self.config.connect.throttle_rate,
                "latency_seconds": self.config.connect.latency_seconds,
            },
            "event_source": {
                "invocations": self.event_source.invocations,
                "invocation_outcomes": dict(sorted(self.event_source.outcomes.items())),
                "records_delivered": self.event_source.records_delivered,
                "records_deleted": self.event_source.records_deleted,
                "batch_item_failures": self.event_source.batch_item_failures,
                "records_in_failed_invocations": self.event_source.records_in_failed_invocations,
                "cold_starts": self.event_source.cold_starts,
                "max_concurrent_invocations": self.event_source.max_in_flight,
            },
            "settings": {
                "calls_per_second": settings.calls_per_second,
                "max_concurrency": settings.max_concurrency,
                "batch_size": settings.batch_size,
                "batching_window_seconds": settings.batching_window_seconds,
                "max_receive_count": settings.max_receive_count,
                "function_timeout_seconds": self.config.effective_function_timeout_seconds,
                "visibility_timeout_seconds": self.config.effective_visibility_timeout_seconds,
                "deployed_visibility_timeout_seconds": settings.visibility_timeout_seconds,
            },
            "function_log": str(self.config.log_path),
        }


def peak_rate(times: list[float], window: float = PEAK_WINDOW_SECONDS) -> float:
    """The most events in any `window` seconds, per second."""
    ordered = sorted(times)
    most = 0
    first = 0
    for last, time_ in enumerate(ordered):
        while time_ - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most / window


class LocalPipeline:
    """Everything started for one run; use as a context manager, then call run()."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self._stack = ExitStack()
        self.aws = LocalAws(separate_dynamodb=True)
        self.connect = LocalConnectEndpoint(config.connect)
        self.intake: IntakeResources | None = None
        self.result_sink: ResultSink | None = None
        self._result_reader: ResultSinkReader | None = None
        # What the result sink received: read as the run goes, and to the end once it has settled (every
        # invocation has published by then).
        self.result_events: ResultEventsSeen | None = None
        self.event_source: SqsEventSource | None = None
        self.function_log = FunctionLog(config.log_path)
        # A request deferred to after this (the run's time limit) has settled for the run: it waits, as it should.
        self._run_ends = datetime.now(UTC)
        self._sent = 0  # requests the producers have sent in this run

    def __enter__(self) -> LocalPipeline:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        config = self.config
        config.work_dir.mkdir(parents=True, exist_ok=True)
        config.log_path.write_text("", encoding="utf-8")
        self._stack.enter_context(self.aws)
        self._stack.enter_context(self.connect)
        self._stack.enter_context(
            scoped_environment(
                local_sdk_environment(self.aws.url, self.connect.url, config.work_dir, self.aws.dynamodb_url)
            )
        )
        self.intake = create_intake(config.settings, config.effective_visibility_timeout_seconds)
        self.result_sink = create_result_sink(config.settings)
        self._result_reader = ResultSinkReader(self.result_sink) if self.result_sink is not None else None
        function_environment = config.settings.function_environment(
            self.intake.dead_letter_queue_url,
            self.intake.placed_calls_table_name,
            source_queue_url=self.intake.queue_url,
            message_signing_key_secret_id=self.intake.message_signing_key_secret_id,
            destination_calls_table_name=self.intake.destination_calls_table_name,
            result_event_bus_name=self.result_sink.bus_name if self.result_sink is not None else None,
        )
        function_environment |= {"POWERTOOLS_TRACE_DISABLED": "true"} | config.extra_function_environment
        self.event_source = SqsEventSource(
            EventSourceMappingSpec(
                queue_url=self.intake.queue_url,
                queue_arn=self.intake.queue_arn,
                batch_size=config.settings.batch_size,
                batching_window_seconds=config.settings.batching_window_seconds,
                max_concurrency=config.settings.max_concurrency,
            ),
            FunctionSpec(
                environment=function_environment,
                timeout_seconds=config.effective_function_timeout_seconds,
                log_path=config.log_path,
                handler=config.handler,
                code_root=config.code_root,
                faults=config.worker_faults,
            ),
            faults=config.delivery_faults,
        )
        if not config.queue_before_polling:
            self._stack.enter_context(self.event_source)

    def run(
        self,
        requests: list[Sample],
        max_duration_seconds: float,
        on_progress: Callable[[Progress], None] | None = None,
        backlog_limit: int | None = None,
        poll_seconds: float = SETTLE_POLL_SECONDS,
    ) -> RunResult:
        """Send the requests, wait until every one has settled (or the time limit), and count the outcomes.

        ``backlog_limit``: send in chunks of that many, each once the queue's backlog (messages waiting for a
        poller, not those in flight or delayed) is down to it, as a steady producer would: the whole load sent at
        once would sit on one queue.
        """
        intake, event_source = self._started()
        if self.config.queue_before_polling and backlog_limit is not None:
            raise ValueError("backlog_limit waits for the event source to drain the queue while requests are sent")
        sqs: SQSClient = boto3.client("sqs")
        started = time.monotonic()
        self._run_ends = datetime.now(UTC) + timedelta(seconds=max_duration_seconds)
        chunk = backlog_limit or len(requests) or 1
        produced = ProducedCounts(via_sqs=0, via_eventbridge=0)
        self._sent = 0
        progress = self._progress(sqs, started, len(requests))
        for first in range(0, len(requests), chunk):
            # Only the backlog holds the producer back: messages in flight or delayed are the pollers' already.
            while first and progress.backlog > chunk and progress.elapsed_seconds < max_duration_seconds:
                progress = self._wait(sqs, started, len(requests), event_source, on_progress, poll_seconds)
            produced = produced + self._produce(requests[first : first + chunk], intake)
            self._sent = produced.via_sqs + produced.via_eventbridge
            progress = self._progress(sqs, started, len(requests))
        if self.config.queue_before_polling:
            self._stack.enter_context(event_source)
            started = time.monotonic()
            self._run_ends = datetime.now(UTC) + timedelta(seconds=max_duration_seconds)
            progress = self._progress(sqs, started, len(requests))
        while not progress.settled and progress.elapsed_seconds < max_duration_seconds:
            progress = self._wait(sqs, started, len(requests), event_source, on_progress, poll_seconds)
        if on_progress is not None:
            on_progress(progress)
        duration = time.monotonic() - started
        waiting = self.function_log.waiting_after(self._run_ends)  # reads the log to its end
        if self._result_reader is not None:
            self.result_events = self._result_reader.drain()
        return RunResult(
            requests=len(requests),
            produced=produced,
            expected=expected_outcomes(requests),
            placed=progress.placed,
            dead_letters=self._read_dead_letters(sqs),
            event_source=event_source.stats,
            connect=self.connect.instance.stats,
            duration_seconds=duration,
            complete=progress.settled,
            left_on_queue=sum(progress.queue.values()),
            config=self.config,
            peak_calls_per_second=peak_rate([call.placed_at for call in self.connect.instance.placed_calls]),
            deferred=Counter(self.function_log.deferred),
            waiting=waiting,
            result_events=self.result_events.by_detail_type if self.result_events is not None else Counter(),
        )

    def _produce(self, requests: list[Sample], intake: IntakeResources) -> ProducedCounts:
        settings = self.config.settings
        return produce(
            requests,
            queue_url=intake.queue_url,
            event_bus_name=intake.event_bus_name,
            source=settings.event_sources[0] if settings.event_sources else DEMO_EVENT_SOURCE,
            detail_type=settings.event_detail_types[0],
        )

    def _wait(
        self,
        sqs: SQSClient,
        started: float,
        requests: int,
        event_source: SqsEventSource,
        on_progress: Callable[[Progress], None] | None,
        poll_seconds: float,
    ) -> Progress:
        """Report progress, wait a moment, and look again; stop the run if the function cannot start."""
        if event_source.init_error is not None:
            raise event_source.init_error
        if on_progress is not None:
            on_progress(self._progress(sqs, started, requests))
        if self._result_reader is not None:
            self._result_reader.drain()
        time.sleep(poll_seconds)
        return self._progress(sqs, started, requests)

    def _started(self) -> tuple[IntakeResources, SqsEventSource]:
        if self.intake is None or self.event_source is None:
            raise RuntimeError("use LocalPipeline as a context manager")
        return self.intake, self.event_source

    def _progress(self, sqs: SQSClient, started: float, requests: int) -> Progress:
        intake, event_source = self._started()
        return Progress(
            elapsed_seconds=time.monotonic() - started,
            requests=requests,
            placed=len(self.connect.instance.placed_calls),
            dead_lettered=queue_depth(sqs, intake.dead_letter_queue_url)["visible"],
            queue=queue_depth(sqs, intake.queue_url),
            event_source=event_source.stats,
            connect=self.connect.instance.stats,
            active_calls=self.connect.instance.active_calls(),
            waiting=len(self.function_log.waiting_after(self._run_ends)),
            sent=self._sent,
        )

    def _read_dead_letters(self, sqs: SQSClient) -> list[DeadLetter]:
        """Receive every dead-letter message once, with its ErrorCode attribute."""
        intake, _ = self._started()
        letters: list[DeadLetter] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=intake.dead_letter_queue_url,
                MaxNumberOfMessages=SQS_MAX_MESSAGES_PER_RECEIVE,
                MessageAttributeNames=["All"],
                VisibilityTimeout=DLQ_COUNTING_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return letters
            for message in messages:
                attributes = message.get("MessageAttributes", {})
                error_code = attributes.get("ErrorCode", {}).get("StringValue")  # type: ignore[call-overload]
                error_message = attributes.get("ErrorMessage", {}).get("StringValue", "")  # type: ignore[call-overload]
                letters.append(DeadLetter(message["Body"], error_code or MOVED_BY_SQS, error_message))
