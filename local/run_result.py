"""What a local run achieved, counted from its effects (calls placed, dead-letters by reason, deferrals, requests
waiting, result events, the event source's and the local Connect's counts), as the report's JSON too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from local.connect_instance import ConnectStats
from local.event_source_stats import EventSourceStats
from local.function_log import Waiting
from local.pipeline_config import PipelineConfig
from local.producers import DEFERRED_PREFIX, PLACED, SUPPRESSED, ProducedCounts
from local.queue_reading import DeadLetter

# The window over which the busiest stretch of calls is measured; long enough to average out the burst.
PEAK_WINDOW_SECONDS = 5.0


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
    # The calls the completion function reported, by the Outcome of their Completed events on the result bus.
    completed_outcomes: Counter[str] = field(default_factory=Counter)
    # Requests whose destination was on the suppression list: acknowledged with no call and no dead-letter, so counted
    # from the function's log (each request once).
    suppressed: int = 0

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
        if self.suppressed:
            observed[SUPPRESSED] = self.suppressed
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
            "suppressed": self.suppressed,
            "deferred": dict(sorted(self.deferred.items())),
            "waiting": [
                {"reason": waiting.reason, "until": waiting.until.isoformat()}
                for waiting in sorted(self.waiting, key=lambda waiting: waiting.until)
            ],
            "left_on_queue": self.left_on_queue,
            "result_events": dict(sorted(self.result_events.items())),
            "completed_outcomes": dict(sorted(self.completed_outcomes.items())),
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
