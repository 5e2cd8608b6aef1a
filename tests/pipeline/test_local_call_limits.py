"""The caller-ID limit through the whole local pipeline: calls beyond it wait for the window, then ring."""

from __future__ import annotations

import dataclasses
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from local.demo import DemoOptions, demo_settings, pipeline_config
from local.pipeline import LocalPipeline
from local.producers import PLACED, Sample

# The demo's extra caller ID, allowed by its settings; four calls from it, to four numbers.
CALLER_ID = "+15555550199"
REQUESTS = [
    Sample(f"call {n}", PLACED, {"DestinationPhoneNumber": f"+1202555012{n}", "SourcePhoneNumber": CALLER_ID})
    for n in range(4)
]
# Two calls per caller ID in any 6 s: the last two wait for the first two to leave the window.
SOURCE_CALL_LIMIT = "2/6s"
WINDOW_SECONDS = 6
# A call is counted just before Connect is asked and recorded when Connect answers: the two clocks differ by a request.
CLOCK_SLACK_SECONDS = 0.5
FAST = DemoOptions(
    quota=100,
    burst=100,
    call_duration_seconds=0.5,
    server_error_rate=0,
    throttle_rate=0,
    latency_seconds=0,
    visibility_timeout_seconds=8,
    # DeploymentSettings has no sourceCallLimit yet, and creates the calls table only for destinationCallLimit: a
    # destination limit no call here reaches gets the table, the function's own variable the caller-ID limit.
    context_overrides={"callsPerSecond": 20, "batchSize": 5, "destinationCallLimit": "100/1h"},
)


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Any:
    yield
    # Then no function container outlives the run
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_calls_beyond_the_caller_id_limit_are_deferred_until_the_window_allows_then_placed(tmp_path: Path) -> None:
    # Given a deployment whose caller IDs may make two calls in any 6 s, and four requests from one caller ID
    config = pipeline_config(dataclasses.replace(FAST, work_dir=tmp_path), demo_settings(FAST.context_overrides))
    config = dataclasses.replace(config, extra_function_environment={"SOURCE_CALL_LIMIT": SOURCE_CALL_LIMIT})
    # When they run through the pipeline
    with LocalPipeline(config) as pipeline:
        result = pipeline.run(REQUESTS, max_duration_seconds=60)
        placed_at = sorted(call.placed_at for call in pipeline.connect.instance.placed_calls)
    # Then every one was placed, none dead-lettered, the last two deferred for the caller ID's limit, not refused
    assert result.matches_expected, result.observed
    assert result.deferred["SourceCallLimit"] >= 2
    assert result.dead_letters == []
    # And no 6 s held more than two of its calls
    gaps = [later - earlier for earlier, later in zip(placed_at, placed_at[2:], strict=False)]
    assert len(gaps) == 2
    assert min(gaps) >= WINDOW_SECONDS - CLOCK_SLACK_SECONDS
