"""The local Connect's agents through an unmodified boto3 client: answered calls routed to a staffed queue wait for an
agent, talk for a handle time or hang up waiting; DescribeContact tells it, GetCurrentMetricData counts the agents
available, behind its own quota and an injected failure; the queue keeps its record."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.connect_agents import QueueStaffing
from local.connect_metrics import ANSWERED_METRICS
from tests.support.local_connect import INSTANCE_ID, call, described

QUEUE = "33333333-3333-4333-8333-333333333333"
UNSTAFFED_QUEUE = "44444444-4444-4444-8444-444444444444"
HANDLE_SECONDS = 0.4
PATIENCE_SECONDS = 0.2
# Past a whole handle time (with slack for the clocks of the test and the instance).
PAST_HANDLE_SECONDS = HANDLE_SECONDS + 0.15
SLACK_SECONDS = 0.05


def staffed(agents: int, patience_seconds: float = PATIENCE_SECONDS) -> tuple[QueueStaffing, ...]:
    return (QueueStaffing(QUEUE, agents, (HANDLE_SECONDS, HANDLE_SECONDS), patience_seconds),)


def _between(start: Any, end: Any) -> float:
    """Seconds between two of DescribeContact's timestamps (datetimes, as botocore parses them)."""
    return float((end - start).total_seconds())


def _available(client: Any, queue_id: str = QUEUE) -> int:
    """AGENTS_AVAILABLE of the queue, asked for as the function's AgentMetrics asks (connect/agents.py)."""
    answer = client.get_current_metric_data(
        InstanceId=INSTANCE_ID,
        Filters={"Queues": [queue_id], "Channels": ["VOICE"]},
        Groupings=["QUEUE"],
        CurrentMetrics=[{"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"}],
    )
    values = [
        collection["Value"]
        for result in answer["MetricResults"]
        for collection in result["Collections"]
        if collection["Metric"]["Name"] == "AGENTS_AVAILABLE"
    ]
    return int(values[0]) if values else 0


def test_a_call_connects_to_a_free_agent_at_once_and_ends_after_its_handle_time(serve: Any) -> None:
    # Given a queue with one agent
    endpoint, client = serve(agent_queues=staffed(1))
    # When a call routed to it is answered
    placed = call(client, QueueId=QUEUE)
    # Then it is connected to the agent at once, who is no longer available
    during = described(client, placed)
    assert during["QueueInfo"]["Id"] == QUEUE
    assert _between(during["InitiationTimestamp"], during["AgentInfo"]["ConnectedToAgentTimestamp"]) < SLACK_SECONDS
    assert "DisconnectTimestamp" not in during
    assert _available(client) == 0
    # And once the handle time is over, the call has ended and the agent is available again
    time.sleep(PAST_HANDLE_SECONDS)
    ended = described(client, placed)
    assert ended["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    assert _between(ended["AgentInfo"]["ConnectedToAgentTimestamp"], ended["DisconnectTimestamp"]) == pytest.approx(
        HANDLE_SECONDS, abs=SLACK_SECONDS
    )
    assert _available(client) == 1
    record = endpoint.instance.queue_records()[QUEUE]
    assert (record.connected, record.abandoned) == (1, 0)
    assert record.busy_seconds == pytest.approx(HANDLE_SECONDS)


def test_a_callee_waits_for_the_agent_that_frees_within_their_patience(serve: Any) -> None:
    # Given a queue with one agent, and callees who wait longer than a handle time
    endpoint, client = serve(agent_queues=staffed(1, patience_seconds=HANDLE_SECONDS * 2))
    # When two calls are answered at once
    first, second = call(client, QueueId=QUEUE), call(client, QueueId=QUEUE)
    # Then the second waits in the queue (QueueInfo, no agent yet), holding its slot of the instance
    waiting = described(client, second)
    assert waiting["QueueInfo"]["Id"] == QUEUE
    assert "AgentInfo" not in waiting
    assert endpoint.instance.active_calls() == 2
    # And it connects as the first call ends, and talks for a whole handle time
    time.sleep(2 * HANDLE_SECONDS + 0.15)
    first_call, second_call = described(client, first), described(client, second)
    connected = second_call["AgentInfo"]["ConnectedToAgentTimestamp"]
    assert abs(_between(first_call["DisconnectTimestamp"], connected)) < SLACK_SECONDS
    assert _between(connected, second_call["DisconnectTimestamp"]) == pytest.approx(HANDLE_SECONDS, abs=SLACK_SECONDS)
    assert endpoint.instance.queue_records()[QUEUE].connected == 2


def test_a_callee_kept_waiting_past_their_patience_hangs_up_abandoned(serve: Any) -> None:
    # Given a queue with one agent, and callees who wait less than a handle time
    endpoint, client = serve(agent_queues=staffed(1))
    # When two calls are answered at once
    call(client, QueueId=QUEUE)
    abandoned = call(client, QueueId=QUEUE)
    # Then the second hangs up after its patience: answered, never connected to an agent
    time.sleep(PATIENCE_SECONDS + 0.1)
    contact = described(client, abandoned)
    assert contact["ConnectedToSystemTimestamp"] is not None
    assert "AgentInfo" not in contact
    assert contact["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    assert _between(contact["InitiationTimestamp"], contact["DisconnectTimestamp"]) == pytest.approx(
        PATIENCE_SECONDS, abs=SLACK_SECONDS
    )
    # And the queue counts it abandoned, its agent busy only with the first
    record = endpoint.instance.queue_records()[QUEUE]
    assert (record.connected, record.abandoned) == (1, 1)
    assert record.busy_seconds == pytest.approx(HANDLE_SECONDS)


def test_a_queue_with_no_agent_online_abandons_every_answered_call(serve: Any) -> None:
    # Given a queue whose agents are all offline
    endpoint, client = serve(agent_queues=staffed(0))
    # When a call routed to it is answered
    call(client, QueueId=QUEUE)
    # Then nobody is available, and the callee hangs up
    assert _available(client) == 0
    assert endpoint.instance.queue_records()[QUEUE].abandoned == 1


def test_calls_to_other_queues_or_to_none_behave_as_without_agents(serve: Any) -> None:
    # Given a staffed queue with one agent, and calls of a fixed length
    endpoint, client = serve(agent_queues=staffed(1), call_duration_seconds=HANDLE_SECONDS)
    # When calls go to an unstaffed queue and to no queue
    to_other, to_none = call(client, QueueId=UNSTAFFED_QUEUE), call(client)
    # Then neither waits for an agent, nor takes one
    assert "QueueInfo" not in described(client, to_other)
    assert "AgentInfo" not in described(client, to_none)
    assert _available(client) == 1
    assert _available(client, UNSTAFFED_QUEUE) == 0
    assert endpoint.instance.queue_records()[QUEUE].connected == 0


def test_current_metric_data_has_the_shape_botocore_parses_and_counts_agents(serve: Any) -> None:
    # Given a queue with three agents, one of them on a contact
    _, client = serve(agent_queues=staffed(3))
    call(client, QueueId=QUEUE)
    # When the agent metrics are asked for, grouped by queue
    answer = client.get_current_metric_data(
        InstanceId=INSTANCE_ID,
        Filters={"Queues": [QUEUE], "Channels": ["VOICE"]},
        Groupings=["QUEUE"],
        CurrentMetrics=[
            {"Name": "AGENTS_ONLINE", "Unit": "COUNT"},
            {"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"},
            {"Name": "AGENTS_ON_CONTACT", "Unit": "COUNT"},
        ],
    )
    # Then one result for the queue holds each metric, and the snapshot's time is a datetime
    (result,) = answer["MetricResults"]
    assert result["Dimensions"]["Queue"]["Id"] == QUEUE
    values = {collection["Metric"]["Name"]: collection["Value"] for collection in result["Collections"]}
    assert values == {"AGENTS_ONLINE": 3.0, "AGENTS_AVAILABLE": 2.0, "AGENTS_ON_CONTACT": 1.0}
    assert answer["DataSnapshotTime"].year >= 2024


def test_current_metric_data_has_its_own_quota(serve: Any) -> None:
    # Given the metrics quota of a new instance (5 per second, burst 8), and no call quota to speak of
    endpoint, client = serve(agent_queues=staffed(1), metrics_per_second=0.01, metrics_burst=8)
    # When ten reads come at once
    answers = []
    for _ in range(10):
        try:
            _available(client)
            answers.append("ok")
        except ClientError as error:
            response = error.response
            answers.append(f"{response['Error']['Code']} {response['ResponseMetadata']['HTTPStatusCode']}")
    # Then the burst is answered and the rest throttled, while calls are still placed
    assert answers == ["ok"] * 8 + ["ThrottlingException 429"] * 2
    assert call(client, QueueId=QUEUE)["ContactId"]
    assert endpoint.instance.metrics_answers() == {ANSWERED_METRICS: 8, "ThrottlingException": 2}


def test_current_metric_data_fails_when_told_to(serve: Any) -> None:
    # Given a local Connect whose metrics always fail
    _, client = serve(agent_queues=staffed(1), metrics_failure_rate=1.0)
    # When the agents are read
    with pytest.raises(ClientError) as raised:
        _available(client)
    # Then the answer is a 500 InternalServiceException
    assert raised.value.response["Error"]["Code"] == "InternalServiceException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
