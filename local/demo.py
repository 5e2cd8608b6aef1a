"""The default demo scenario: the deployment settings from cdk.json with a few documented demo overrides."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from infra.context_loading import settings_from_context
from infra.repository import CDK_JSON_PATH
from infra.settings import DeploymentSettings
from local.connect_behaviour import (
    DEFAULT_BURST,
    DEFAULT_CALLS_PER_SECOND,
    DEFAULT_MAX_CONCURRENT_CALLS,
    DEFAULT_REFUSED_DESTINATION_PREFIXES,
    ConnectBehaviour,
)
from local.demo_opt_outs import DemoOptOuts
from local.function_container import FunctionInitError
from local.pipeline import LocalPipeline
from local.pipeline_config import DEFAULT_WORK_DIR, PipelineConfig
from local.producers import DEMO_UNGRANTED_CONTACT_FLOW_ID, build_requests, load_samples
from local.progress_bars import ProgressDisplay
from local.report import completion_summary, display_path, summary_table, write_report
from local.results import result_events_table
from local.run_result import RunResult
from outbound_caller.config.calling_hours import WEEKDAYS

# Three passes over the 36 samples (five are sent in the first only: the callee who opts out, and the four whose calls
# turn out other than answered): enough calls to see the quota at work.
DEMO_REQUESTS = 98
# Demo overrides of deployment settings (CDK context keys), so that retries and SQS's redrive to the
# dead-letter queue happen within the minute. The deployed values come from cdk.json unchanged otherwise.
DEMO_CONTEXT_OVERRIDES: dict[str, Any] = {
    "batchSize": 5,  # short invocations, so the shortened visibility timeout below still outlasts each one
    "maxReceiveCount": 3,
    "allowedSourcePhoneNumbers": ["+15555550199"],  # the one extra caller ID the samples may name
    # The samples' countries; the deployed default is the caller ID's country only (US). A French sample shows a
    # country outside the list being refused (DestinationNotAllowedByPolicy).
    "allowedDestinationCountries": ["US", "GB", "AU"],
    # A request Connect keeps throttling is deferred until this bound, then Expired: longer than the backlog takes
    # to drain (about 40 s), so that only the throttled ones expire.
    "maxDeferralSeconds": 60,
    # Redial a call nobody answered, or a busy line, once: the shortest interval the function takes (a minute), so
    # the second attempts come about a minute into the demo. A request's bound must leave room for it: the samples
    # that are redialled expire ten minutes ahead, the others within maxDeferralSeconds (final after one attempt).
    "redialOn": ["NoAnswer", "Busy"],
    "redialMaxAttempts": 2,
    "redialIntervalSeconds": 60,
}
# Demo override of the derived visibility timeout (deployed: 6 x function timeout, minutes): a failed record
# reappears after 10 s. Safe only because a demo invocation (5 records at 1 call/s) ends well within it.
DEMO_VISIBILITY_TIMEOUT_SECONDS = 10
# Real calls last minutes; the demo compresses them so that calls end while the demo runs.
DEMO_CALL_DURATION_SECONDS = 4.0
# A little throttling, absorbed by the function's in-call retries. No random 500s by default: a 500 may mean the
# contact was created, so one striking a sample that is being retried makes it OutcomeUnknown instead of its
# expected outcome (rightly, but then the samples' expectations cannot hold); --server-error-rate shows it.
DEMO_SERVER_ERROR_RATE = 0.0
DEMO_THROTTLE_RATE = 0.02
DEMO_LATENCY_SECONDS = 0.05  # StartOutboundVoiceContact typically answers in tens of milliseconds
# Give up waiting for the requests to settle after this long.
DEMO_MAX_DURATION_SECONDS = 300.0
# Beyond the longest call, how long the demo waits for the last calls to end and be reported (a contact event the
# function fails on is retried twice, a few seconds apart).
COMPLETION_WAIT_SLACK_SECONDS = 10.0
# The samples' scenario, and the busy one: a backlog draining through a full instance.
SAMPLES_SCENARIO = "samples"
BUSY_SCENARIO = "busy"
SCENARIOS = (SAMPLES_SCENARIO, BUSY_SCENARIO)
# Busy: real calls of one to three minutes, compressed 20x, through the default 10 concurrent calls: the backlog
# needs about BUSY_REQUESTS x 6 s / 10 = 60 s at the very least, and the instance is full nearly all along.
BUSY_REQUESTS = 100
BUSY_CALL_DURATION_SECONDS = (3.0, 9.0)
DEFAULT_REPORT_PATH = DEFAULT_WORK_DIR / "report.json"
# The samples scenario's calling hours are computed when the demo starts, so that whatever the time of day they are
# open in the US and UK samples' zone (New York, London) and closed in the Australian sample's (Cocos to Lord Howe):
# from an hour before New York's current hour to two hours after London's. London is 4-5 hours ahead of New York,
# so the window is 7-8 hours long and holds both, with an hour to spare. Every Australian zone is 6.5-11 hours ahead
# of UTC, that is 5.5 hours or more past London's current time and 6 hours or more before New York's window opens
# again (the next day), so each of them is outside it: the Australian sample is deferred to the next opening, which
# exists because the window is longer than the 4.5 hours that separate Australia's zones.
DEMO_OPEN_ZONES = (ZoneInfo("America/New_York"), ZoneInfo("Europe/London"))
# The demo's weekend: two weekdays with no window, three and four days after London's date when the demo starts. Today
# is open wherever a sample is called now (New York's date is London's or the day before), and so is the day of the
# Australian sample's next opening (at most a day after London's date, reached within a day); a callback asked for
# four days ahead falls in it, closed whatever its hour (the day before has no window to run into it), and is
# deferred over it to the next open day.
DEMO_WEEKEND_DAYS_AHEAD = (3, 4)


@dataclass(frozen=True)
class DemoOptions:
    """Every knob of the demo; the defaults are the default scenario."""

    scenario: str = SAMPLES_SCENARIO
    requests: int = DEMO_REQUESTS
    context_overrides: dict[str, Any] = field(default_factory=dict)  # CDK context keys, applied after the demo's
    quota: float = DEFAULT_CALLS_PER_SECOND
    burst: int = DEFAULT_BURST
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    call_duration_seconds: float = DEMO_CALL_DURATION_SECONDS
    call_duration_max_seconds: float | None = None  # when set, each call lasts between the two
    server_error_rate: float = DEMO_SERVER_ERROR_RATE
    throttle_rate: float = DEMO_THROTTLE_RATE
    latency_seconds: float = DEMO_LATENCY_SECONDS
    refused_destination_prefixes: tuple[str, ...] = DEFAULT_REFUSED_DESTINATION_PREFIXES
    visibility_timeout_seconds: int = DEMO_VISIBILITY_TIMEOUT_SECONDS
    function_timeout_seconds: float | None = None
    max_duration_seconds: float = DEMO_MAX_DURATION_SECONDS
    seed: int | None = None
    report_path: Path = DEFAULT_REPORT_PATH
    work_dir: Path = DEFAULT_WORK_DIR
    show_progress: bool = True


def demo_calling_hours(now: datetime) -> str:
    """callingHours open at ``now`` in New York and London, closed in every Australian zone, and with a weekend three
    days ahead (see above): the window every day but the weekend's, e.g. ``Mon-Wed,Sat-Sun 11:00-19:00``."""
    new_york, london = (now.astimezone(zone) for zone in DEMO_OPEN_ZONES)
    window = f"{(new_york.hour - 1) % 24:02d}:00-{(london.hour + 2) % 24:02d}:00"
    weekend = {(london.date() + timedelta(days=days)).weekday() for days in DEMO_WEEKEND_DAYS_AHEAD}
    return f"{','.join(day for index, day in enumerate(WEEKDAYS) if index not in weekend)} {window}"


def demo_settings(context_overrides: dict[str, Any], cdk_json_path: Path = CDK_JSON_PATH) -> DeploymentSettings:
    """cdk.json's context with the demo's overrides, then the caller's, validated exactly as the stack does."""
    context = json.loads(cdk_json_path.read_text(encoding="utf-8")).get("context", {})
    context = {**context, **DEMO_CONTEXT_OVERRIDES, **context_overrides}
    settings = settings_from_context(context)
    # The samples name one flow that the function allows and the local instance does not grant.
    if DEMO_UNGRANTED_CONTACT_FLOW_ID not in settings.allowed_contact_flow_ids:
        flows = (*settings.allowed_contact_flow_ids, DEMO_UNGRANTED_CONTACT_FLOW_ID)
        settings = settings_from_context({**context, "allowedContactFlowIds": list(flows)})
    return settings


def pipeline_config(options: DemoOptions, settings: DeploymentSettings) -> PipelineConfig:
    """The local run the options describe."""
    return PipelineConfig(
        settings=settings,
        connect=ConnectBehaviour(
            instance_id=settings.instance_id,
            calls_per_second=options.quota,
            burst=options.burst,
            max_concurrent_calls=options.max_concurrent_calls,
            call_duration_seconds=options.call_duration_seconds,
            call_duration_max_seconds=options.call_duration_max_seconds,
            refused_destination_prefixes=options.refused_destination_prefixes,
            denied_contact_flow_ids=frozenset({DEMO_UNGRANTED_CONTACT_FLOW_ID}),
            server_error_rate=options.server_error_rate,
            throttle_rate=options.throttle_rate,
            latency_seconds=options.latency_seconds,
            seed=options.seed,
        ),
        visibility_timeout_seconds=options.visibility_timeout_seconds,
        function_timeout_seconds=options.function_timeout_seconds,
        work_dir=options.work_dir,
    )


def run_demo(options: DemoOptions, console: Console) -> RunResult:
    """Run the scenario with live progress and print the summary; FunctionInitError if the function can't start."""
    context_overrides = options.context_overrides
    now = datetime.now(UTC)
    if options.scenario == SAMPLES_SCENARIO:
        # Demo override, the samples' only: calling hours that defer the Australian sample, whenever the demo runs, and
        # a weekend that the four-day callback falls in.
        context_overrides = {"callingHours": demo_calling_hours(now), **context_overrides}
    settings = demo_settings(context_overrides)
    config = pipeline_config(options, settings)
    samples = load_samples(now=now)
    if options.scenario == BUSY_SCENARIO:
        samples = [sample for sample in samples if sample.plainly_placed]
    requests = build_requests(samples, options.requests)
    console.print(
        f"[bold]Local pipeline[/]: moto (SQS, EventBridge, DynamoDB), a local Connect (quota {options.quota:g}/s, "
        f"burst {options.burst}, {options.max_concurrent_calls} concurrent calls), and the real function in "
        f"up to {settings.max_concurrency} worker processes (batch size {settings.batch_size}, "
        f"{settings.calls_per_second:g} calls/s in all, maxReceiveCount {settings.max_receive_count}, "
        f"visibility timeout {config.effective_visibility_timeout_seconds} s [dim](demo override)[/])."
    )
    if settings.calling_hours is not None:
        console.print(
            f"Calling hours {settings.calling_hours} in the callee's time zones [dim](demo override: open now in "
            "New York and London, closed in Australia, and the days with no window a weekend three days ahead)[/]."
        )
    console.print(f"Function logs go to [cyan]{display_path(config.log_path)}[/].")
    with LocalPipeline(config) as pipeline:
        # The samples' numbers opted out through the opt-out function's doors: before the run, and during it.
        with DemoOptOuts(pipeline, requests, settings) as opt_outs:
            if options.show_progress:
                with ProgressDisplay(console, len(requests)) as display:
                    result = pipeline.run(requests, options.max_duration_seconds, on_progress=display.update)
            else:
                result = pipeline.run(requests, options.max_duration_seconds)
        opt_outs.check()
        completion_lines = report_completions(pipeline, options)
        result = pipeline.with_late_result_events(result)
        sink, seen = pipeline.result_sink, pipeline.result_events
    write_report(result, options.report_path)
    console.print(summary_table(result, options.report_path))
    if sink is not None and seen is not None:
        console.print(result_events_table(seen, sink))
        for example in seen.examples:
            console.print(f"  [dim]{example['detail-type']}[/] {json.dumps(example['detail'], sort_keys=True)}")
    for line in [*opt_outs.lines, *completion_lines]:
        console.print(line, markup=False, highlight=False)
    return result


def report_completions(pipeline: LocalPipeline, options: DemoOptions) -> list[str]:
    """Once the calls still in progress have ended and the completion function has reported them, the lines the demo
    prints about them (their Completed events are counted with the other result events)."""
    relay = pipeline.completions
    if relay is None:
        return []  # result events off (resultEvents=false): the stack has no completion either
    longest_call = options.call_duration_max_seconds or options.call_duration_seconds
    relay.wait_until_reported(longest_call + COMPLETION_WAIT_SLACK_SECONDS)
    return completion_summary(relay.deliveries, calls=pipeline.connect.instance.placed_count)


def busy_options(options: DemoOptions) -> DemoOptions:
    """The busy scenario's defaults for whatever the caller left at the samples' defaults."""
    defaults = DemoOptions()
    low, high = BUSY_CALL_DURATION_SECONDS
    # A backlog waits for the instance as long as it takes: the deployed bound, not the samples' short one.
    deployed_bound = DeploymentSettings.model_fields["max_deferral_seconds"].default
    context = {"maxDeferralSeconds": deployed_bound, **options.context_overrides}
    return dataclasses.replace(
        options,
        scenario=BUSY_SCENARIO,
        context_overrides=context,
        requests=BUSY_REQUESTS if options.requests == defaults.requests else options.requests,
        call_duration_seconds=low
        if options.call_duration_seconds == defaults.call_duration_seconds
        else options.call_duration_seconds,
        call_duration_max_seconds=high
        if options.call_duration_max_seconds is None
        else options.call_duration_max_seconds,
        throttle_rate=0.0 if options.throttle_rate == defaults.throttle_rate else options.throttle_rate,
    )


__all__ = [
    "DemoOptions",
    "FunctionInitError",
    "busy_options",
    "demo_calling_hours",
    "demo_settings",
    "pipeline_config",
    "run_demo",
]
