"""Command line of preflight: `python -m preflight --help`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError

from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from infra.repository import CDK_JSON_PATH
from preflight.checks import CHECKS, run_checks
from preflight.result import CheckResult, Status
from preflight.target import Clients, Target, TargetUnavailable, region_of, resolve_target

EXIT_OK = 0
EXIT_FAILED = 1  # a check failed: fix what it names before the first call
EXIT_UNAVAILABLE = 2  # invalid settings, or no credentials or Region: nothing was checked (argparse's usage code too)

_LABELS = {Status.OK: "ok", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def _context_pair(text: str) -> tuple[str, str]:
    """An argparse type: KEY=VALUE as `cdk -c` takes it (the value stays a string, as the CDK CLI passes it)."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    """The `python -m preflight` argument parser; its epilog lists the checks."""
    checks = "\n".join(f"  {check.name:<11} {check.description}" for check in CHECKS)
    parser = argparse.ArgumentParser(
        prog="python -m preflight",
        description=(
            "Before the first real call, check the AWS account of your credentials against the deployment's"
            " settings (cdk.json and -c overrides, exactly as make deploy reads them). Read-only: it changes"
            " nothing and places no call. Exit status: 0 when no check failed, 1 when one did, 2 when nothing"
            " could be checked (invalid settings, no credentials or Region)."
        ),
        epilog=f"checks:\n{checks}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-c",
        "--context",
        type=_context_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value, as with cdk -c (wins over cdk.json); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of lines")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    session: boto3.Session | None = None,
    clients: Clients | None = None,
    out: TextIO | None = None,
) -> int:
    """Run every check; the exit status says whether any failed."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    context: dict[str, Any] = json.loads(CDK_JSON_PATH.read_text(encoding="utf-8")).get("context", {})
    context |= dict(args.context)
    try:
        settings = settings_from_context(context)
    except InvalidDeploymentSettings as error:
        print(error, file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        session = session or boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
        region_of(session)  # before any client: botocore's own NoRegionError names no remedy
        clients = clients or Clients.from_session(session)
        target = resolve_target(session, clients.sts, settings)
    except TargetUnavailable as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BotoCoreError as error:  # a named profile that does not exist, a malformed config file
        print(f"preflight: your AWS configuration cannot be used: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    results = run_checks(clients, target)
    if args.json:
        _print_json(target, results, out)
    else:
        _print_lines(target, results, out)
    return EXIT_FAILED if any(result.status is Status.FAIL for result in results) else EXIT_OK


def _print_lines(target: Target, results: list[CheckResult], out: TextIO) -> None:
    print(
        f"preflight: stack {target.stack_name}, instance {target.settings.instance_id},"
        f" account {target.account}, Region {target.region}",
        file=out,
    )
    width = max(len(check.name) for check in CHECKS)
    for result in results:
        print(f"  {_LABELS[result.status]:<4}  {result.check:<{width}}  {result.message}", file=out)
    counts = Counter(result.status for result in results)
    summary = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    if counts[Status.FAIL]:
        verdict = "fix what FAIL names, then run again"
    elif counts[Status.SKIP]:
        verdict = "nothing failed; run again once what skip names is in place"
    else:
        verdict = "ready for a first call"
    print(f"{summary}: {verdict}", file=out)


def _print_json(target: Target, results: list[CheckResult], out: TextIO) -> None:
    document = {
        "stack": target.stack_name,
        "instanceId": target.settings.instance_id,
        "account": target.account,
        "region": target.region,
        "passed": not any(result.status is Status.FAIL for result in results),
        "results": [{"check": r.check, "status": r.status.value, "message": r.message} for r in results],
    }
    print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
