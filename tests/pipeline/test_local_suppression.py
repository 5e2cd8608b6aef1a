"""The suppression list through the whole local pipeline: numbers opted out through each of the opt-out function's
doors are never called, and each request to them ends suppressed, with no dead-letter and its Rejected event; the
intake bus's opt-out events retried as Lambda retries an asynchronous invocation."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.demo import DemoOptions, demo_settings, pipeline_config
from local.demo_opt_outs import DemoOptOuts
from local.intake import create_intake
from local.moto_servers import LocalAws
from local.optout_events import ASYNC_ATTEMPTS, OptOutEventDelivery
from local.optout_function import LocalOptOutFunction, opt_out_environment
from local.pipeline import LocalPipeline
from local.producers import PLACED, SUPPRESSED, Sample
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.names import OPT_OUT_EVENT

# The demo's doors, with numbers of their own: one opted out by a producer's event, one by an operator, one callee who
# presses 9 in a call placed at once and whose later request waits a few seconds after it.
BY_EVENT, BY_OPERATOR, CALLEE, FREE = "+12025550140", "+442079460003", "+12025550141", "+12025550101"
LATER = 15.0  # seconds after the samples load: the callee's call is placed and opted out well before
SAMPLES = [
    Sample("callee who presses 9", PLACED, {"DestinationPhoneNumber": CALLEE}, opt_out="contact-flow"),
    Sample("opted out by an event", SUPPRESSED, {"DestinationPhoneNumber": BY_EVENT}, opt_out="event"),
    Sample("opted out by an event, again", SUPPRESSED, {"DestinationPhoneNumber": BY_EVENT}, opt_out="event"),
    Sample("listed by an operator", SUPPRESSED, {"DestinationPhoneNumber": BY_OPERATOR}, opt_out="operator"),
    Sample("free to call", PLACED, {"DestinationPhoneNumber": FREE}),
    Sample("later request to the callee", SUPPRESSED, {"DestinationPhoneNumber": CALLEE}),
]
FAST = DemoOptions(
    quota=100,
    burst=100,
    call_duration_seconds=2.0,
    server_error_rate=0,
    throttle_rate=0,
    latency_seconds=0,
    visibility_timeout_seconds=8,
    context_overrides={"callsPerSecond": 20, "batchSize": 5},
)


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Any:
    yield
    # Then no function container outlives the run
    assert multiprocessing.active_children() == []


def _timed(samples: list[Sample], seconds: float) -> list[Sample]:
    """The samples, the last one's NotBefore ``seconds`` from now (ExpiresAt an hour ahead)."""
    *first, last = samples
    assert last.request is not None
    now = time.time()
    times = {"NotBefore": _iso(now + seconds), "ExpiresAt": _iso(now + 3600)}
    return [*first, Sample(last.description, last.expected, {**last.request, **times})]


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@pytest.mark.slow
def test_numbers_opted_out_through_each_door_are_never_called(tmp_path: Path) -> None:
    # Given the pipeline with its suppression list, and requests to numbers opted out through each door
    settings = demo_settings(FAST.context_overrides)
    config = pipeline_config(dataclasses.replace(FAST, work_dir=tmp_path), settings)
    requests = _timed(SAMPLES, LATER)
    # When the producer's event and the operator's command list theirs before the run, the callee presses 9 in the
    # call, and the requests run
    with LocalPipeline(config) as pipeline:
        with DemoOptOuts(pipeline, requests, settings) as opt_outs:
            result = pipeline.run(requests, max_duration_seconds=90)
        opt_outs.check()
        calls = [call.destination for call in pipeline.connect.instance.placed_calls]
        assert pipeline.opt_out is not None
        invocations = Counter(invocation.door for invocation in pipeline.opt_out.invocations)
        seen = pipeline.result_events
    # Then every request reached its outcome: the callee and the free number were called once each, the others never
    assert result.matches_expected, result.observed
    assert (result.suppressed, result.placed, result.dead_letters) == (4, 2, [])
    assert sorted(calls) == sorted([CALLEE, FREE])
    # And each suppressed request was announced as Rejected with DestinationSuppressed, each change as an Opt Out by
    # its door
    assert seen is not None
    assert seen.by_kind[("Outbound Call Rejected", "DestinationSuppressed")] == 4
    assert {kind: count for (detail_type, kind), count in seen.by_kind.items() if detail_type == OPT_OUT_EVENT} == {
        "event": 1,
        "operator": 1,
        "contact-flow": 1,
    }
    # And the function was invoked through each door: the rule's delivery, the flow, and Lambda's Invoke (the command
    # line's add and check)
    assert invocations == {"event": 1, "contact-flow": 1, "invoke-api": 2}
    assert any('{"OptedOut": "true"}' in line for line in opt_outs.lines)
    assert "+*******0141 listed" in opt_outs.lines[-1]


@pytest.mark.slow
def test_an_opt_out_event_the_function_fails_on_is_tried_three_times_then_dropped(tmp_path: Path) -> None:
    # Given the opt-out function announcing on a bus that does not exist, so that each event's change is made but not
    # announced, and the function fails the invocation for Lambda to try again
    settings = demo_settings({})
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        intake = create_intake(settings, visibility_timeout_seconds=30)
        assert intake.suppression is not None
        function = LocalOptOutFunction(opt_out_environment(intake.suppression, "no-such-bus"), tmp_path)
        try:
            with OptOutEventDelivery(intake.suppression.opt_out_invocations_queue_url, function) as deliveries:
                # When a producer's Opt Out event reaches it through the rule
                boto3.client("events").put_events(
                    Entries=[
                        {
                            "EventBusName": intake.event_bus_name,
                            "Source": "example.crm",
                            "DetailType": OPT_OUT_EVENT,
                            "Detail": json.dumps({"PhoneNumber": BY_EVENT}),
                        }
                    ]
                )
                assert deliveries.wait_until_handled(1, timeout_seconds=60)
                left = boto3.client("sqs").get_queue_attributes(
                    QueueUrl=intake.suppression.opt_out_invocations_queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
        finally:
            function.stop()
    # Then it was tried as Lambda tries an asynchronous invocation, three times in all, each failing, then dropped
    assert deliveries.deliveries.handled == 0
    assert (deliveries.deliveries.failed_attempts, deliveries.deliveries.dropped) == (ASYNC_ATTEMPTS, 1)
    assert [invocation.result.outcome for invocation in function.invocations] == ["function_error"] * ASYNC_ATTEMPTS
    assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
