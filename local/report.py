"""What a person sees once a run has settled: a summary table, and a JSON report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rich.table import Table

from local.completions import ASYNC_ATTEMPTS, Deliveries
from local.pipeline_config import REPO_ROOT
from local.producers import DEFERRED_PREFIX, PLACED, SUPPRESSED
from local.queue_reading import MOVED_BY_SQS
from local.run_result import PEAK_WINDOW_SECONDS, RunResult

# What each dead-letter reason means, for the summary table.
REASON_NOTES = {
    "ValidationError": "invalid request",
    "DestinationNotAllowedException": "Connect refused the destination",
    "AccessDeniedException": "flow not granted to the function",
    "RetriesExhausted": "still failing on its last receive (ErrorMessage names the error)",
    "OutcomeUnknown": "Connect may have placed it: check, then redrive to call again",
    "ClientTokenReused": "one token, two different calls",
    "Expired": "not placed by its ExpiresAt or within MAX_DEFERRAL_SECONDS",
    "DestinationNotAllowedByPolicy": "refused by calling safety: country, number type or time zone",
    "DestinationCallLimit": "too many calls to this number in DESTINATION_CALL_LIMIT's window",
    MOVED_BY_SQS: "the invocation of its last receive died",
}


# What each deferral reason means, for the summary.
DEFERRAL_NOTES = {
    "InstanceAtCapacity": "the instance's concurrent calls were full (LimitExceededException)",
    "Throttled": "Connect throttled the call beyond the in-call retries",
    "InvocationEnding": "too little invocation time was left to call safely",
    "OutsideCallingHours": "the calling hours were closed in the callee's time zones",
    "NotBefore": "the request's NotBefore had not come yet",
    "Redial": "waiting for its call's outcome, or for its next attempt's interval (the redial policy)",
    "SourceCallLimit": "its caller ID had made SOURCE_CALL_LIMIT's calls in the window",
    "NoAgentAvailable": "no agent of its queue was free for it (AGENT_PACING)",
}
# What a request still waiting when the run ended is waiting for, for the summary.
WAITING_NOTES = {
    "OutsideCallingHours": "deferred to the next calling hours",
    "NotBefore": "deferred to its NotBefore",
    "Redial": "waiting for its next attempt",
}


def display_path(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _count(observed: int, expected: int | None = None, style: str = "") -> str:
    text = f"[{style}]{observed}[/]" if style else str(observed)
    return text if expected is None or observed == expected else f"{text} [red](expected {expected})[/]"


def _breakdown(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summary_table(result: RunResult, report_path: Path) -> Table:
    """The readable end-of-run summary."""
    table = Table(title="connect-outbound-caller: local demo", header_style="bold")
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("detail")
    produced = result.produced
    table.add_row(
        "requests",
        str(result.requests),
        f"{produced.via_sqs} via SQS SendMessage, {produced.via_eventbridge} via EventBridge",
    )
    table.add_row(
        "placed", _count(result.placed, result.expected[PLACED], "green"), "contacts the local Connect created"
    )
    if result.suppressed or result.expected[SUPPRESSED]:
        table.add_row(
            "suppressed",
            _count(result.suppressed, result.expected[SUPPRESSED], "magenta"),
            "on the suppression list: no call, no dead-letter (announced as Rejected, DestinationSuppressed)",
        )
    table.add_row("dead-lettered", _count(sum(result.dead_lettered.values()), style="yellow"), "by ErrorCode:")
    expected_dead_letters = {outcome for outcome in result.expected if outcome not in (PLACED, SUPPRESSED)}
    expected_dead_letters -= {outcome for outcome in expected_dead_letters if outcome.startswith(DEFERRED_PREFIX)}
    for reason in sorted(set(result.dead_lettered) | expected_dead_letters):
        table.add_row(
            f"  {reason}",
            _count(result.dead_lettered[reason], result.expected[reason], "yellow"),
            REASON_NOTES.get(reason, ""),
        )
    table.add_row(
        "deferred",
        str(sum(result.deferred.values())),
        "sent back to the queue for later, no receive spent (a request may be deferred more than once); by reason:",
    )
    for reason, count in sorted(result.deferred.items()):
        table.add_row(f"  {reason}", str(count), DEFERRAL_NOTES.get(reason, ""))
    _add_waiting_rows(table, result)
    source = result.event_source
    table.add_row(
        "retried",
        str(source.retried),
        f"records left for redelivery ({source.batch_item_failures} in batchItemFailures, "
        f"{source.records_in_failed_invocations} in failed invocations); {source.redeliveries} redelivered",
    )
    connect = result.connect
    table.add_row(
        "throttled", _count(connect.throttled, style="red"), f"HTTP 429 answers of {connect.requests} Connect requests"
    )
    table.add_row("", "", f"[dim]Connect answers: {_breakdown(connect.responses)}[/]")
    table.add_row(
        "invocations",
        str(source.invocations),
        f"{_breakdown(source.outcomes)}; {source.cold_starts} cold starts; at most {source.max_in_flight} at once",
    )
    table.add_row("duration", f"{result.duration_seconds:.1f} s", "from the first send until every request settled")
    quota = result.config.connect
    table.add_row(
        "calls per second",
        f"{result.achieved_calls_per_second:.2f}",
        f"quota {quota.calls_per_second:g}/s, burst {quota.burst}; busiest {PEAK_WINDOW_SECONDS:g} s "
        f"{result.peak_calls_per_second:.2f}/s; at most {connect.max_active_calls} of {quota.max_concurrent_calls} "
        "concurrent calls",
    )
    if not result.complete:
        table.add_row("[red]unfinished[/]", str(result.left_on_queue), "[red]messages still on the queue[/]")
    verdict = (
        "[green]every request reached its expected outcome[/]"
        if result.matches_expected
        else "[red]outcomes differ from the samples' expectations[/]"
    )
    table.add_row("check", "[green]ok[/]" if result.matches_expected else "[red]differs[/]", verdict)
    table.add_row("JSON report", "", display_path(report_path))
    table.add_row("function log", "", display_path(result.config.log_path))
    return table


def _add_waiting_rows(table: Table, result: RunResult) -> None:
    """Requests deferred to a time after the run: they have reached their outcome for now, waiting on the queue."""
    waiting_reasons = {waiting.reason for waiting in result.waiting} | {
        outcome.removeprefix(DEFERRED_PREFIX) for outcome in result.expected if outcome.startswith(DEFERRED_PREFIX)
    }
    for reason in sorted(waiting_reasons):
        dues = sorted(f"{waiting.until:%Y-%m-%d %H:%M}" for waiting in result.waiting if waiting.reason == reason)
        detail = f"{WAITING_NOTES.get(reason, 'deferred')} ({reason})"
        if dues:
            detail += f", due at {dues[0]} UTC" if dues[0] == dues[-1] else f", due {dues[0]} to {dues[-1]} UTC"
        table.add_row(
            "waiting",
            _count(len(dues), result.expected[f"{DEFERRED_PREFIX}{reason}"], "cyan"),
            f"{detail}; left on the queue, delayed",
        )


def write_report(result: RunResult, path: Path) -> None:
    """Write the JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")


def completion_summary(deliveries: Deliveries, calls: int) -> list[str]:
    """What the demo prints: how many calls ended and were reported, and their outcomes as the function named them."""
    outcomes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(deliveries.outcomes.items()))
    line = (
        f"Call completion: {calls} calls; the completion function reported {deliveries.handled} ({outcomes or 'none'})"
    )
    if deliveries.dropped:
        line += f"; {deliveries.dropped} contact events given up on after {ASYNC_ATTEMPTS} attempts"
    return [line + "."]
