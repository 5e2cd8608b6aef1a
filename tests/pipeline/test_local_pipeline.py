"""The whole local pipeline with the real function: moto, the local Connect, the event source runner, producers."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.cli import main
from local.demo import DemoOptions, demo_settings, pipeline_config
from local.function_container import FunctionInitError
from local.pipeline import LocalPipeline
from local.producers import build_requests, load_samples

# Fast but faithful: 20 calls/s over 2 concurrent invocations, so a batch of 5 takes well under the 8 s
# visibility timeout even when its flaky and unreachable records wait out botocore's backoff (at most 3 s each).
FAST = [
    "--calls-per-second", "20",
    "--batch-size", "5",
    "--max-receive-count", "2",
    "--visibility-timeout", "8",
    "--quota", "100",
    "--burst", "100",
    "--call-duration", "0.5",
    "--server-error-rate", "0",
    "--throttle-rate", "0",
    "--latency-ms", "0",
    "--max-duration", "150",
    # Long enough for the always-throttled sample to back off (1, 2, 4, 8 s) away from the requests deferred with
    # it: SQS delays are whole seconds, so while its backoff is short they come back in one batch, stopped again.
    "--context", "maxDeferralSeconds=20",
    "--no-progress",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Any:
    yield
    # Then no function container outlives the run
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_every_sample_reaches_its_outcome_through_both_producers(tmp_path: Path) -> None:
    # Given one of each of the 36 samples, half sent through SQS and half through EventBridge
    samples = load_samples()
    # When the demo runs them through the real function
    exit_code = main(["demo", "--requests", str(len(samples)), "--work-dir", str(tmp_path), *FAST])
    # Then every outcome shows up, counted from its effects, and the demo exits cleanly
    report = json.loads((tmp_path / "report.json").read_text())
    assert exit_code == 0
    assert report["complete"] is True
    assert (report["sent_via_sqs"], report["sent_via_eventbridge"]) == (18, 18)
    # 18 requests placed, two of them twice: the number that answers only the second call, and the busy line
    assert report["placed"] == 20
    assert report["suppressed"] == 3
    assert report["dead_lettered"] == {
        "AccessDeniedException": 1,
        "DestinationNotAllowedByPolicy": 2,
        "DestinationNotAllowedException": 2,
        "Expired": 1,
        "OutcomeUnknown": 1,
        "ValidationError": 6,
    }
    # And the Australian request and the weekend callback wait on the queue for their calling hours, after the run
    waiting = report["waiting"]
    assert [item["reason"] for item in waiting] == ["OutsideCallingHours", "OutsideCallingHours"]
    assert all(datetime.fromisoformat(item["until"]) > datetime.now(UTC) + timedelta(hours=1) for item in waiting)
    assert report["left_on_queue"] == 2
    # And the scheduled callback waited for its NotBefore before it was placed, and the two redials for their interval
    assert report["deferred"]["NotBefore"] >= 1
    assert report["deferred"]["Redial"] >= 2
    # And throttling was deferred, never retried: the flaky request once, the always-throttled one until its bound
    # (maxDeferralSeconds 20), then Expired; nothing spent a receive, and the 500s are never retried
    assert report["deferred"]["Throttled"] >= 2
    assert (report["retried_records"], report["redeliveries"]) == (0, 0)
    # And each outcome was announced on the result bus, read back through a rule to an SQS sink: one Placed per call,
    # one Rejected per dead-letter and per suppressed request, a Deferred per deferral (hops towards an announced time
    # are not announced again), the three opt-outs, and one Completed per call, by its outcome
    events = report["result_events"]
    assert events["Outbound Call Placed"] == report["placed"]
    assert events["Outbound Call Rejected"] == sum(report["dead_lettered"].values()) + report["suppressed"]
    assert 1 <= events["Outbound Call Deferred"] <= sum(report["deferred"].values())
    assert events["Outbound Call Opt Out"] == 3
    assert events["Outbound Call Completed"] == report["placed"]
    assert report["completed_outcomes"] == {
        "Answered": 15,
        "Busy": 2,
        "InvalidNumber": 1,
        "NoAnswer": 1,
        "Voicemail": 1,
    }
    # And the function's logs went to the work directory, not the terminal
    assert "Call placed" in (tmp_path / "function.log").read_text()
    assert "Call completed" in (tmp_path / "completion-function.log").read_text()


@pytest.mark.slow
def test_calls_beyond_the_quota_are_throttled_and_still_placed(tmp_path: Path) -> None:
    # Given a deployment configured for 20 calls/s against an instance whose quota is 2/s with a burst of 2
    options = DemoOptions(
        quota=2,
        burst=2,
        server_error_rate=0,
        throttle_rate=0,
        latency_seconds=0,
        call_duration_seconds=0.1,
        visibility_timeout_seconds=8,
        work_dir=tmp_path,
        context_overrides={"callsPerSecond": 20, "batchSize": 5, "maxReceiveCount": 10},
    )
    config = pipeline_config(options, demo_settings(options.context_overrides))
    requests = [sample for sample in load_samples() if sample.expected == "placed"][:8]
    # When they run through the pipeline
    with LocalPipeline(config) as pipeline:
        result = pipeline.run(requests, max_duration_seconds=90)
    # Then Connect throttled some attempts, and every request was still placed exactly once
    assert result.complete
    assert result.placed == 8
    assert sum(result.dead_lettered.values()) == 0
    assert result.connect.responses["ThrottlingException"] > 0
    # And no stretch of calls beat the token bucket: at most burst + rate x window calls in any window
    assert result.peak_calls_per_second <= (2 + 2 * 5) / 5


def test_a_function_that_fails_at_start_stops_the_run_with_its_reason(tmp_path: Path) -> None:
    # Given a function environment missing a required variable
    options = DemoOptions(work_dir=tmp_path)
    config = pipeline_config(options, demo_settings({}))
    config = type(config)(**{**config.__dict__, "extra_function_environment": {"DEAD_LETTER_QUEUE_URL": ""}})
    # When requests arrive
    with LocalPipeline(config) as pipeline, pytest.raises(FunctionInitError) as raised:
        pipeline.run(build_requests(load_samples(), 1), max_duration_seconds=60)
    # Then the run stops with the init error and points at the log
    assert "function.log" in str(raised.value)
