"""The result sink read as a run goes: every result event counted once, and the sink queue kept short."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from local.demo import demo_settings
from local.moto_servers import LocalAws
from local.queue_reading import queue_depth
from local.results import ResultSink, ResultSinkReader, create_result_sink
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.names import RESULT_SOURCE

# More than one receive's worth, so that a drain has to read the sink several times.
FIRST_EVENTS, LATER_EVENTS = 23, 4


def _publish(sink: ResultSink, detail_type: str, count: int, error_code: str | None = None) -> None:
    events = boto3.client("events")
    for index in range(count):
        detail = {"n": index, **({"ErrorCode": error_code} if error_code else {})}
        events.put_events(
            Entries=[
                {
                    "Source": RESULT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": sink.bus_name,
                }
            ]
        )


def test_each_event_is_counted_once_and_leaves_the_sink(tmp_path: Path) -> None:
    # Given the result bus with its rule forwarding to the sink queue, and events the function published
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        sink = create_result_sink(demo_settings({}))
        assert sink is not None
        reader = ResultSinkReader(sink)
        _publish(sink, "Outbound Call Placed", FIRST_EVENTS)
        # When the run reads the sink, then more events come, and it reads it again
        first = reader.drain().by_detail_type.copy()
        left_after_first = queue_depth(boto3.client("sqs"), sink.queue_url)
        _publish(sink, "Outbound Call Failed", LATER_EVENTS, error_code="OutcomeUnknown")
        seen = reader.drain()
        left = queue_depth(boto3.client("sqs"), sink.queue_url)
    # Then each look counted what had arrived, and nothing twice
    assert first == {"Outbound Call Placed": FIRST_EVENTS}
    assert seen.by_detail_type == {"Outbound Call Placed": FIRST_EVENTS, "Outbound Call Failed": LATER_EVENTS}
    assert seen.by_kind[("Outbound Call Failed", "OutcomeUnknown")] == LATER_EVENTS
    # And every event read left the sink queue: it never holds more than what came since the last look
    assert left_after_first == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert left == {"visible": 0, "in_flight": 0, "delayed": 0}
