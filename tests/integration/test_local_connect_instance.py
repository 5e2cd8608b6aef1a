"""The local Connect instance's record of a run, through an unmodified boto3 client: contacts, timeline, latency."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.connect_rules import PLACED
from tests.support.local_connect import (
    CLOCK_SLACK_SECONDS,
    call,
    error_of,
)


def test_a_request_without_attributes_records_none(serve: Any) -> None:
    # Given a local Connect
    endpoint, client = serve()
    # When a request carries no Attributes
    call(client)
    # Then its contact records an empty mapping
    assert endpoint.instance.placed_calls[0].attributes == {}


def test_the_timeline_records_every_answer_in_order_with_the_calls_in_progress(serve: Any) -> None:
    # Given an instance with 1 concurrent call of 0.5 s and a burst of 2
    endpoint, client = serve(calls_per_second=1.0, burst=2, max_concurrent_calls=1, call_duration_seconds=0.5)
    before = time.time()
    # When a call is placed, a second meets the busy instance, and a third the empty bucket
    call(client)
    error_of(client)
    error_of(client)
    # Then the timeline holds the three answers in order, with the calls then in progress
    timeline = endpoint.instance.timeline()
    assert [(answer.outcome, answer.active_calls) for answer in timeline] == [
        (PLACED, 1),
        ("LimitExceededException", 1),
        ("ThrottlingException", 1),
    ]
    # And the placed call's end, on the same clock as its answer
    placed = timeline[0]
    assert before <= placed.at <= timeline[1].at <= timeline[2].at
    assert placed.call_ends_at == pytest.approx(placed.at + 0.5, abs=CLOCK_SLACK_SECONDS)
    assert timeline[1].call_ends_at is None


def test_latency_delays_every_answer(serve: Any) -> None:
    # Given an instance answering after 200 ms
    _, client = serve(latency_seconds=0.2)
    # When a call is placed
    started = time.monotonic()
    call(client)
    # Then the answer took at least that long
    assert time.monotonic() - started >= 0.2
