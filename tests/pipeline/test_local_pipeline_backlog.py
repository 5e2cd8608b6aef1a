"""How the local pipeline sends a long load: the backlog it keeps for the pollers, and the progress it reports.

How the progress is shown is tested in test_local_progress_bars.py.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from local.connect_behaviour import ConnectBehaviour
from local.demo import demo_settings
from local.pipeline import LocalPipeline
from local.pipeline_config import PipelineConfig
from local.producers import PLACED, Sample
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
