"""Agent pacing end to end: calls routed to a queue are placed only while it has an available agent nobody else's call
counts on. moto DynamoDB keeps the queue's item; Connect's GetCurrentMetricData and StartOutboundVoiceContact answer
behind the real botocore client; the completion ends a call's claim when its contact connects to an agent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from local.intake import expiring_table_definition
from tests.integration.conftest import FunctionUnderTest
from tests.support.agent_metrics_stub import AgentMetricsStub
from tests.support.clock import WallClock
from tests.support.completion_handler import completion_handler
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.contact_events import ANSWERED, CONNECTED_TO_AGENT, contact_event
from tests.support.environment import FUNCTION_ENVIRONMENT, IDEMPOTENCY_TABLE, QUEUE_ID
from tests.support.lambda_events import sqs_record

TTL_SECONDS = 5
RESULT_BUS = "outbound-call-results"


@pytest.fixture
def clock() -> WallClock:
    """Both functions' clock: a TTL never ends by itself."""
    return WallClock()


@pytest.fixture
def agents(function: FunctionUnderTest, clock: WallClock) -> AgentMetricsStub:
    """The queue's available agents as Connect reports them, and the caller pacing its calls to them."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE)
    dynamodb.create_table(**expiring_table_definition(IDEMPOTENCY_TABLE, contact_id_index=True))
    function.rebuild(clock=clock)
    function.configure(AGENT_PACING="true", AGENT_METRICS_TTL_SECONDS=str(TTL_SECONDS))
    stub = AgentMetricsStub(available={QUEUE_ID: 2})
    stub.install(function.clients.agent_metrics)
    return stub


@pytest.fixture
def complete(agents: AgentMetricsStub, clock: WallClock, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The completion handler, agent pacing on, on the same clock."""
    boto3.client("events").create_event_bus(Name=RESULT_BUS)
    environment = {**FUNCTION_ENVIRONMENT, "RESULT_EVENT_BUS_NAME": RESULT_BUS, "AGENT_PACING": "true"}
    return completion_handler(environment, clock, monkeypatch)


def to_queue(number: str, **members: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": number, "QueueId": QUEUE_ID, **members})


def numbers(count: int) -> list[str]:
    return [f"+1415555{index:04d}" for index in range(101, 101 + count)]


def test_calls_to_a_queue_are_placed_only_while_an_agent_is_free_for_each(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, deferred: Any, clock: WallClock
) -> None:
    # Given a queue with 2 available agents
    # When 3 calls to it arrive together
    invoke(*[sqs_record(to_queue(number), message_id=f"m{index}") for index, number in enumerate(numbers(3))])
    # Then 2 are placed (an agent counted on by each) and the third waits for an agent, until the next reading
    assert sorted(connect.placed) == ["m0", "m1"]
    [waiting] = deferred()
    assert (waiting["SourceMessageId"], waiting["DeferralReason"]) == ("m2", "NoAgentAvailable")
    until_s = datetime.fromisoformat(waiting["DeferredUntil"]).timestamp()
    assert clock.now + TTL_SECONDS <= until_s <= clock.now + 2 * TTL_SECONDS


def test_the_agents_are_read_at_most_once_per_ttl_for_the_whole_deployment(
    function: FunctionUnderTest, agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, clock: WallClock
) -> None:
    # Given a queue with agents to spare
    agents.available[QUEUE_ID] = 50
    # When calls arrive in several invocations (as other containers would) within one TTL, then after it
    for index, number in enumerate(numbers(4)):
        invoke(sqs_record(to_queue(number), message_id=f"within-{index}"))
    reads_within = len(agents.reads)
    clock.now += TTL_SECONDS + 0.1
    invoke(sqs_record(to_queue("+14155550199"), message_id="after"))
    # Then Connect's metrics were read once within the TTL, and once more after it
    assert reads_within == 1
    assert len(agents.reads) == 2
    assert len(connect.placed) == 5


def test_a_call_that_connects_to_an_agent_no_longer_counts_on_one(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, deferred: Any, complete: Any
) -> None:
    # Given 3 available agents, 2 of them counted on by placed calls
    agents.available[QUEUE_ID] = 3
    invoke(*[sqs_record(to_queue(number), message_id=f"m{index}") for index, number in enumerate(numbers(2))])
    # When one call's contact connects to an agent (the completion receives CONNECTED_TO_AGENT)
    complete(contact_event(ANSWERED, contactId=connect.placed["m0"], eventType="CONNECTED_TO_AGENT"))
    # Then it no longer counts on an agent: of the 2 agents the reading has left free, 1 is counted on, so a new call
    # may count on the other; and then none is left
    invoke(sqs_record(to_queue("+14155550151"), message_id="next"))
    invoke(sqs_record(to_queue("+14155550152"), message_id="waits"))
    assert "next" in connect.placed
    assert "waits" not in connect.placed


def test_an_agent_that_took_a_call_is_not_counted_available_again_until_a_reading_says_so(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, deferred: Any, complete: Any, clock: WallClock
) -> None:
    # Given both agents of the queue counted on by placed calls, read before either call connected
    invoke(*[sqs_record(to_queue(number), message_id=f"m{index}") for index, number in enumerate(numbers(2))])
    connected_at = datetime.fromtimestamp(clock.now + 1, UTC).isoformat().replace("+00:00", "Z")
    # When one call's contact connects to an agent after that reading, and the event is delivered twice
    for _ in range(2):
        complete(
            contact_event(
                CONNECTED_TO_AGENT,
                contactId=connect.placed["m0"],
                agentInfo={"agentArn": "arn:agent", "connectedToAgentTimestamp": connected_at},
            )
        )
    # Then its claim has ended, but the agent it took is on a contact, not free: against the same reading no new call
    # is placed (one agent left, counted on by the other call), however often the event came
    invoke(sqs_record(to_queue("+14155550153"), message_id="overdial"))
    assert "overdial" not in connect.placed
    # And once a reading shows an agent free beside the one the other call counts on, a call goes again
    agents.available[QUEUE_ID] = 2
    clock.now += TTL_SECONDS + 0.1
    invoke(sqs_record(to_queue("+14155550154"), message_id="later"))
    assert "later" in connect.placed


def test_a_call_connect_refused_gives_its_agent_back(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given one available agent, and a first call Connect refuses outright
    agents.available[QUEUE_ID] = 1
    refused, then = numbers(2)
    connect.fail_destination(refused, ConnectError("DestinationNotAllowedException", status=403))
    invoke(sqs_record(to_queue(refused), message_id="refused"))
    # When the next call arrives
    invoke(sqs_record(to_queue(then), message_id="then"))
    # Then it is placed: the refused call's claim was given back
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["DestinationNotAllowedException"]
    assert list(connect.placed) == ["then"]


def test_with_no_agent_available_calls_wait_and_go_once_agents_come_back(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, deferred: Any, clock: WallClock
) -> None:
    # Given a queue whose agents are all away
    agents.available[QUEUE_ID] = 0
    invoke(sqs_record(to_queue("+14155550160"), message_id="early"))
    assert connect.placed == {}
    assert [message["DeferralReason"] for message in deferred()] == ["NoAgentAvailable"]
    # When an agent is available at the next reading
    agents.available[QUEUE_ID] = 1
    clock.now += TTL_SECONDS + 0.1
    invoke(sqs_record(to_queue("+14155550161"), message_id="later"))
    # Then calls go again
    assert list(connect.placed) == ["later"]


def test_when_the_agents_cannot_be_read_the_last_reading_serves_a_while_then_calls_wait(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, clock: WallClock, no_backoff: None
) -> None:
    # Given a reading of 10 agents, then Connect's metrics API throttling every read
    agents.available[QUEUE_ID] = 10
    invoke(sqs_record(to_queue("+14155550170"), message_id="read"))
    agents.throttled = True
    # When a call comes a little after the TTL: the last reading is still recent, and serves
    clock.now += TTL_SECONDS + 0.1
    invoke(sqs_record(to_queue("+14155550171"), message_id="recent"))
    # When one comes long after: no reading to trust, and the call waits (fail closed: no callee left with nobody)
    clock.now += 10 * TTL_SECONDS
    invoke(sqs_record(to_queue("+14155550172"), message_id="stale"))
    assert sorted(connect.placed) == ["read", "recent"]


def test_a_call_routed_to_no_queue_is_not_paced_to_agents(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub
) -> None:
    # Given no agent available anywhere, and a call with a caller ID and no queue (the flow decides its routing)
    agents.available[QUEUE_ID] = 0
    invoke(sqs_record(json.dumps({"DestinationPhoneNumber": "+14155550180"}), message_id="no-queue"))
    # Then it is placed, and no metrics were read
    assert list(connect.placed) == ["no-queue"]
    assert agents.reads == []


def test_a_call_that_ends_without_reaching_an_agent_no_longer_counts_on_one(
    agents: AgentMetricsStub, invoke: Any, connect: ConnectStub, complete: Any
) -> None:
    # Given the queue's one available agent counted on by a placed call
    agents.available[QUEUE_ID] = 1
    invoke(sqs_record(to_queue("+14155550190"), message_id="unanswered"))
    # When its contact ends (nobody answered: it never reached the queue)
    connect.hang_up_all()
    complete(contact_event(ANSWERED, contactId=connect.placed["unanswered"], connectedToSystemTimestamp=None))
    # Then the agent is free for the next call, against the same reading
    invoke(sqs_record(to_queue("+14155550191"), message_id="next"))
    assert "next" in connect.placed
