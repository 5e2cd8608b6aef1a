"""One run of the whole system on one machine (local AWS, local Connect, the event source runner, the real function):
started, sent its requests, watched until they settle.

Outcomes are counted from their effects, not from logs (local/run_result.py): the contacts the local Connect
created, the messages in the dead-letter queue with their ErrorCode attributes, and the partial batch responses the
runner saw.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3

from local.completions import CompletionRelay
from local.connect_endpoint import LocalConnectEndpoint
from local.event_source import EventSourceMappingSpec, SqsEventSource
from local.function_container import FunctionSpec
from local.function_log import FunctionLog
from local.intake import IntakeResources, create_intake
from local.lambda_endpoint import LocalLambdaEndpoint
from local.moto_servers import LocalAws
from local.optout_events import OptOutEventDelivery
from local.optout_function import LocalOptOutFunction, opt_out_environment
from local.pipeline_config import PipelineConfig
from local.pipeline_functions import caller_environment, completion_relay
from local.producers import (
    DEMO_EVENT_SOURCE,
    ProducedCounts,
    Sample,
    expected_outcomes,
    produce,
)
from local.queue_reading import queue_depth, read_dead_letters
from local.results import ResultEventsSeen, ResultSink, ResultSinkReader, create_result_sink
from local.run_progress import Progress, SettledWatch
from local.run_result import RunResult, peak_rate
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.names import COMPLETED_EVENT

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def completed_outcomes(seen: ResultEventsSeen | None) -> Counter[str]:
    """The Completed events seen, by Outcome."""
    if seen is None:
        return Counter()
    return Counter(
        {kind: count for (detail_type, kind), count in seen.by_kind.items() if detail_type == COMPLETED_EVENT}
    )


# How often the pipeline looks at the queues while waiting for the requests to settle.
SETTLE_POLL_SECONDS = 0.25


class LocalPipeline:
    """Everything started for one run; use as a context manager, then call run()."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self._stack = ExitStack()
        self.aws = LocalAws(separate_dynamodb=True)
        self.connect = LocalConnectEndpoint(config.connect)
        # Lambda's Invoke API, for the functions other than the caller (the opt-out function).
        self.lambda_endpoint = LocalLambdaEndpoint()
        self.intake: IntakeResources | None = None
        # The opt-out function, and the intake bus's opt-out events reaching it; None without a suppression list.
        self.opt_out: LocalOptOutFunction | None = None
        self.opt_out_events: OptOutEventDelivery | None = None
        self.result_sink: ResultSink | None = None
        self._result_reader: ResultSinkReader | None = None
        # What the result sink received: read as the run goes, and to the end once it has settled (every
        # invocation has published by then).
        self.result_events: ResultEventsSeen | None = None
        self.event_source: SqsEventSource | None = None
        # The completion function, handling the contact events of the calls that ended; None without result events
        # (the stack deploys it only with them).
        self.completions: CompletionRelay | None = None
        self.function_log = FunctionLog(config.log_path)
        # A request deferred to after this (the run's time limit) has settled for the run: it waits, as it should.
        self._run_ends = datetime.now(UTC)
        self._sent = 0  # requests the producers have sent in this run
        # Local AWS's requests as the function began to poll (the queue's setup and the load's sends before it), so
        # that a run's cost counts only what came after.
        self.aws_requests_at_start: Counter[str] = Counter()

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
        self._stack.enter_context(self.lambda_endpoint)
        self._stack.enter_context(
            scoped_environment(
                local_sdk_environment(
                    self.aws.url, self.connect.url, config.work_dir, self.aws.dynamodb_url, self.lambda_endpoint.url
                )
            )
        )
        self.intake = create_intake(config.settings, config.effective_visibility_timeout_seconds)
        self.result_sink = create_result_sink(config.settings)
        self._result_reader = ResultSinkReader(self.result_sink) if self.result_sink is not None else None
        function_environment = caller_environment(config.settings, self.intake, self.result_sink)
        if self.intake.suppression is not None:
            function_environment |= self.intake.suppression.function_environment
            self._start_opt_out()
        if self.result_sink is not None:
            self.completions = self._stack.enter_context(
                completion_relay(config, self.intake, self.result_sink.bus_name, self.connect.instance)
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

    def _start_opt_out(self) -> None:
        """The opt-out function behind its three doors: the opt-out rule's queue, Lambda's Invoke, contact flows."""
        intake = self.intake
        if intake is None or intake.suppression is None:
            return
        bus = self.result_sink.bus_name if self.result_sink is not None else None
        self.opt_out = LocalOptOutFunction(opt_out_environment(intake.suppression, bus), self.config.work_dir)
        self._stack.callback(self.opt_out.stop)
        self.opt_out_events = self._stack.enter_context(
            OptOutEventDelivery(intake.suppression.opt_out_invocations_queue_url, self.opt_out)
        )
        self.lambda_endpoint.serve(self.opt_out.name, self.opt_out.invoke)

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
            self.aws_requests_at_start = self.aws.request_counts()
            self._stack.enter_context(event_source)
            started = time.monotonic()
            self._run_ends = datetime.now(UTC) + timedelta(seconds=max_duration_seconds)
            progress = self._progress(sqs, started, len(requests))
        watch = SettledWatch()
        while not watch.look(progress.settled) and progress.elapsed_seconds < max_duration_seconds:
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
            dead_letters=read_dead_letters(sqs, intake.dead_letter_queue_url),
            event_source=event_source.stats,
            connect=self.connect.instance.stats,
            duration_seconds=duration,
            complete=watch.settled,
            left_on_queue=sum(progress.queue.values()) + progress.waiting_room,
            config=self.config,
            peak_calls_per_second=peak_rate([call.placed_at for call in self.connect.instance.placed_calls]),
            deferred=Counter(self.function_log.deferred),
            waiting=waiting,
            result_events=self.result_events.by_detail_type if self.result_events is not None else Counter(),
            completed_outcomes=completed_outcomes(self.result_events),
            suppressed=self.function_log.suppressed(),
        )

    def with_late_result_events(self, result: RunResult) -> RunResult:
        """The run's result with what the result bus has delivered since it settled (the last calls' Completed events,
        once those calls have ended)."""
        if self._result_reader is None:
            return result
        self.result_events = self._result_reader.drain()
        return dataclasses.replace(
            result,
            result_events=Counter(self.result_events.by_detail_type),
            completed_outcomes=completed_outcomes(self.result_events),
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
        if self.completions is not None and self.completions.init_error is not None:
            raise self.completions.init_error
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
            placed=self.connect.instance.placed_count,
            dead_lettered=queue_depth(sqs, intake.dead_letter_queue_url)["visible"],
            queue=queue_depth(sqs, intake.queue_url),
            # A request parked in the waiting room has not settled: it is drawn back to the source queue later.
            waiting_room=(
                0
                if intake.waiting_room_queue_url is None
                else sum(queue_depth(sqs, intake.waiting_room_queue_url).values())
            ),
            event_source=event_source.stats,
            connect=self.connect.instance.stats,
            active_calls=self.connect.instance.active_calls(),
            waiting=len(self.function_log.waiting_after(self._run_ends)),
            sent=self._sent,
        )
