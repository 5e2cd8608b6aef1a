"""`make reliability`: thousands of requests through the local pipeline while Connect, SQS and Lambda misbehave,
then every request accounted for: placed exactly once, rung twice, lost, or dead-lettered with its reason.

Each request carries its own ID in an attribute (or, for invalid bodies, in the text), and the local Connect
records the attributes of every contact it creates, so calls are counted per request, never per token.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from local.connect_behaviour import DEFAULT_REFUSED_DESTINATION_PREFIXES, ConnectBehaviour
from local.delivery_faults import DeliveryFaults
from local.demo import demo_settings
from local.pipeline import LocalPipeline
from local.pipeline_config import DEFAULT_WORK_DIR, PipelineConfig
from local.producers import PLACED, Sample
from local.queue_reading import MOVED_BY_SQS
from local.report import SettlingDisplay
from local.run_result import RunResult
from local.worker_faults import WorkerFaults

# The load: 10,000 requests with 10% transient Connect faults, 1% permanent refusals, 2% invalid
# bodies, 5% duplicate deliveries, 2% of placed calls followed by a killed invocation, and random kills.
DEFAULT_REQUESTS = 10_000
PERMANENT_REFUSAL_SHARE = 0.01
INVALID_BODY_SHARE = 0.02
DUPLICATE_DELIVERY_RATE = 0.05
KILL_AFTER_PLACED_RATE = 0.02
# Rarer deaths at the other moments a worker can die: before the request is sent, before the record is written.
KILL_BEFORE_REQUEST_RATE = 0.002
KILL_BEFORE_RECORD_WRITE_RATE = 0.002
RANDOM_KILL_INTERVAL_SECONDS = 20.0
# The 10% of transient Connect faults, split by whether the contact exists when the fault strikes.
THROTTLE_RATE = 0.03
SERVER_ERROR_RATE = 0.02
DROP_BEFORE_CREATE_RATE = 0.01
SERVER_ERROR_AFTER_CREATE_RATE = 0.02
DROP_AFTER_CREATE_RATE = 0.015
READ_TIMEOUT_AFTER_CREATE_RATE = 0.005
# Throughput of the run: a quota and concurrency well above the 2-core machine's pace, so faults, not the quota,
# decide the outcome. Calls last a few seconds, so a redelivery after the visibility timeout meets an ended call,
# whose token Connect would start anew.
CONNECT_QUOTA = 200.0
CONNECT_BURST = 100
CONNECT_CONCURRENT_CALLS = 100_000
CALL_SECONDS = (2.0, 8.0)
CONTEXT_OVERRIDES: dict[str, Any] = {
    "callsPerSecond": 160,
    "maxConcurrency": 8,
    "batchSize": 10,
    # A claim left by a killed invocation blocks its token until that invocation's deadline (the function
    # timeout, ~160 s here) before it can be judged OutcomeUnknown: enough receives to get there, at one per
    # visibility timeout, with room for the faults that strike the same message meanwhile.
    "maxReceiveCount": 20,
    # Never twice and never lost, not calling safety (its own tests): any country (the refused requests below are UK
    # numbers that the local Connect must see), at any hour of the day the run starts.
    "allowedDestinationCountries": "*",
    "callingHours": None,
}
VISIBILITY_TIMEOUT_SECONDS = 20
MAX_DURATION_SECONDS = 900.0
# Requests waiting on the queue for a poller, about, as a steady producer keeps it: more than the 8 pollers take in
# a look's time (8 x 10 records), so they never run dry; not the whole load at once.
BACKLOG_LIMIT = 100
# How often the run looks at the queues (each look scans them in moto) and the progress bar moves.
POLL_SECONDS = 1.0
# Fictional destinations that the local Connect places without scripted failures: +1 202 555 0100-0159 (the NANP
# fiction range under Washington's area code, which libphonenumber places in the US, so calling safety allows it).
PLACEABLE_NUMBERS = [f"+120255501{suffix:02d}" for suffix in range(60)]
REQUEST_ID = re.compile(r"r-\d{6}")
MAX_EXAMPLES = 5
VALID, REFUSED, INVALID = "valid", "refused", "invalid"
# The dead-letter reasons a valid request may honestly end with: the function could not know, or never got through.
HONEST_UNPLACED = frozenset({"OutcomeUnknown", "RetriesExhausted"})
# How the function names a failure it did not expect, in ErrorMessage; such a dead-letter is counted as wrong.
UNEXPECTED_ERROR = "UnexpectedError"
UNEXPLAINED = "(unexplained)"


@dataclass(frozen=True)
class ReliabilityOptions:
    """One reliability run."""

    requests: int = DEFAULT_REQUESTS
    seed: int = 7
    work_dir: Path = DEFAULT_WORK_DIR / "reliability"
    max_duration_seconds: float = MAX_DURATION_SECONDS
    # The function timeout the local runtime enforces; None: the deployed one. A killed invocation's claims block
    # their tokens until its deadline, so a run takes at least one function timeout; a shorter one (it must still
    # exceed the record's time reserve, or every record is deferred) makes a short run quicker.
    function_timeout_seconds: float | None = None


@dataclass
class Accounting:
    """What happened to every request, from the contacts the local Connect created and the dead-letter queue."""

    requests: int = 0
    placed_exactly_once: int = 0
    duplicate_calls: int = 0  # requests that rang more than once
    extra_calls: int = 0  # calls beyond the first, over all requests
    lost: int = 0  # no call, no dead-letter, not on the queue
    wrong_outcome: int = 0  # refused or invalid requests that were dialled, or dead-lettered for another reason
    dead_lettered: Counter[str] = field(default_factory=Counter)
    placed_and_dead_lettered: Counter[str] = field(default_factory=Counter)  # placed once, and an alert raised
    # A few request IDs of each kind of failure, to look up in the function log.
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, request_id: str) -> None:
        """Keep a few request IDs of a failure kind."""
        found = self.examples.setdefault(kind, [])
        if len(found) < MAX_EXAMPLES:
            found.append(request_id)

    @property
    def ok(self) -> bool:
        """The targets: nobody rung twice, nothing lost, every dead-letter with its reason."""
        return not (self.duplicate_calls or self.lost or self.wrong_outcome or self.dead_lettered[MOVED_BY_SQS])


def build_requests(count: int, seed: int) -> list[tuple[str, str, Sample]]:
    """(request ID, kind, sample) for each request: valid ones, 1% to a refused destination, 2% invalid."""
    chance = random.Random(seed)
    built = []
    for index in range(count):
        request_id = f"r-{index:06d}"
        roll = chance.random()
        attributes = {"request_id": request_id}
        if roll < INVALID_BODY_SHARE:
            kind = INVALID
            if chance.random() < 0.5:
                sample = Sample(description=request_id, expected="ValidationError", raw_body=f"call {request_id} back")
            else:
                body = {"DestinationPhoneNumber": chance.choice(PLACEABLE_NUMBERS), "RingTimeoutInSeconds": 5}
                sample = Sample(request_id, "ValidationError", request={**body, "Attributes": attributes})
        elif roll < INVALID_BODY_SHARE + PERMANENT_REFUSAL_SHARE:
            kind = REFUSED
            destination = f"{DEFAULT_REFUSED_DESTINATION_PREFIXES[0]}{index % 100:02d}"  # +44 20 7946 09xx
            sample = Sample(request_id, "DestinationNotAllowedException", request=_request(destination, attributes))
        else:
            kind = VALID
            sample = Sample(request_id, PLACED, request=_request(chance.choice(PLACEABLE_NUMBERS), attributes))
        built.append((request_id, kind, sample))
    return built


def _request(destination: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {"DestinationPhoneNumber": destination, "Attributes": attributes}


def pipeline_config(options: ReliabilityOptions) -> PipelineConfig:
    """The local run with every fault of the reliability load switched on."""
    settings = demo_settings(CONTEXT_OVERRIDES)
    return PipelineConfig(
        settings=settings,
        connect=ConnectBehaviour(
            instance_id=settings.instance_id,
            calls_per_second=CONNECT_QUOTA,
            burst=CONNECT_BURST,
            max_concurrent_calls=CONNECT_CONCURRENT_CALLS,
            call_duration_seconds=CALL_SECONDS[0],
            call_duration_max_seconds=CALL_SECONDS[1],
            throttle_rate=THROTTLE_RATE,
            server_error_rate=SERVER_ERROR_RATE,
            drop_before_create_rate=DROP_BEFORE_CREATE_RATE,
            server_error_after_create_rate=SERVER_ERROR_AFTER_CREATE_RATE,
            drop_after_create_rate=DROP_AFTER_CREATE_RATE,
            read_timeout_after_create_rate=READ_TIMEOUT_AFTER_CREATE_RATE,
            seed=options.seed,
        ),
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        function_timeout_seconds=options.function_timeout_seconds,
        work_dir=options.work_dir,
        worker_faults=WorkerFaults(
            kill_before_connect_request=KILL_BEFORE_REQUEST_RATE,
            kill_after_connect_answer=KILL_AFTER_PLACED_RATE,
            kill_before_record_write=KILL_BEFORE_RECORD_WRITE_RATE,
            seed=options.seed,
        ),
        delivery_faults=DeliveryFaults(
            duplicate_rate=DUPLICATE_DELIVERY_RATE,
            kill_busy_worker_interval_seconds=RANDOM_KILL_INTERVAL_SECONDS,
            seed=options.seed,
        ),
    )


def account(requests: list[tuple[str, str, Sample]], result: RunResult, calls: Counter[str]) -> Accounting:
    """Match every request to the calls Connect created for it and the dead-letters that name it."""
    letters: dict[str, list[str]] = {}
    accounting = Accounting(requests=len(requests))
    for letter in result.dead_letters:
        found = REQUEST_ID.search(letter.body)
        # A reason naming a failure nothing injected (a bug in the function) is never an honest outcome.
        reason = UNEXPLAINED if UNEXPECTED_ERROR in letter.error_message else letter.error_code
        letters.setdefault(found.group() if found else "?", []).append(reason)
        accounting.dead_lettered[letter.error_code] += 1
    for request_id, kind, sample in requests:
        rung, reasons = calls[request_id], letters.get(request_id, [])
        if rung > 1:
            accounting.duplicate_calls += 1
            accounting.extra_calls += rung - 1
            accounting.note("duplicate_calls", request_id)
        if rung == 0 and not reasons:
            accounting.lost += 1
            accounting.note("lost", request_id)
        elif kind == VALID and rung == 1:
            accounting.placed_exactly_once += 1
            for reason in reasons:
                accounting.placed_and_dead_lettered[reason] += 1
            # Dead-lettered besides (a duplicate, a dead worker's redelivery): only for a reason that admits it.
            if not set(reasons) <= HONEST_UNPLACED:
                accounting.wrong_outcome += 1
                accounting.note("wrong_outcome", request_id)
        elif not _honest(kind, sample.expected, rung, reasons):
            accounting.wrong_outcome += 1
            accounting.note("wrong_outcome", request_id)
    return accounting


def _honest(kind: str, expected: str, rung: int, reasons: list[str]) -> bool:
    """Whether an unplaced request's dead-letter reasons are right (a duplicate delivery may repeat one)."""
    if kind == VALID:
        return rung == 0 and set(reasons) <= HONEST_UNPLACED
    if kind == REFUSED:
        # A fault can strike before Connect looks at the destination: the function then cannot know either.
        return rung == 0 and set(reasons) <= HONEST_UNPLACED | {expected}
    return rung == 0 and set(reasons) == {expected}


def run_reliability(options: ReliabilityOptions, console: Console) -> dict[str, Any]:
    """Run the load, print one JSON line and a table, and return the summary (its "ok" says if targets held)."""
    requests = build_requests(options.requests, options.seed)
    config = pipeline_config(options)
    console.print(
        f"[bold]Reliability run[/]: {options.requests} requests through the local pipeline with faults injected "
        f"(seed {options.seed}); function logs in {config.log_path}."
    )
    with LocalPipeline(config) as pipeline, SettlingDisplay(console, len(requests)) as display:
        samples = [sample for _, _, sample in requests]
        result = pipeline.run(
            samples,
            options.max_duration_seconds,
            on_progress=display.update,
            backlog_limit=BACKLOG_LIMIT,
            poll_seconds=POLL_SECONDS,
        )
        calls = Counter(call.attributes.get("request_id", "?") for call in pipeline.connect.instance.placed_calls)
    accounting = account(requests, result, calls)
    summary = _summary(accounting, result)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    (options.work_dir / "reliability.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    console.print(_table(accounting, result))
    return summary


def _summary(accounting: Accounting, result: RunResult) -> dict[str, Any]:
    source = result.event_source
    return {
        "ok": accounting.ok and result.complete,
        "requests": accounting.requests,
        "placed_exactly_once": accounting.placed_exactly_once,
        "duplicate_calls": accounting.duplicate_calls,
        "extra_calls": accounting.extra_calls,
        "lost": accounting.lost,
        "wrong_outcome": accounting.wrong_outcome,
        "dead_lettered": dict(sorted(accounting.dead_lettered.items())),
        "dead_lettered_without_reason": accounting.dead_lettered[MOVED_BY_SQS],
        "placed_once_and_dead_lettered": dict(sorted(accounting.placed_and_dead_lettered.items())),
        "left_on_queue": result.left_on_queue,
        "examples": accounting.examples,
        "duration_seconds": round(result.duration_seconds, 1),
        "faults": {
            "connect": dict(sorted(result.connect.faults.items())),
            "connect_answers": dict(sorted(result.connect.responses.items())),
            "duplicate_deliveries": source.duplicates_delivered,
            "workers_killed_at_random": source.workers_killed,
            "crashed_invocations": source.crashed_invocations,
            "invocations": source.invocations,
        },
    }


def _table(accounting: Accounting, result: RunResult) -> Table:
    table = Table(title="connect-outbound-caller: reliability run", header_style="bold")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("requests", str(accounting.requests))
    table.add_row("placed exactly once", f"[green]{accounting.placed_exactly_once}[/]")
    for label, value in (
        ("duplicate calls", accounting.duplicate_calls),
        ("lost", accounting.lost),
        ("wrong outcome", accounting.wrong_outcome),
        ("dead-lettered without a reason", accounting.dead_lettered[MOVED_BY_SQS]),
    ):
        table.add_row(label, f"[{'red' if value else 'green'}]{value}[/]")
    table.add_row("dead-lettered, by ErrorCode", str(sum(accounting.dead_lettered.values())))
    for reason, count in sorted(accounting.dead_lettered.items()):
        table.add_row(f"  {reason}", str(count))
    for reason, count in sorted(accounting.placed_and_dead_lettered.items()):
        table.add_row(f"  of which placed once ({reason})", str(count))
    source = result.event_source
    table.add_row("duplicate deliveries", str(source.duplicates_delivered))
    killed = f"{source.crashed_invocations} / {source.workers_killed}"
    table.add_row("invocations crashed / workers killed at random", killed)
    table.add_row("Connect faults injected", str(sum(result.connect.faults.values()) + result.connect.throttled))
    table.add_row("duration", f"{result.duration_seconds:.0f} s")
    return table
