"""The three loads, each run through the local pipeline for one function: requests queued, the quota, the instance.

Every side of a load gets the same requests, the same local Connect (quota, concurrent calls, call lengths, seed)
and the same event source and queue settings; only the function differs. A run's clock starts once the whole load
is queued, as the event source starts polling, with no function container started: cold starts count.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.baseline import OURS, Side
from infra.context_loading import settings_from_context
from infra.repository import CDK_JSON_PATH
from infra.settings import DeploymentSettings
from local.connect_agents import QueueRecord, QueueStaffing
from local.connect_behaviour import ConnectBehaviour
from local.connect_rules import PlacedCall
from local.connect_timeline import Answer
from local.demo import DEMO_LATENCY_SECONDS
from local.pipeline import LocalPipeline
from local.pipeline_config import PipelineConfig
from local.producers import PLACED, Sample
from local.progress_bars import SettlingDisplay
from local.reliability_load import PLACEABLE_NUMBERS
from local.run_result import RunResult

# The quota both loads run against (the "busy Connect instance"): 10 StartOutboundVoiceContact requests per
# second with a burst of 5, a raised quota as a busy contact centre has.
QUOTA_CALLS_PER_SECOND = 10.0
QUOTA_BURST = 5
# Real outbound calls last one to three minutes (the busy instance). The busy load runs them this many times
# faster, so it takes minutes instead of an hour; only call lengths are compressed, never the quota or timeouts.
TIME_COMPRESSION = 30
REAL_CALL_SECONDS = (60.0, 180.0)
# The loads: requests queued before the event source starts.
QUOTA_REQUESTS = 500
BUSY_REQUESTS = 300
# The quota load's calls: short, on an instance with room for far more of them than the quota lets start, so that
# only the quota binds.
SHORT_CALL_SECONDS = 1.0
AMPLE_CONCURRENT_CALLS = 1000
# The busy load's instance: Connect's default concurrent active calls per instance.
BUSY_CONCURRENT_CALLS = 10
# Our deployment's settings for this quota (CDK context keys, over cdk.json); the naive baseline's event source
# gets the same ones, so the same number of invocations read the same batches.
BENCH_CONTEXT: dict[str, Any] = {
    "callsPerSecond": QUOTA_CALLS_PER_SECOND,
    "maxConcurrency": 2,
    "batchSize": 10,
    # Throughput under the quota and on a busy instance, not calling safety (its own tests): any country, any hour,
    # so that a bench run never depends on the time of day it starts.
    "allowedDestinationCountries": "*",
    "callingHours": None,
}
# The visibility timeout of the request queue, for both sides: the deployed one (6 x the function timeout, about
# 11 minutes here) would make each retry wait minutes. Long enough for one of our invocations (10 records at
# 5 calls/s) to end well within it.
VISIBILITY_TIMEOUT_SECONDS = 20
# Seeds the local Connect's call lengths, so both sides draw from the same sequence.
CONNECT_SEED = 11
# The attribute each request carries its ID in, which the local Connect records with the contact.
REQUEST_ID_ATTRIBUTE = "request_id"

# The agents load (the issue's): requests to one queue with a few agents, whose contacts take 2-4 minutes, compressed
# as the busy load's calls are. Every call is answered; what binds is the agents.
AGENTS_REQUESTS = 200
AGENTS_QUEUE_ID = "55555555-5555-4555-8555-555555555555"
QUEUE_AGENTS = 5
REAL_HANDLE_SECONDS = (120.0, 240.0)
# How long an answered callee waits for an agent before hanging up: 2 s, the US Telemarketing Sales Rule's own bound
# (a call not connected to a live agent within two seconds of the greeting counts as abandoned, 16 CFR 310.4(b)(4)),
# compressed as the calls are; so "abandoned" here is abandoned as the 3% cap counts it.
REAL_PATIENCE_SECONDS = 2.0
# Our deployment reads each queue's agents at most once a second: the least the setting takes. Compressed 30x, that
# is a reading every 30 s against 2-4 minute contacts; a longer TTL leaves freed agents idle until the next reading.
# GetCurrentMetricData's own quota (5/s) is far above one read per second per queue.
BENCH_AGENT_METRICS_TTL_SECONDS = 1

QUOTA_BOUND = "quota"
CAPACITY_BOUND = "concurrent calls"
AGENTS_BOUND = "agents"


@dataclass(frozen=True)
class Scenario:
    """One load: how many requests are queued, and the instance they meet."""

    name: str  # the key in results.json
    title: str
    requests: int
    max_concurrent_calls: int
    call_seconds: tuple[float, float]  # each call lasts uniformly between the two
    # What binds: the quota (the drain ends with the last call placed) or the concurrent calls (with the last call
    # ended, as the instance is only free then).
    bound: str
    max_duration_seconds: float  # each side's cap; a side not done by then reports what it achieved
    # The staffed queue every call is routed to (the agents load), else None: calls to no queue.
    staffing: QueueStaffing | None = None

    @property
    def mean_call_seconds(self) -> float:
        """The expected length of a call."""
        return sum(self.call_seconds) / 2


QUOTA = Scenario(
    name="quota",
    title=(
        f"Quota: {QUOTA_REQUESTS} queued requests, {QUOTA_CALLS_PER_SECOND:g}/s burst {QUOTA_BURST}, "
        f"{AMPLE_CONCURRENT_CALLS} concurrent calls of {SHORT_CALL_SECONDS:g} s"
    ),
    requests=QUOTA_REQUESTS,
    max_concurrent_calls=AMPLE_CONCURRENT_CALLS,
    call_seconds=(SHORT_CALL_SECONDS, SHORT_CALL_SECONDS),
    bound=QUOTA_BOUND,
    max_duration_seconds=75.0,  # 1.5 x the ideal 49.5 s
)
BUSY = Scenario(
    name="busy",
    title=(
        f"Busy instance: {BUSY_REQUESTS} queued requests, {QUOTA_CALLS_PER_SECOND:g}/s burst {QUOTA_BURST}, "
        f"{BUSY_CONCURRENT_CALLS} concurrent calls of {REAL_CALL_SECONDS[0] / TIME_COMPRESSION:g}-"
        f"{REAL_CALL_SECONDS[1] / TIME_COMPRESSION:g} s"
    ),
    requests=BUSY_REQUESTS,
    max_concurrent_calls=BUSY_CONCURRENT_CALLS,
    call_seconds=(REAL_CALL_SECONDS[0] / TIME_COMPRESSION, REAL_CALL_SECONDS[1] / TIME_COMPRESSION),
    bound=CAPACITY_BOUND,
    max_duration_seconds=180.0,  # 1.5 x the ideal 120 s: the longest cap that keeps make bench within 10 minutes
)
AGENTS = Scenario(
    name="agents",
    title=(
        f"Agents: {AGENTS_REQUESTS} queued requests to a queue of {QUEUE_AGENTS} agents, contacts of "
        f"{REAL_HANDLE_SECONDS[0] / TIME_COMPRESSION:g}-{REAL_HANDLE_SECONDS[1] / TIME_COMPRESSION:g} s, callees "
        f"waiting {REAL_PATIENCE_SECONDS / TIME_COMPRESSION:.2g} s"
    ),
    requests=AGENTS_REQUESTS,
    max_concurrent_calls=AMPLE_CONCURRENT_CALLS,
    call_seconds=(REAL_HANDLE_SECONDS[0] / TIME_COMPRESSION, REAL_HANDLE_SECONDS[1] / TIME_COMPRESSION),
    bound=AGENTS_BOUND,
    max_duration_seconds=330.0,  # 1.375 x the ideal 240 s: drained with the agents 80% busy, and little more
    staffing=QueueStaffing(
        AGENTS_QUEUE_ID,
        QUEUE_AGENTS,
        (REAL_HANDLE_SECONDS[0] / TIME_COMPRESSION, REAL_HANDLE_SECONDS[1] / TIME_COMPRESSION),
        REAL_PATIENCE_SECONDS / TIME_COMPRESSION,
    ),
)
SCENARIOS = (QUOTA, BUSY, AGENTS)


@dataclass(frozen=True)
class SideRun:
    """What one side of a load did: the pipeline's counts, and the local Connect's timeline and contacts."""

    scenario: Scenario
    side: Side
    result: RunResult
    started_at: float  # time.time() as the event source started polling, the whole load queued
    timeline: list[Answer]
    placed_calls: list[PlacedCall]  # every contact the local Connect created, in order
    # Local AWS's requests from the clock's start to the run's end, by operation (local/aws_requests.py), and the
    # names of the deployment's queues among them (the harness's own result queue is not the deployment's cost).
    aws_requests: Counter[str] = field(default_factory=Counter)
    deployment_queues: tuple[str, ...] = ()
    completion_invocations: int = 0  # the completion function's invocations: contact events and ticks
    queue_records: dict[str, QueueRecord] = field(default_factory=dict)  # the staffed queues' records
    metrics_requests: int = 0  # GetCurrentMetricData requests answered or refused

    @property
    def observed_seconds(self) -> float:
        """From the clock's start to the run's end or the last call's end, whichever is later."""
        last_end = max((call.placed_at + call.duration_seconds for call in self.placed_calls), default=0.0)
        return max(self.result.duration_seconds, last_end - self.started_at)

    def calls_per_request(self) -> Counter[str]:
        """Request ID -> contacts the local Connect created for it."""
        return Counter(call.attributes.get(REQUEST_ID_ATTRIBUTE, "?") for call in self.placed_calls)


def bench_settings(overrides: dict[str, Any] | None = None, context_path: Path = CDK_JSON_PATH) -> DeploymentSettings:
    """cdk.json's context with the benchmark's settings, then `overrides`, validated as the stack validates them."""
    context = json.loads(context_path.read_text(encoding="utf-8")).get("context", {})
    return settings_from_context({**context, **BENCH_CONTEXT, **(overrides or {})})


def connect_behaviour(scenario: Scenario, settings: DeploymentSettings) -> ConnectBehaviour:
    """The local Connect instance of a load."""
    shortest, longest = scenario.call_seconds
    return ConnectBehaviour(
        agent_queues=() if scenario.staffing is None else (scenario.staffing,),
        instance_id=settings.instance_id,
        calls_per_second=QUOTA_CALLS_PER_SECOND,
        burst=QUOTA_BURST,
        max_concurrent_calls=scenario.max_concurrent_calls,
        call_duration_seconds=shortest,
        call_duration_max_seconds=longest,
        latency_seconds=DEMO_LATENCY_SECONDS,
        seed=CONNECT_SEED,
    )


def side_context(scenario: Scenario, side: Side) -> dict[str, Any]:
    """The settings a side gets on a load beyond BENCH_CONTEXT.

    Ours runs as deployed by default: result events on, so the completion function and the waiting room too; with
    agent pacing on the agents load. The naive loop reads none of them: without result events, no completion function
    runs for it. Both route calls to the agents load's queue (the naive handler passes CONNECT_QUEUE_ID).
    """
    context: dict[str, Any] = {"callsBurst": QUOTA_BURST, "concurrentCallsLimit": scenario.max_concurrent_calls}
    if scenario.staffing is not None:
        context["connectQueueId"] = scenario.staffing.queue_id
    if side.name != OURS.name:
        return context | {"resultEvents": False}
    if scenario.staffing is not None:
        context |= {"agentPacing": True, "agentMetricsTtlSeconds": BENCH_AGENT_METRICS_TTL_SECONDS}
    return context


def pipeline_config(scenario: Scenario, side: Side, work_dir: Path) -> PipelineConfig:
    """The local run of one side of a load."""
    settings = bench_settings(side_context(scenario, side))
    return PipelineConfig(
        settings=settings,
        connect=connect_behaviour(scenario, settings),
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        work_dir=work_dir / f"{scenario.name}-{side.name}",
        handler=side.handler,
        code_root=side.code_root,
        queue_before_polling=True,
    )


def build_requests(count: int) -> list[Sample]:
    """`count` valid requests to fictional numbers (+1 202 555 01xx), each carrying its ID in an attribute."""
    return [
        Sample(
            description=f"b-{index:04d}",
            expected=PLACED,
            request={
                "DestinationPhoneNumber": PLACEABLE_NUMBERS[index % len(PLACEABLE_NUMBERS)],
                "Attributes": {REQUEST_ID_ATTRIBUTE: f"b-{index:04d}"},
            },
        )
        for index in range(count)
    ]


def run_side(scenario: Scenario, side: Side, work_dir: Path, console: Console) -> SideRun:
    """Queue the load's requests, let the side's function drain them (or the cap pass) under a bar of the requests
    settled and the time left, and keep what happened."""
    config = pipeline_config(scenario, side, work_dir)
    with LocalPipeline(config) as pipeline, SettlingDisplay(console, scenario.requests) as display:
        result = pipeline.run(
            build_requests(scenario.requests), scenario.max_duration_seconds, on_progress=display.update
        )
        if pipeline.event_source is None or pipeline.event_source.started_at is None or pipeline.intake is None:
            raise RuntimeError("the event source never started")
        instance, intake = pipeline.connect.instance, pipeline.intake
        aws_requests = pipeline.aws.request_counts()
        aws_requests.subtract(pipeline.aws_requests_at_start)
        queues = (intake.queue_url, intake.dead_letter_queue_url, intake.waiting_room_queue_url)
        completions = pipeline.completions
        return SideRun(
            scenario,
            side,
            result,
            pipeline.event_source.started_at,
            instance.timeline(),
            instance.placed_calls,
            aws_requests=+aws_requests,
            deployment_queues=tuple(url.rsplit("/", 1)[-1] for url in queues if url is not None),
            completion_invocations=0 if completions is None else completions.invocations,
            queue_records=instance.queue_records(),
            metrics_requests=sum(instance.metrics_answers().values()),
        )
