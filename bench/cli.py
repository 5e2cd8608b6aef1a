"""Command line of the benchmark: `python -m bench --help`.

Every load for ours and the naive baseline, then the function's own costs; a table, results.json, results.png.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench.baseline import SIDES
from bench.chart import draw_chart
from bench.function_costs import measure_function_costs
from bench.results import results_document, write_results
from bench.scenarios import (
    QUOTA_BURST,
    QUOTA_CALLS_PER_SECOND,
    REAL_CALL_SECONDS,
    SCENARIOS,
    TIME_COMPRESSION,
    VISIBILITY_TIMEOUT_SECONDS,
    Scenario,
    SideRun,
    bench_settings,
    run_side,
)
from bench.summary import summary_table
from local.function_container import FunctionInitError
from local.pipeline_config import DEFAULT_WORK_DIR

OUTPUT_DIR = Path(__file__).resolve().parent
RESULTS_JSON = "results.json"
RESULTS_PNG = "results.png"
FUNCTION_PART = "function"
PARTS = (*(scenario.name for scenario in SCENARIOS), FUNCTION_PART)
SUMMARY_WIDTH = 140
DESCRIPTION = (
    "Our function beside a naive loop on the local pipeline (same local Connect, same load): drain time, throttled"
    " answers and dead-letters under a quota and on a busy instance, abandoned calls and agent occupancy on a queue"
    " of agents, and the billed requests per placed call of each; then our cold init and time per record against a"
    " minimal Powertools handler. Prints a table, writes results.json and results.png."
)


def heading() -> str:
    """What every figure was measured under, in one line."""
    shortest, longest = REAL_CALL_SECONDS
    return (
        f"connect-outbound-caller against a naive loop, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs: "
        f"quota {QUOTA_CALLS_PER_SECOND:g}/s burst {QUOTA_BURST}; call lengths compressed {TIME_COMPRESSION}x "
        f"({shortest:g}-{longest:g} s last {shortest / TIME_COMPRESSION:g}-{longest / TIME_COMPRESSION:g} s); "
        f"visibility timeout {VISIBILITY_TIMEOUT_SECONDS} s for both "
        f"(deployed: {bench_settings().visibility_timeout_seconds} s)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for (all by default), print the summary, write results.json and results.png."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeat for more)")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR, help="where results.json and .png go")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR / "bench", help="function logs")
    options = parser.parse_args(argv)
    parts = set(options.only or PARTS)
    console = Console()
    if not console.is_terminal:  # a log file: don't squeeze the table into 80 columns
        console = Console(width=SUMMARY_WIDTH)
    title = heading()
    console.print(f"[bold]make bench[/]: {title}. Function logs in {options.work_dir}.")
    started = time.monotonic()
    loads: dict[Scenario, dict[str, SideRun]] = {}
    try:
        for scenario in (scenario for scenario in SCENARIOS if scenario.name in parts):
            loads[scenario] = {}
            for side in SIDES:
                console.print(f"[bold]{scenario.title}[/]: {side.title} (cap {scenario.max_duration_seconds:.0f} s)")
                loads[scenario][side.name] = run_side(scenario, side, options.work_dir, console)
        costs = None
        if FUNCTION_PART in parts:
            console.print("[bold]The function[/]: cold init and time per record, against a minimal handler")
            costs = measure_function_costs(options.work_dir)
    except FunctionInitError as error:
        console.print(f"[red]A function could not start[/]: {error}")
        return 1
    duration = time.monotonic() - started
    write_results(results_document(loads, costs, duration), options.output_dir / RESULTS_JSON)
    if loads:
        draw_chart(loads, options.output_dir / RESULTS_PNG, title)
    console.print(summary_table(loads, costs, title))
    console.print(f"Measured in {duration:.0f} s; written to {options.output_dir / RESULTS_JSON} and {RESULTS_PNG}.")
    return 0
