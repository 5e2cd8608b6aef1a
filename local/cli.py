"""Command line of the local pipeline: `python -m local demo --help`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from infra.context_loading import InvalidDeploymentSettings
from local.argument_types import HelpFormatter, bounded_number, context_pair, e164_prefix
from local.demo import (
    BUSY_CALL_DURATION_SECONDS,
    BUSY_REQUESTS,
    BUSY_SCENARIO,
    SCENARIOS,
    DemoOptions,
    busy_options,
    run_demo,
)
from local.demo_opt_outs import OptOutError
from local.function_container import FunctionInitError
from local.pipeline_config import DEFAULT_WORK_DIR
from local.reliability import run_reliability
from local.reliability_load import ReliabilityOptions

DEFAULTS = DemoOptions()
RELIABILITY_DEFAULTS = ReliabilityOptions()
EXIT_OK = 0
EXIT_FAILED = 1  # the run did not settle, or outcomes differ from the samples' expectations
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The `python -m local` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run connect-outbound-caller on this machine: moto, a local Connect and the real function.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="send sample call requests through the whole pipeline and summarise the outcomes",
        description=(
            "Send sample call requests (local/samples/) half through SQS and half through EventBridge, let the real "
            "function place them against a local Connect, and summarise what happened. Deployment settings come from "
            "cdk.json (the same values the CDK stack is built from) with the demo's documented overrides."
        ),
        formatter_class=HelpFormatter,
    )
    positive_int = bounded_number(int, 1)
    rate = bounded_number(float, 0.0, 1.0)
    non_negative = bounded_number(float, 0.0)
    positive = bounded_number(float, 0.0, inclusive_min=False)

    scenario = demo.add_argument_group("scenario")
    scenario.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default=DEFAULTS.scenario,
        help="samples: every outcome the samples expect; busy: a backlog of plain requests draining through a full"
        f" instance ({BUSY_REQUESTS} requests, calls of {BUSY_CALL_DURATION_SECONDS[0]:g}-"
        f"{BUSY_CALL_DURATION_SECONDS[1]:g} s unless given), nothing dead-lettered",
    )
    scenario.add_argument("--requests", type=positive_int, default=DEFAULTS.requests, help="call requests to send")
    scenario.add_argument("--seed", type=int, default=None, help="seed of the injected faults")
    scenario.add_argument(
        "--max-duration", type=positive, default=DEFAULTS.max_duration_seconds, help="give up after this many seconds"
    )

    connect = demo.add_argument_group("local Connect instance")
    connect.add_argument("--quota", type=positive, default=DEFAULTS.quota, help="API quota, requests per second")
    connect.add_argument("--burst", type=positive_int, default=DEFAULTS.burst, help="API quota burst")
    connect.add_argument(
        "--concurrent-calls", type=positive_int, default=DEFAULTS.max_concurrent_calls, help="concurrent active calls"
    )
    connect.add_argument(
        "--call-duration", type=non_negative, default=DEFAULTS.call_duration_seconds, help="seconds a call stays active"
    )
    connect.add_argument(
        "--call-duration-max",
        type=non_negative,
        default=None,
        help="when given, each call lasts a random time between --call-duration and this",
    )
    connect.add_argument(
        "--server-error-rate", type=rate, default=DEFAULTS.server_error_rate, help="share of requests answered 500"
    )
    connect.add_argument(
        "--throttle-rate",
        type=rate,
        default=DEFAULTS.throttle_rate,
        help="share of requests answered 429 (on top of the quota)",
    )
    connect.add_argument(
        "--latency-ms", type=non_negative, default=DEFAULTS.latency_seconds * 1000, help="added to every answer"
    )
    connect.add_argument(
        "--refuse-prefix",
        type=e164_prefix,
        action="append",
        default=None,
        help="destinations refused with DestinationNotAllowedException (repeatable; default "
        + ", ".join(DEFAULTS.refused_destination_prefixes)
        + ")",
    )

    deployment = demo.add_argument_group("deployment settings (override cdk.json)")
    deployment.add_argument(
        "--calls-per-second", type=positive, help="the function's share of the quota (callsPerSecond)"
    )
    deployment.add_argument(
        "--concurrency", type=bounded_number(int, 2), help="event source maximum concurrency (maxConcurrency)"
    )
    deployment.add_argument("--batch-size", type=positive_int, help="event source batch size (batchSize)")
    deployment.add_argument(
        "--batching-window",
        type=bounded_number(int, 0),
        help="event source batching window in seconds (batchingWindowSeconds)",
    )
    deployment.add_argument(
        "--max-receive-count", type=positive_int, help="receives before SQS dead-letters (maxReceiveCount)"
    )
    deployment.add_argument(
        "-c",
        "--context",
        type=context_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any CDK context value",
    )

    local = demo.add_argument_group("local run only")
    local.add_argument(
        "--visibility-timeout",
        type=positive_int,
        default=DEFAULTS.visibility_timeout_seconds,
        help="queue visibility timeout in seconds (demo override; deployed: 6 x function timeout)",
    )
    local.add_argument(
        "--function-timeout", type=positive, help="function timeout in seconds (default: as the stack derives it)"
    )
    local.add_argument(
        "--report", type=Path, default=DEFAULTS.report_path, help="the JSON report (default: .local/report.json)"
    )
    local.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="where logs and the report go (default: .local)"
    )
    local.add_argument("--no-progress", action="store_true", help="no live progress display (for CI logs)")

    reliability = commands.add_parser(
        "reliability",
        help="thousands of requests with faults injected: prove nobody is rung twice and nothing is lost",
        description=(
            "Send requests through the local pipeline while Connect fails transiently (before and after creating "
            "the contact), SQS delivers duplicates and workers die mid-call; then account for every request: placed "
            "exactly once, rung twice, lost, or dead-lettered with its reason. Exits 1 unless nobody was rung twice, "
            "nothing was lost and every dead-letter has its reason."
        ),
        formatter_class=HelpFormatter,
    )
    reliability.add_argument(
        "--requests", type=positive_int, default=RELIABILITY_DEFAULTS.requests, help="call requests to send"
    )
    reliability.add_argument("--seed", type=int, default=RELIABILITY_DEFAULTS.seed, help="seed of every fault")
    reliability.add_argument(
        "--work-dir", type=Path, default=RELIABILITY_DEFAULTS.work_dir, help="logs and reliability.json"
    )
    return parser


def options_from_args(args: argparse.Namespace) -> DemoOptions:
    """Turn parsed arguments into DemoOptions."""
    overrides: dict[str, Any] = dict(args.context)
    for name, key in (
        ("calls_per_second", "callsPerSecond"),
        ("concurrency", "maxConcurrency"),
        ("batch_size", "batchSize"),
        ("batching_window", "batchingWindowSeconds"),
        ("max_receive_count", "maxReceiveCount"),
    ):
        if getattr(args, name) is not None:
            overrides[key] = getattr(args, name)
    report = args.report
    if args.work_dir != DEFAULT_WORK_DIR and report == DEFAULTS.report_path:
        report = args.work_dir / report.name
    options = DemoOptions(
        scenario=args.scenario,
        requests=args.requests,
        context_overrides=overrides,
        quota=args.quota,
        burst=args.burst,
        max_concurrent_calls=args.concurrent_calls,
        call_duration_seconds=args.call_duration,
        call_duration_max_seconds=args.call_duration_max,
        server_error_rate=args.server_error_rate,
        throttle_rate=args.throttle_rate,
        latency_seconds=args.latency_ms / 1000,
        refused_destination_prefixes=tuple(args.refuse_prefix or DEFAULTS.refused_destination_prefixes),
        visibility_timeout_seconds=args.visibility_timeout,
        function_timeout_seconds=args.function_timeout,
        max_duration_seconds=args.max_duration,
        seed=args.seed,
        report_path=report,
        work_dir=args.work_dir,
        show_progress=not args.no_progress,
    )
    return busy_options(options) if options.scenario == BUSY_SCENARIO else options


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "reliability":
        summary = run_reliability(
            ReliabilityOptions(requests=args.requests, seed=args.seed, work_dir=args.work_dir), Console()
        )
        return EXIT_OK if summary["ok"] else EXIT_FAILED
    options = options_from_args(args)
    if options.server_error_rate + options.throttle_rate > 1:
        parser.error("--server-error-rate and --throttle-rate together must not exceed 1")
    console = Console()
    try:
        result = run_demo(options, console)
    except InvalidDeploymentSettings as error:
        print(f"python -m local demo: {error}", file=sys.stderr)
        return EXIT_USAGE
    except FunctionInitError as error:
        console.print(f"[red]The function failed to start:[/] {error}")
        return EXIT_FAILED
    except OptOutError as error:
        console.print(f"[red]The samples' numbers could not be opted out:[/] {error}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted; local servers and worker processes stopped.[/]")
        return EXIT_INTERRUPTED
    return EXIT_OK if result.matches_expected else EXIT_FAILED
