"""The local pipeline's measurement mode: the whole load queued before the event source polls (make bench)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.connect_behaviour import ConnectBehaviour
from local.demo import demo_settings
from local.pipeline import LocalPipeline
from local.pipeline_config import PipelineConfig
from local.producers import PLACED, Sample
from tests.support.stub_function import STUB_CODE_ROOT, STUB_HANDLER

REQUESTS = 20


@pytest.mark.slow
def test_every_request_is_queued_before_the_first_receive_and_the_clock_starts_with_polling(tmp_path: Path) -> None:
    # Given a pipeline that queues the load before its event source polls, running the stub function
    events_path = tmp_path / "events.jsonl"
    settings = demo_settings({})
    config = PipelineConfig(
        settings=settings,
        connect=ConnectBehaviour(),
        work_dir=tmp_path,
        handler=STUB_HANDLER,
        code_root=STUB_CODE_ROOT,
        extra_function_environment={"STUB_EVENTS_PATH": str(events_path)},
        queue_before_polling=True,
    )
    requests = [Sample(f"ok-{index}", PLACED, raw_body=json.dumps({"do": "ok"})) for index in range(REQUESTS)]
    # When the load runs
    with LocalPipeline(config) as pipeline:
        assert pipeline.event_source is not None
        assert pipeline.event_source.started_at is None
        result = pipeline.run(requests, max_duration_seconds=60)
        started_at = pipeline.event_source.started_at
    # Then every request was on the queue before the pollers started, so every batch was full
    invocations = [json.loads(line) for line in events_path.read_text().splitlines()]
    sent_ms = [int(record["attributes"]["SentTimestamp"]) for i in invocations for record in i["event"]["Records"]]
    assert started_at is not None
    assert len(sent_ms) == REQUESTS
    assert max(sent_ms) <= started_at * 1000
    assert [len(invocation["event"]["Records"]) for invocation in invocations] == [settings.batch_size] * (
        REQUESTS // settings.batch_size
    )
    # And the run settled
    assert result.complete
    assert result.left_on_queue == 0
