"""What our function costs beyond the least a Powertools function placing calls does: cold init and time per record.

Cold init is the import of the handler module in a fresh interpreter (what Lambda's init phase runs), the median of
several runs of each, taken in turns. Time per record is the median invocation on a full batch over its records, in
warm containers of the local runtime, both functions against the same local Connect and local AWS with a quota far
above what they reach and no latency, so that only the functions' own work differs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.baseline import MINIMAL, OURS, Side
from bench.scenarios import SHORT_CALL_SECONDS, bench_settings, build_requests
from local.account import LOCAL_ACCOUNT_ID
from local.connect_behaviour import ConnectBehaviour
from local.function_container import SUCCEEDED, FunctionContainer, FunctionSpec
from local.pipeline import LocalPipeline
from local.pipeline_config import PipelineConfig
from local.sqs_event import sqs_event_record

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# Import runs per function, after one untimed run that leaves the bytecode caches as a deployed package has them.
IMPORT_RUNS = 5
IMPORT_TIMEOUT_SECONDS = 60
# Runs `import <module>` in a fresh interpreter and prints how long the import took.
IMPORT_TIMER = (
    "import importlib, sys, time\n"
    "started = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print(time.perf_counter() - started)\n"
)
# Invocations per function: a few untimed (clients' connections opened, lazy imports done), then the timed ones.
WARM_UP_INVOCATIONS = 2
TIMED_INVOCATIONS = 10
# A quota, burst and instance that nothing here comes near, so that no pacing or throttling enters the timing.
UNBOUND_CALLS_PER_SECOND = 100_000
UNBOUND_CALLS = 100_000


@dataclass(frozen=True)
class FunctionCosts:
    """The measured runs, by side name: import times, and timed invocations of a full batch."""

    import_seconds: dict[str, list[float]]
    invocation_seconds: dict[str, list[float]]
    batch_size: int

    def cold_init_seconds(self, side: Side) -> float:
        """The median import of the side's handler module."""
        return statistics.median(self.import_seconds[side.name])

    def per_record_seconds(self, side: Side) -> float:
        """The median invocation on a full batch, per record."""
        return statistics.median(self.invocation_seconds[side.name]) / self.batch_size

    @property
    def cold_init_ratio(self) -> float:
        """Our cold init over the minimal handler's."""
        return self.cold_init_seconds(OURS) / self.cold_init_seconds(MINIMAL)

    @property
    def per_record_ratio(self) -> float:
        """Our time per record over the minimal handler's."""
        return self.per_record_seconds(OURS) / self.per_record_seconds(MINIMAL)

    def to_json(self) -> dict[str, Any]:
        """The figures and the runs they come from, as results.json holds them."""
        return {
            "cold_init": {
                "what": "import of the handler module in a fresh interpreter, median of runs taken in turns",
                "ratio_ours_to_minimal": round(self.cold_init_ratio, 2),
                "median_seconds": {side.name: round(self.cold_init_seconds(side), 4) for side in (OURS, MINIMAL)},
                "runs_seconds": {name: [round(run, 4) for run in runs] for name, runs in self.import_seconds.items()},
            },
            "per_record": {
                "what": (
                    "median warm invocation on a full batch, per record, against the local Connect without latency"
                    " or quota: ours validates, claims and completes each call's placed-calls record in DynamoDB"
                    " (moto's, slower than the real one) and logs; the minimal handler calls Connect and logs"
                ),
                "batch_size": self.batch_size,
                "ratio_ours_to_minimal": round(self.per_record_ratio, 2),
                "median_seconds": {side.name: round(self.per_record_seconds(side), 5) for side in (OURS, MINIMAL)},
                "invocations_seconds": {
                    name: [round(run, 4) for run in runs] for name, runs in self.invocation_seconds.items()
                },
            },
        }


def measure_function_costs(work_dir: Path) -> FunctionCosts:
    """Time both functions' cold init and their work per record, on one local pipeline."""
    settings = bench_settings(
        {
            "callsPerSecond": UNBOUND_CALLS_PER_SECOND,
            "callsBurst": UNBOUND_CALLS,
            "concurrentCallsLimit": UNBOUND_CALLS,
        }
    )
    config = PipelineConfig(
        settings=settings,
        connect=ConnectBehaviour(
            instance_id=settings.instance_id,
            calls_per_second=UNBOUND_CALLS_PER_SECOND,
            burst=UNBOUND_CALLS,
            max_concurrent_calls=UNBOUND_CALLS,
            call_duration_seconds=SHORT_CALL_SECONDS,
        ),
        work_dir=work_dir / "function-costs",
    )
    with LocalPipeline(config) as pipeline:
        if pipeline.event_source is None or pipeline.intake is None:
            raise RuntimeError("the local pipeline did not start")
        ours = pipeline.event_source.function
        specs = {OURS.name: ours, MINIMAL.name: replace(ours, handler=MINIMAL.handler, code_root=MINIMAL.code_root)}
        import_seconds = _time_imports(specs, {**os.environ, **ours.environment})
        invocation_seconds = _time_invocations(specs, pipeline.intake.queue_arn, settings.batch_size)
    return FunctionCosts(import_seconds, invocation_seconds, settings.batch_size)


def _time_imports(specs: dict[str, FunctionSpec], environment: dict[str, str]) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {name: [] for name in specs}
    for run in range(IMPORT_RUNS + 1):
        for name, spec in specs.items():
            seconds = _import_seconds(spec, environment)
            if run:
                runs[name].append(seconds)
    return runs


def _import_seconds(spec: FunctionSpec, environment: dict[str, str]) -> float:
    """Import the handler's module in a fresh interpreter, as Lambda's init does, with the function's environment."""
    module = spec.handler.rsplit(".", 1)[0]
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_TIMER, module],
        env={**environment, "PYTHONPATH": str(spec.code_root)},
        cwd=spec.code_root,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {completed.stderr.strip()[-2000:]}")
    return float(completed.stdout.split()[-1])


def _time_invocations(specs: dict[str, FunctionSpec], queue_arn: str, batch_size: int) -> dict[str, list[float]]:
    spawn = multiprocessing.get_context("spawn")
    containers = {name: FunctionContainer(spec, spawn, number) for number, (name, spec) in enumerate(specs.items())}
    runs: dict[str, list[float]] = {name: [] for name in specs}
    try:
        for invocation in range(WARM_UP_INVOCATIONS + TIMED_INVOCATIONS):
            for name, container in containers.items():
                result = container.invoke({"Records": _batch(batch_size, queue_arn)})
                failures = (result.response or {}).get("batchItemFailures") if result.outcome == SUCCEEDED else None
                if result.outcome != SUCCEEDED or failures:
                    raise RuntimeError(f"the {name} function failed a batch: {result.error or failures}")
                if invocation >= WARM_UP_INVOCATIONS:
                    runs[name].append(result.duration_seconds)
    finally:
        for container in containers.values():
            container.stop()
    return runs


def _batch(size: int, queue_arn: str) -> list[dict[str, Any]]:
    """A full batch of valid requests as the event source delivers them, each with a new message ID."""
    now_ms = str(int(time.time() * 1000))
    records = []
    for sample in build_requests(size):
        body = sample.body
        message: MessageTypeDef = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": body,
            "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": now_ms,
                "SenderId": LOCAL_ACCOUNT_ID,
                "ApproximateFirstReceiveTimestamp": now_ms,
            },
        }
        records.append(sqs_event_record(message, queue_arn))
    return records
