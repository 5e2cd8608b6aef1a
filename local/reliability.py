"""`make reliability`: the load (local/reliability_load.py) sent through the local pipeline while Connect, SQS and
Lambda misbehave, every request accounted for (local/reliability_accounting.py), the verdict printed as one JSON line,
a table, reliability.json.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from local.pipeline import LocalPipeline
from local.progress_bars import SettlingDisplay
from local.queue_reading import MOVED_BY_SQS
from local.reliability_accounting import Accounting, account, calls_by_request
from local.reliability_load import REDIAL_MAX_ATTEMPTS, ReliabilityOptions, build_requests, pipeline_config
from local.run_result import RunResult

# Requests waiting on the queue for a poller, about, as a steady producer keeps it: more than the 8 pollers take in
# a look's time (8 x 10 records), so they never run dry; not the whole load at once.
BACKLOG_LIMIT = 100
# How long the run waits, once the requests have settled, for the last calls to end and be reported: the longest call,
# and the completion's retries of a contact the ledger does not show (Lambda's, a minute and two apart).
COMPLETION_WAIT_SECONDS = 200.0
# How often the run looks at the queues (each look scans them in moto) and the progress bar moves.
POLL_SECONDS = 1.0


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
        placed_calls = pipeline.connect.instance.placed_calls
        # The last calls' completions, once they have ended: every final outcome must have been announced.
        if pipeline.completions is not None:
            pipeline.completions.wait_until_reported(COMPLETION_WAIT_SECONDS)
        result = pipeline.with_late_result_events(result)
        finals = pipeline.result_events.final_contact_ids if pipeline.result_events is not None else set()
    final_contacts: dict[str, set[str]] = {}
    for call in placed_calls:
        if call.contact_id in finals:
            final_contacts.setdefault(call.attributes.get("request_id", "?"), set()).add(call.contact_id)
    accounting = account(
        requests,
        result,
        calls_by_request(placed_calls),
        max_attempts=REDIAL_MAX_ATTEMPTS,
        final_contacts=final_contacts,
    )
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
        "over_attempts": accounting.over_attempts,
        "redialled": accounting.redialled,
        "requests_by_attempts_rung": {str(rung): count for rung, count in sorted(accounting.attempts.items())},
        "final_not_announced": accounting.final_not_announced,
        "completed_outcomes": dict(sorted(result.completed_outcomes.items())),
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
    table.add_row("placed, each attempt rung once", f"[green]{accounting.placed_exactly_once}[/]")
    table.add_row("  of which redialled (attempts 2 / 3)", f"{accounting.attempts[2]} / {accounting.attempts[3]}")
    for label, value in (
        ("an attempt rung twice", accounting.duplicate_calls),
        ("more attempts than the policy allows", accounting.over_attempts),
        ("rung, and no final outcome announced", accounting.final_not_announced),
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
    outcomes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(result.completed_outcomes.items()))
    table.add_row("calls completed, by outcome", outcomes or "-")
    table.add_row("duration", f"{result.duration_seconds:.0f} s")
    return table
