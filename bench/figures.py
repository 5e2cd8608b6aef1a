"""The figures of one side's run on one load, the ideal each drain is set against, and the issue's targets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.agent_figures import AgentFigures, agent_figures
from bench.costs import CostLine, cost_line
from bench.scenarios import (
    AGENTS_BOUND,
    QUOTA_BOUND,
    QUOTA_BURST,
    QUOTA_CALLS_PER_SECOND,
    REQUEST_ID_ATTRIBUTE,
    Scenario,
    SideRun,
)
from bench.series import LIMIT_EXCEEDED, THROTTLED
from local.connect_rules import PlacedCall

# The issues' targets for our function ("A busy Connect instance"; issue 21, "Pacing to what can take the call").
QUOTA_MIN_IDEAL_OVER_ACTUAL = 0.97
QUOTA_MAX_THROTTLED_SHARE = 0.01
BUSY_MIN_IDEAL_OVER_ACTUAL = 0.95
BUSY_MAX_REQUESTS_PER_PLACED_CALL = 1.05
BUSY_MAX_HOPS_PER_REQUEST = 3.0
BUSY_MAX_DEAD_LETTERED = 0
MAX_RUNG_TWICE = 0
# US telemarketing rules cap abandonment at 3%; the agents' time busy over their time available.
AGENTS_MAX_ABANDONED_SHARE = 0.03
AGENTS_MIN_OCCUPANCY = 0.80


def quota_ideal_seconds(calls: int, calls_per_second: float, burst: int) -> float:
    """The least time to place `calls` through a token bucket that starts full: the burst at once, the rest at the
    rate, the last one placed at (calls - burst) / rate."""
    return max(0, calls - burst) / calls_per_second


def capacity_ideal_seconds(call_seconds: Iterable[float], concurrent_calls: int) -> float:
    """The least time calls of these lengths take on an instance that holds `concurrent_calls` at once: all of it
    busy from the start until the last call ends, so the calls' total length over the capacity."""
    return sum(call_seconds) / concurrent_calls


@dataclass(frozen=True)
class LoadFigures:
    """What one side achieved on one load, counted from its effects."""

    requests: int
    requests_placed: int  # requests that got a call
    calls_placed: int  # contacts created, second calls of a request included
    requests_rung_twice: int
    dead_lettered: dict[str, int]  # ErrorCode (or "moved by SQS") -> messages
    left_on_queue: int
    complete: bool  # every request settled before the cap
    drain_seconds: float | None  # to the last call placed (quota) or ended (concurrent calls); None: not drained
    ideal_seconds: float  # the least time for the requests placed
    answers: dict[str, int]  # Connect's answers by outcome
    connect_requests: int  # answers plus dropped connections
    run_seconds: float
    invocations: int
    cold_starts: int
    max_calls_in_progress: int
    deferrals: int = 0  # hops: each time a request was sent back to wait (the function's log)
    longest_wait_seconds: float | None = None  # the clock's start to a request's call, the latest; None: not all placed
    agents: AgentFigures | None = None
    costs: CostLine | None = None

    @property
    def hops_per_request(self) -> float:
        """Deferral hops per request, on average."""
        return self.deferrals / self.requests if self.requests else 0.0

    @property
    def abandoned_share(self) -> float | None:
        """The agents load's abandoned share; None elsewhere."""
        return None if self.agents is None else self.agents.abandoned_share

    @property
    def occupancy(self) -> float | None:
        """The agents load's occupancy; None elsewhere."""
        return None if self.agents is None else self.agents.occupancy

    @property
    def ideal_over_actual(self) -> float | None:
        """How close the drain came to the ideal (1 is the limit itself); None when it did not drain."""
        if self.drain_seconds is None or self.drain_seconds <= 0:
            return None
        return self.ideal_seconds / self.drain_seconds

    @property
    def throttled_share(self) -> float:
        """Share of Connect's answers that were ThrottlingException or TooManyRequestsException."""
        total = sum(self.answers.values())
        return sum(self.answers.get(code, 0) for code in THROTTLED) / total if total else 0.0

    @property
    def limit_exceeded_share(self) -> float:
        """Share of Connect's answers that were LimitExceededException (the instance was full)."""
        total = sum(self.answers.values())
        return self.answers.get(LIMIT_EXCEEDED, 0) / total if total else 0.0

    @property
    def requests_per_placed_call(self) -> float | None:
        """Connect requests sent per call placed."""
        return self.connect_requests / self.calls_placed if self.calls_placed else None

    @property
    def dead_lettered_total(self) -> int:
        """Messages in the dead-letter queue."""
        return sum(self.dead_lettered.values())

    def to_json(self) -> dict[str, Any]:
        """The figures as results.json holds them."""
        ratio, per_call = self.ideal_over_actual, self.requests_per_placed_call
        return {
            "requests": self.requests,
            "requests_placed": self.requests_placed,
            "calls_placed": self.calls_placed,
            "requests_rung_twice": self.requests_rung_twice,
            "dead_lettered": self.dead_lettered_total,
            "dead_lettered_by_error_code": self.dead_lettered,
            "left_on_queue": self.left_on_queue,
            "drained_within_cap": self.complete,
            "drain_seconds": None if self.drain_seconds is None else round(self.drain_seconds, 2),
            "ideal_seconds": round(self.ideal_seconds, 2),
            "ideal_over_actual": None if ratio is None else round(ratio, 3),
            "connect_requests": self.connect_requests,
            "connect_requests_per_placed_call": None if per_call is None else round(per_call, 3),
            "throttled_share": round(self.throttled_share, 4),
            "limit_exceeded_share": round(self.limit_exceeded_share, 4),
            "connect_answers": self.answers,
            "max_calls_in_progress": self.max_calls_in_progress,
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "run_seconds": round(self.run_seconds, 1),
            "deferral_hops": self.deferrals,
            "hops_per_request": round(self.hops_per_request, 2),
            "longest_wait_seconds": None if self.longest_wait_seconds is None else round(self.longest_wait_seconds, 2),
            "agents": None if self.agents is None else self.agents.to_json(),
            "costs": None if self.costs is None else self.costs.to_json(),
        }


def load_figures(run: SideRun) -> LoadFigures:
    """Count what a side achieved, from the local Connect's contacts and timeline and the pipeline's result."""
    scenario, result = run.scenario, run.result
    calls = run.placed_calls
    per_request = run.calls_per_request()
    first_calls: dict[str, PlacedCall] = {}
    for call in calls:
        first_calls.setdefault(call.attributes.get(REQUEST_ID_ATTRIBUTE, "?"), call)
    if scenario.bound == QUOTA_BOUND:
        ideal = quota_ideal_seconds(len(first_calls), QUOTA_CALLS_PER_SECOND, QUOTA_BURST)
        last = max((call.placed_at for call in calls), default=None)
    elif scenario.bound == AGENTS_BOUND and scenario.staffing is not None:
        # The agents busy from the start until the last contact ends: the contacts' total handle time over them.
        ideal = capacity_ideal_seconds(
            (call.queue.handle_seconds for call in first_calls.values() if call.queue is not None),
            scenario.staffing.agents,
        )
        last = max((call.placed_at + call.duration_seconds for call in calls), default=None)
    else:
        ideal = capacity_ideal_seconds(
            (call.duration_seconds for call in first_calls.values()), scenario.max_concurrent_calls
        )
        last = max((call.placed_at + call.duration_seconds for call in calls), default=None)
    return LoadFigures(
        requests=result.requests,
        requests_placed=len(first_calls),
        calls_placed=len(calls),
        requests_rung_twice=sum(1 for count in per_request.values() if count > 1),
        dead_lettered=dict(sorted(result.dead_lettered.items())),
        left_on_queue=result.left_on_queue,
        complete=result.complete,
        drain_seconds=last - run.started_at if result.complete and last is not None else None,
        ideal_seconds=ideal,
        answers=dict(sorted(result.connect.responses.items())),
        connect_requests=result.connect.requests,
        run_seconds=result.duration_seconds,
        invocations=result.event_source.invocations,
        cold_starts=result.event_source.cold_starts,
        max_calls_in_progress=result.connect.max_active_calls,
        deferrals=sum(result.deferred.values()),
        longest_wait_seconds=(
            max(call.placed_at for call in first_calls.values()) - run.started_at
            if first_calls and len(first_calls) == result.requests
            else None
        ),
        agents=agent_figures(run),
        costs=cost_line(run),
    )


@dataclass(frozen=True)
class Target:
    """One of the issue's targets for our function: the figure it is about, the bound, and whether it was met."""

    figure: str  # a LoadFigures figure
    wanted: str
    met: bool


def targets(scenario: Scenario, ours: LoadFigures) -> list[Target]:
    """The issues' targets for our function on a load."""
    if scenario.bound == QUOTA_BOUND:
        ratio = ours.ideal_over_actual
        return [
            Target(
                "ideal_over_actual",
                f">= {QUOTA_MIN_IDEAL_OVER_ACTUAL}",
                ratio is not None and ratio >= QUOTA_MIN_IDEAL_OVER_ACTUAL,
            ),
            Target(
                "throttled_share",
                f"<= {QUOTA_MAX_THROTTLED_SHARE:.0%}",
                ours.throttled_share <= QUOTA_MAX_THROTTLED_SHARE,
            ),
        ]
    rung_twice = Target("requests_rung_twice", str(MAX_RUNG_TWICE), ours.requests_rung_twice <= MAX_RUNG_TWICE)
    if scenario.bound == AGENTS_BOUND:
        abandoned, busy = ours.abandoned_share, ours.occupancy
        return [
            Target(
                "abandoned_share",
                f"<= {AGENTS_MAX_ABANDONED_SHARE:.0%}",
                abandoned is not None and abandoned <= AGENTS_MAX_ABANDONED_SHARE,
            ),
            Target("occupancy", f">= {AGENTS_MIN_OCCUPANCY:.0%}", busy is not None and busy >= AGENTS_MIN_OCCUPANCY),
            rung_twice,
        ]
    ratio, per_call = ours.ideal_over_actual, ours.requests_per_placed_call
    return [
        Target(
            "ideal_over_actual",
            f">= {BUSY_MIN_IDEAL_OVER_ACTUAL}",
            ratio is not None and ratio >= BUSY_MIN_IDEAL_OVER_ACTUAL,
        ),
        Target(
            "requests_per_placed_call",
            f"<= {BUSY_MAX_REQUESTS_PER_PLACED_CALL}",
            per_call is not None and per_call <= BUSY_MAX_REQUESTS_PER_PLACED_CALL,
        ),
        Target(
            "hops_per_request",
            f"<= {BUSY_MAX_HOPS_PER_REQUEST:g}",
            ours.hops_per_request <= BUSY_MAX_HOPS_PER_REQUEST,
        ),
        # Requests still queued at the cap are no better than dead-lettered ones.
        Target(
            "dead_lettered_total",
            f"{BUSY_MAX_DEAD_LETTERED}, all drained",
            ours.complete and ours.dead_lettered_total <= BUSY_MAX_DEAD_LETTERED,
        ),
        rung_twice,
    ]
