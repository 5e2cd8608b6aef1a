"""The benchmark's arithmetic, without a run: the ideal drain times, the series it draws, the shares it reports, the
agents load's abandonment and occupancy, and the cost line counted at local AWS."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from bench.agent_figures import AgentFigures, abandoned_share, occupancy
from bench.costs import CostLine
from bench.figures import LoadFigures, capacity_ideal_seconds, quota_ideal_seconds, targets
from bench.scenarios import AGENTS, BUSY, QUOTA
from bench.series import per_second
from local.aws_requests import (
    COUNTS_PATH,
    DYNAMODB_READS,
    DYNAMODB_WRITES,
    CountingApplication,
    dynamodb_requests,
    sqs_requests,
)
from local.connect_rules import PLACED
from local.connect_timeline import Answer

START = 1_000.0
DRAINED = LoadFigures(
    requests=500,
    requests_placed=500,
    calls_placed=500,
    requests_rung_twice=0,
    dead_lettered={},
    left_on_queue=0,
    complete=True,
    drain_seconds=50.0,
    ideal_seconds=49.5,
    answers={PLACED: 500, "ThrottlingException": 4, "TooManyRequestsException": 1, "LimitExceededException": 5},
    connect_requests=510,
    run_seconds=52.0,
    invocations=50,
    cold_starts=2,
    max_calls_in_progress=10,
)


def test_the_quota_ideal_places_the_burst_at_once_and_the_rest_at_the_rate() -> None:
    # Given the quota load: 500 requests at 10/s with a burst of 5
    # When / Then the last call is placed at 49.5 s at best
    assert quota_ideal_seconds(500, 10.0, 5) == 49.5
    # And a load within the burst is placed at once
    assert quota_ideal_seconds(3, 10.0, 5) == 0.0


def test_the_capacity_ideal_keeps_every_line_busy_until_the_last_call_ends() -> None:
    # Given 300 calls of 4 s on an instance of 10 concurrent calls
    # When / Then the last one ends at 120 s at best
    assert capacity_ideal_seconds([4.0] * 300, 10) == 120.0


def test_per_second_series_bin_the_answers_by_kind_and_count_the_calls_in_progress() -> None:
    # Given two calls placed in the first second (1.5 s and 0.2 s long), then two throttles and a full instance
    timeline = [
        Answer(START + 0.1, PLACED, 1, START + 1.6),
        Answer(START + 0.5, PLACED, 2, START + 0.7),
        Answer(START + 1.2, "ThrottlingException", 1),
        Answer(START + 1.3, "TooManyRequestsException", 1),
        Answer(START + 1.4, "LimitExceededException", 1),
        Answer(START + 7.0, PLACED, 1, START + 8.0),  # after the window
    ]
    # When they are binned over 3 s
    series = per_second(timeline, START, 3.0)
    # Then each second counts its own answers, and calls in progress are those started and not yet ended
    assert series.seconds == [0.0, 1.0, 2.0]
    assert series.placed == [2, 0, 0]
    assert series.throttled == [0, 2, 0]
    assert series.limit_exceeded == [0, 1, 0]
    assert series.calls_in_progress == [0, 1, 0]


def test_shares_count_the_quota_and_the_full_instance_apart() -> None:
    # Given a drained load's answers
    # When / Then throttles (both codes) and LimitExceeded are separate shares of all answers
    assert DRAINED.throttled_share == pytest.approx(5 / 510)
    assert DRAINED.limit_exceeded_share == pytest.approx(5 / 510)
    assert DRAINED.requests_per_placed_call == pytest.approx(510 / 500)
    assert DRAINED.ideal_over_actual == pytest.approx(0.99)


def test_a_load_not_drained_within_its_cap_has_no_ratio_and_misses_the_busy_targets() -> None:
    # Given a load still queued at the cap, with nothing dead-lettered yet
    capped = replace(DRAINED, complete=False, drain_seconds=None, left_on_queue=40)
    # When / Then it has no ideal/actual, and "0 dead-lettered" is not met by requests still waiting
    assert capped.ideal_over_actual is None
    assert {target.figure: target.met for target in targets(BUSY, capped)} == {
        "ideal_over_actual": False,
        "requests_per_placed_call": True,
        "hops_per_request": True,
        "dead_lettered_total": False,
        "requests_rung_twice": True,
    }


def test_the_busy_targets_count_hops_per_request_and_requests_rung_twice() -> None:
    # Given a drained busy load at 0.99 of the ideal, 1.02 Connect requests per call, 3 hops per request on average
    drained = replace(DRAINED, deferrals=1500)
    # When / Then it meets every busy target; 3.2 hops, or one request rung twice, miss theirs
    assert all(target.met for target in targets(BUSY, drained))
    assert drained.hops_per_request == 3.0
    worse = replace(drained, deferrals=1600, requests_rung_twice=1)
    assert {target.figure for target in targets(BUSY, worse) if not target.met} == {
        "hops_per_request",
        "requests_rung_twice",
    }


def test_the_quota_targets_hold_at_97_percent_of_the_ideal_and_1_percent_throttled() -> None:
    # Given ours at 0.99 of the ideal with under 1% throttled, and then slower
    slower = replace(DRAINED, drain_seconds=52.0)
    # When / Then the first meets both quota targets and the second misses the drain one
    assert all(target.met for target in targets(QUOTA, DRAINED))
    assert {target.figure: target.met for target in targets(QUOTA, slower)} == {
        "ideal_over_actual": False,
        "throttled_share": True,
    }


def test_abandonment_counts_answered_calls_that_no_agent_took() -> None:
    # Given 194 calls connected to an agent and 6 whose callees hung up waiting
    # When / Then 3% were abandoned; and a queue nobody entered abandoned none
    assert abandoned_share(6, 194) == pytest.approx(0.03)
    assert abandoned_share(0, 0) == 0.0


def test_occupancy_is_busy_time_over_the_agents_staffed_span() -> None:
    # Given 5 agents staffed for 300 s who spent 1,200 s on contacts
    # When / Then they were 80% busy; no staffed time has no occupancy
    assert occupancy(1200.0, 5, 300.0) == pytest.approx(0.8)
    assert occupancy(0.0, 5, 0.0) is None


def test_the_agents_targets_hold_at_3_percent_abandoned_and_80_percent_busy() -> None:
    # Given ours with 6 of 200 abandoned and agents 81% busy, and then with 7 abandoned and 79% busy
    good = AgentFigures(
        agents=5, connected=194, abandoned=6, busy_seconds=1215.0, staffed_seconds=300.0, longest_queue_wait_seconds=0.1
    )
    worse = replace(good, connected=193, abandoned=7, busy_seconds=1185.0)
    # When / Then the first meets both agents targets, the second misses both
    verdicts = {target.figure: target.met for target in targets(AGENTS, replace(DRAINED, agents=good))}
    assert verdicts == {"abandoned_share": True, "occupancy": True, "requests_rung_twice": True}
    assert {target.figure: target.met for target in targets(AGENTS, replace(DRAINED, agents=worse))} == {
        "abandoned_share": False,
        "occupancy": False,
        "requests_rung_twice": True,
    }
    # And a load without agents' figures misses them
    assert not any(target.met for target in targets(AGENTS, DRAINED) if target.figure != "requests_rung_twice")


def test_the_cost_line_counts_the_deployments_requests_per_placed_call() -> None:
    # Given the requests local AWS served during a run, the harness's result queue among them
    counts = Counter(
        {
            "AmazonSQS.ReceiveMessage requests": 40,
            "AmazonSQS.SendMessage requests": 150,
            "AmazonSQS.SendMessage waiting-room.fifo": 10,
            "AmazonSQS.ReceiveMessage results": 99,
            "DynamoDB_20120810.GetItem": 300,
            "DynamoDB_20120810.UpdateItem": 500,
            "DynamoDB_20120810.DescribeTable": 2,
        }
    )
    # When they are summed as the cost line sums them
    sqs = sqs_requests(counts, ("requests", "waiting-room.fifo"))
    line = CostLine(
        calls_placed=100,
        sqs_requests=sqs,
        caller_invocations=30,
        completion_invocations=110,
        dynamodb_reads=dynamodb_requests(counts, DYNAMODB_READS),
        dynamodb_writes=dynamodb_requests(counts, DYNAMODB_WRITES),
        metrics_requests=0,
    )
    # Then only the deployment's queues count, and reads and writes are apart, each per placed call
    assert line.to_json()["per_placed_call"] == {
        "sqs_requests": 2.0,
        "lambda_invocations": 1.4,
        "caller_invocations": 0.3,
        "completion_invocations": 1.1,
        "dynamodb_reads": 3.0,
        "dynamodb_writes": 5.0,
        "get_current_metric_data": 0.0,
    }


def test_local_aws_counts_each_request_by_operation_and_queue_and_passes_it_on_untouched() -> None:
    # Given an application behind the counter, which echoes the body it receives
    seen: list[bytes] = []

    def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    counting = CountingApplication(echo)
    body = json.dumps({"QueueUrl": "http://localhost/123456789012/requests"}).encode()
    # When an SQS send and a DynamoDB read pass through it, then the counts are asked for
    for target, payload in (("AmazonSQS.SendMessage", body), ("DynamoDB_20120810.GetItem", b"{}")):
        counting(_environ("POST", "/", payload, target), lambda *args: None)
    answer = b"".join(counting(_environ("GET", COUNTS_PATH, b""), lambda *args: None))
    # Then each was counted by operation (the send by queue), and the application got the body unchanged
    assert json.loads(answer) == {"AmazonSQS.SendMessage requests": 1, "DynamoDB_20120810.GetItem": 1}
    assert seen == [body, b"{}"]


def _environ(method: str, path: str, body: bytes, target: str | None = None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if target is not None:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ
