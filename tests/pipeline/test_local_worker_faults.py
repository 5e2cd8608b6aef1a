"""Deaths injected into function containers at chosen moments of the function's own AWS requests.

A stub function makes real boto3 requests (Connect through the local Connect endpoint, DynamoDB through moto);
the container dies with SIGKILL just before or just after them, as a Lambda sandbox can die.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.context_loading import settings_from_context
from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint
from local.event_source import EventSourceMappingSpec, SqsEventSource
from local.function_container import (
    CRASHED,
    SUCCEEDED,
    FunctionContainer,
    FunctionSpec,
)
from local.intake import create_intake
from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment
from local.worker_faults import WorkerFaults, container_random
from tests.support.lambda_events import sqs_event, sqs_record
from tests.support.stub_function import STUB_CODE_ROOT, STUB_HANDLER

AWS_CALLS_HANDLER = "aws_calls_handler.handler"
RECORDS_TABLE = "stub-records"
RECORD_KEY = "call-1"
DESTINATION = "+15555550101"  # NANP range reserved for fiction
FUNCTION_TIMEOUT_SECONDS = 10
VISIBILITY_TIMEOUT_SECONDS = 2


@dataclass
class World:
    """moto with a table of records and a queue pair, the local Connect, and containers to start."""

    tmp_path: Path
    connect: LocalConnectEndpoint
    spawn: multiprocessing.context.SpawnContext
    containers: list[FunctionContainer]

    def spec(self, faults: WorkerFaults | None, handler: str = AWS_CALLS_HANDLER) -> FunctionSpec:
        return FunctionSpec(
            environment={"STUB_EVENTS_PATH": str(self.tmp_path / "events.jsonl")},
            timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
            log_path=self.tmp_path / "function.log",
            handler=handler,
            code_root=STUB_CODE_ROOT,
            faults=faults,
        )

    def container(self, faults: WorkerFaults | None, handler: str = AWS_CALLS_HANDLER) -> FunctionContainer:
        container = FunctionContainer(self.spec(faults, handler), self.spawn)
        self.containers.append(container)
        return container

    def record_status(self) -> str:
        item = boto3.client("dynamodb").get_item(TableName=RECORDS_TABLE, Key={"pk": {"S": RECORD_KEY}})["Item"]
        return str(item["status"]["S"])

    def log(self) -> str:
        return (self.tmp_path / "function.log").read_text(encoding="utf-8")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A placed-calls-like record in state "calling", and a local Connect that has placed nothing yet."""
    with (
        LocalAws() as aws,
        LocalConnectEndpoint(ConnectBehaviour()) as connect,
        scoped_environment(local_sdk_environment(aws.url, connect.url, tmp_path)),
    ):
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=RECORDS_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName=RECORDS_TABLE, Item={"pk": {"S": RECORD_KEY}, "status": {"S": "calling"}})
        world = World(tmp_path, connect, multiprocessing.get_context("spawn"), [])
        try:
            yield world
        finally:
            for container in world.containers:
                container.stop()
    # Then no container process outlives the test
    assert multiprocessing.active_children() == []


def call(destination: str = DESTINATION) -> dict[str, Any]:
    return sqs_record(json.dumps({"do": "call", "destination": destination}))


def record_write(client: str = "default") -> dict[str, Any]:
    return sqs_record(json.dumps({"do": "record", "table": RECORDS_TABLE, "key": RECORD_KEY, "client": client}))


def test_undisturbed_the_stub_places_its_call_and_writes_its_record(world: World) -> None:
    # Given a container armed with faults that never fire
    container = world.container(WorkerFaults())
    # When it is invoked with a call and a record write
    result = container.invoke(sqs_event(call(), record_write()))
    # Then both requests went through
    assert result.outcome == SUCCEEDED, result.error
    assert len(world.connect.instance.placed_calls) == 1
    assert world.record_status() == "completed"


def test_a_worker_killed_after_connect_answered_crashes_with_the_call_placed(world: World) -> None:
    # Given a container that dies as soon as Connect answers a StartOutboundVoiceContact with 200
    container = world.container(WorkerFaults(kill_after_connect_answer=1.0))
    # When it places a call and would then record it
    result = container.invoke(sqs_event(call(), record_write()))
    # Then the invocation crashed with the contact created and never recorded
    assert result.outcome == CRASHED
    assert [placed.destination for placed in world.connect.instance.placed_calls] == [DESTINATION]
    assert world.record_status() == "calling"
    assert not container.alive
    assert "FAULT kill_after_connect_answer" in world.log()


def test_a_worker_killed_before_the_connect_request_crashes_with_no_call_placed(world: World) -> None:
    # Given a container that dies just before sending a StartOutboundVoiceContact
    container = world.container(WorkerFaults(kill_before_connect_request=1.0))
    # When it tries to place a call
    result = container.invoke(sqs_event(call()))
    # Then the invocation crashed and Connect saw nothing
    assert result.outcome == CRASHED
    assert world.connect.instance.placed_calls == []


# "own_session" is how Powertools' DynamoDB persistence layer makes its client: boto3.session.Session().client().
@pytest.mark.parametrize("client", ["default", "own_session"])
def test_a_worker_killed_before_the_record_write_crashes_with_the_item_unchanged(world: World, client: str) -> None:
    # Given a container that dies just before sending a DynamoDB UpdateItem
    container = world.container(WorkerFaults(kill_before_record_write=1.0))
    # When it places a call and then writes its record, through a client of either kind of boto3 session
    result = container.invoke(sqs_event(call(), record_write(client)))
    # Then the call was placed, the invocation crashed, and the write never landed
    assert result.outcome == CRASHED
    assert len(world.connect.instance.placed_calls) == 1
    assert world.record_status() == "calling"


@pytest.mark.parametrize(("faults", "botocore_loaded"), [(None, False), (WorkerFaults(), True)])
def test_only_a_container_with_faults_imports_botocore(
    world: World, faults: WorkerFaults | None, botocore_loaded: bool
) -> None:
    # Given a stub that imports only the standard library
    container = world.container(faults, handler=STUB_HANDLER)
    # When it is invoked
    result = container.invoke(sqs_event(sqs_record(json.dumps({"do": "ok"}))))
    # Then botocore is loaded only where the faults needed it
    assert result.outcome == SUCCEEDED, result.error
    [invocation] = [json.loads(line) for line in (world.tmp_path / "events.jsonl").read_text().splitlines()]
    assert invocation["botocore_loaded"] is botocore_loaded


def test_a_death_under_the_event_source_is_a_crash_and_the_batch_stays_on_the_queue(world: World) -> None:
    # Given a queue (maxReceiveCount 2) holding one call request, and a function that dies once Connect answers
    settings = settings_from_context(
        {
            "connectInstanceId": "00000000-0000-0000-0000-000000000000",
            "connectContactFlowId": "11111111-1111-1111-1111-111111111111",
            "sourcePhoneNumber": "+15555550100",
            "maxReceiveCount": 2,
        }
    )
    intake = create_intake(settings, visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=intake.queue_url, MessageBody=json.dumps({"do": "call", "destination": DESTINATION}))
    mapping = EventSourceMappingSpec(intake.queue_url, intake.queue_arn, 1, 0, 1)
    # When the runner delivers it until SQS gives up on it
    with SqsEventSource(mapping, world.spec(WorkerFaults(kill_after_connect_answer=1.0))) as runner:
        wait_for(lambda: queue_depth(sqs, intake.dead_letter_queue_url) == 1)
        stats = runner.stats
    # Then each delivery crashed in a fresh container and nothing was deleted: SQS dead-lettered the request
    assert stats.outcomes[CRASHED] == stats.crashed_invocations == stats.cold_starts == 2
    assert (stats.records_deleted, stats.records_in_failed_invocations, stats.redeliveries) == (0, 2, 1)
    # And the redelivery's ClientToken (the messageId) got the same contact back, not a second call
    assert len(world.connect.instance.placed_calls) == 1


def test_fault_draws_repeat_for_a_seed_and_differ_between_containers() -> None:
    # Given the random sources of containers 0 and 1 of a seeded run, twice
    def draws(seed: int | None, number: int) -> list[float]:
        chance = container_random(seed, number)
        return [chance.random() for _ in range(5)]

    # Then a container draws the same each run, and two containers draw differently
    assert draws(42, 0) == draws(42, 0)
    assert draws(42, 0) != draws(42, 1)
    assert draws(42, 0) != draws(43, 0)
    assert draws(None, 0) != draws(None, 0)


@pytest.mark.parametrize(
    "field", ["kill_before_connect_request", "kill_after_connect_answer", "kill_before_record_write"]
)
@pytest.mark.parametrize("probability", [-0.1, 1.1])
def test_probabilities_outside_0_to_1_are_rejected(field: str, probability: float) -> None:
    # Given a probability outside 0..1 / When WorkerFaults is built / Then it names the field
    with pytest.raises(ValueError, match=field):
        WorkerFaults(**{field: probability})


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
