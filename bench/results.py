"""results.json: every figure of a run, with the settings, the method and the machine it was measured with."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baseline import NAIVE, OURS
from bench.figures import capacity_ideal_seconds, load_figures, quota_ideal_seconds, targets
from bench.function_costs import FunctionCosts
from bench.scenarios import (
    AGENTS_BOUND,
    BENCH_CONTEXT,
    CAPACITY_BOUND,
    CONNECT_SEED,
    QUOTA_BOUND,
    QUOTA_BURST,
    QUOTA_CALLS_PER_SECOND,
    REAL_CALL_SECONDS,
    TIME_COMPRESSION,
    VISIBILITY_TIMEOUT_SECONDS,
    Scenario,
    SideRun,
    bench_settings,
    side_context,
)
from bench.series import per_second
from local.demo import DEMO_LATENCY_SECONDS

# A JSON array of numbers only, as json.dumps(indent=2) spreads it over one line per number.
NUMBER_LIST = re.compile(r"\[[\d\s,.eE+-]*\]")


def ideal_formula(scenario: Scenario) -> str:
    """How a load's ideal drain time is worked out, in words."""
    if scenario.bound == QUOTA_BOUND:
        return "to the last call placed: (requests placed - burst) / quota rate"
    if scenario.bound == AGENTS_BOUND:
        return "to the last call ended: total handle time of the requests' contacts / agents"
    return "to the last call ended: total length of the requests' calls / concurrent calls"


def scenario_json(scenario: Scenario, runs: dict[str, SideRun]) -> dict[str, Any]:
    """One load: its settings, what binds, and each side's figures and per-second series."""
    document: dict[str, Any] = {
        "title": scenario.title,
        "requests": scenario.requests,
        "bound": scenario.bound,
        "ideal": ideal_formula(scenario),
        "cap_seconds_per_side": scenario.max_duration_seconds,
        "connect": {
            "quota_calls_per_second": QUOTA_CALLS_PER_SECOND,
            "quota_burst": QUOTA_BURST,
            "max_concurrent_calls": scenario.max_concurrent_calls,
            "call_seconds": list(scenario.call_seconds),
            "mean_call_seconds": scenario.mean_call_seconds,
            "latency_seconds": DEMO_LATENCY_SECONDS,
            "seed": CONNECT_SEED,
        },
        # Settings over BENCH_CONTEXT, by side.
        "context_added": {name: side_context(scenario, run.side) for name, run in runs.items()},
    }
    if scenario.staffing is not None:
        staffing = scenario.staffing
        document["queue"] = {
            "agents": staffing.agents,
            "handle_seconds": list(staffing.handle_seconds),
            "patience_seconds": round(staffing.patience_seconds, 3),
        }
        document["expected_ideal_seconds"] = round(
            capacity_ideal_seconds([scenario.mean_call_seconds] * scenario.requests, staffing.agents), 2
        )
    elif scenario.bound == CAPACITY_BOUND:
        document["expected_ideal_seconds"] = round(
            capacity_ideal_seconds([scenario.mean_call_seconds] * scenario.requests, scenario.max_concurrent_calls), 2
        )
    else:
        document["expected_ideal_seconds"] = quota_ideal_seconds(scenario.requests, QUOTA_CALLS_PER_SECOND, QUOTA_BURST)
    for name, run in runs.items():
        figures = load_figures(run)
        document[name] = figures.to_json() | {
            "per_second": per_second(run.timeline, run.started_at, run.observed_seconds).to_json()
        }
        if name == OURS.name:
            document["targets_for_ours"] = {
                target.figure: {"wanted": target.wanted, "met": target.met} for target in targets(scenario, figures)
            }
    return document


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": sys.version.split()[0],
    }


def results_document(
    loads: dict[Scenario, dict[str, SideRun]], costs: FunctionCosts | None, duration_seconds: float
) -> dict[str, Any]:
    """Every figure of the run, with the settings and the machine it was measured with."""
    settings = bench_settings()
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(duration_seconds, 1),
        "machine": machine(),
        "method": {
            "sides": {OURS.name: OURS.title, NAIVE.name: NAIVE.title},
            "time_compression": TIME_COMPRESSION,
            "real_call_seconds": list(REAL_CALL_SECONDS),
            "visibility_timeout_seconds": VISIBILITY_TIMEOUT_SECONDS,
            "deployed_visibility_timeout_seconds": settings.visibility_timeout_seconds,
            "clock": "from the event source's start, the whole load queued and no function container started",
        },
        "settings": {
            "context": BENCH_CONTEXT,
            "max_receive_count": settings.max_receive_count,
            "function_timeout_seconds": settings.function_timeout_seconds,
        },
        "scenarios": {scenario.name: scenario_json(scenario, runs) for scenario, runs in loads.items()},
        "function": None if costs is None else costs.to_json(),
    }


def write_results(document: dict[str, Any], path: Path) -> None:
    """Write results.json, each list of numbers (the per-second series) on one line."""
    text = NUMBER_LIST.sub(lambda found: f"[{' '.join(found.group()[1:-1].split())}]", json.dumps(document, indent=2))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
