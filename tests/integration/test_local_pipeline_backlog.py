"""How the local pipeline sends a long load: the backlog it keeps for the pollers, and the progress it reports."""

from __future__ import annotations

import io
import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from local.connect_behaviour import ConnectBehaviour
from local.connect_instance import ConnectStats
from local.demo import demo_settings
from local.event_source_stats import EventSourceStats
from local.pipeline import LocalPipeline
from local.pipeline_config import PipelineConfig
from local.producers import PLACED, Sample
from local.report import SettlingDisplay
from local.run_progress import Progress
from tests.support.stub_function import STUB_CODE_ROOT, STUB_HANDLER

# The demo's 2 pollers take 5 records each: a backlog of 5 is less than they hold in flight.
REQUESTS, BACKLOG_LIMIT = 20, 5
# Each record keeps its invocation busy this long, so a batch of 5 runs for 2.5 s: far longer than a look.
RECORD_SECONDS = 0.5
POLL_SECONDS = 0.25


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Any:
    yield
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_messages_in_flight_do_not_hold_the_producer_back_and_progress_counts_settled_requests(
    tmp_path: Path,
) -> None:
    # Given a pipeline whose function keeps every batch busy for seconds, and a producer keeping a backlog of 5
    events_path = tmp_path / "events.jsonl"
    config = PipelineConfig(
        settings=demo_settings({}),
        connect=ConnectBehaviour(),
        work_dir=tmp_path,
        handler=STUB_HANDLER,
        code_root=STUB_CODE_ROOT,
        extra_function_environment={"STUB_EVENTS_PATH": str(events_path)},
    )
    body = json.dumps({"do": "sleep", "seconds": RECORD_SECONDS})
    requests = [Sample(f"slow-{index}", PLACED, raw_body=body) for index in range(REQUESTS)]
    snapshots: list[Progress] = []
    # When the load runs
    with LocalPipeline(config) as pipeline:
        result = pipeline.run(
            requests,
            max_duration_seconds=60,
            on_progress=snapshots.append,
            backlog_limit=BACKLOG_LIMIT,
            poll_seconds=POLL_SECONDS,
        )
    invocations = [json.loads(line) for line in events_path.read_text().splitlines()]
    records = [record for invocation in invocations for record in invocation["event"]["Records"]]
    sent_at = [int(record["attributes"]["SentTimestamp"]) / 1000 for record in records]
    first_ended = min(invocation["started_at"] for invocation in invocations) + 5 * RECORD_SECONDS
    # Then the whole load was sent while the first batches were still running: only waiting messages count
    assert result.complete
    assert max(sent_at) < first_ended
    # And progress counted requests settled as they left the queue, up to all of them, never more
    settled = [snapshot.settled_requests for snapshot in snapshots]
    assert all(0 <= count <= REQUESTS for count in settled)
    assert any(0 < count < REQUESTS for count in settled)
    assert settled[-1] == REQUESTS


def _snapshot(sent: int, on_queue: int, total: int) -> Progress:
    queue = {"visible": on_queue - 80, "in_flight": 80, "delayed": 0}
    return Progress(0.0, total, sent, 0, queue, EventSourceStats(in_flight=8), ConnectStats(), 0, sent=sent)


def test_the_bar_shows_requests_settled_out_of_all_and_the_time_left() -> None:
    # Given a long run's progress bar
    output = io.StringIO()
    with SettlingDisplay(Console(file=output, width=200), 1_000) as display:
        # When snapshots come as requests settle: 200 sent, 180 on the queue; later 700 sent, 182 on the queue
        display.update(_snapshot(sent=200, on_queue=180, total=1_000))
        time.sleep(0.2)
        display.update(_snapshot(sent=700, on_queue=182, total=1_000))
    # Then it shows the settled requests out of all, the elapsed time, an estimate of the time left and the queue
    shown = output.getvalue()
    assert "518/1000" in shown
    assert "left 0:00:0" in shown
    assert "in flight 80" in shown
