"""The completion function's world: moto DynamoDB holds the placed-calls ledger with its ContactId index, Connect's
DescribeContact answers behind the real botocore client, and each Completed event is read where a producer would
read it, from an SQS queue behind a rule on the result bus."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.intake import expiring_table_definition
from outbound_caller.completion.collaborators import build_completion
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.connect.placed_calls import PlacedCallsLedger, new_claim_id
from outbound_caller.safety.redial import Dial
from tests.support.clock import WallClock
from tests.support.contacts_stub import ContactsStub
from tests.support.environment import FUNCTION_ENVIRONMENT, IDEMPOTENCY_TABLE
from tests.support.lambda_events import FakeLambdaContext

RESULT_BUS = "outbound-call-results"
SINK_QUEUE = "completed-events-sink"
# The recorded answered sample's contact ended at 2021-08-04T17:18:37.250Z, the unanswered one's at 17:20:29; the
# completion runs at 17:30, once the ledger's index has surely caught up with both.
ANSWERED_ENDED_MS = 1_628_097_517_250
COMPLETION_RUNS_AT = 1_628_098_200.0


@pytest.fixture
def sink() -> Iterator[str]:
    """moto's ledger table (as local/intake.py and the stack lay it out) and a result bus whose events reach a queue."""
    with mock_aws():
        boto3.client("dynamodb").create_table(**expiring_table_definition(IDEMPOTENCY_TABLE, contact_id_index=True))
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName=SINK_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.create_event_bus(Name=RESULT_BUS)
        events.put_rule(
            Name="completed", EventBusName=RESULT_BUS, EventPattern=json.dumps({"source": ["connect-outbound-caller"]})
        )
        events.put_targets(Rule="completed", EventBusName=RESULT_BUS, Targets=[{"Id": "sink", "Arn": queue_arn}])
        yield queue_url


@pytest.fixture
def contacts() -> ContactsStub:
    """What Connect's DescribeContact says of each ended contact (none known: ResourceNotFoundException)."""
    return ContactsStub()


@pytest.fixture
def wall() -> WallClock:
    """The completion's clock: minutes after the recorded samples' contacts ended."""
    return WallClock(COMPLETION_RUNS_AT)


@pytest.fixture
def handle(sink: str, contacts: ContactsStub, wall: WallClock, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Invoke the real completion handler with one contact event."""
    # Set before the handler module is first imported: it builds its collaborators from the environment, as at a cold
    # start; the test's own are built from the same variables.
    monkeypatch.setenv("RESULT_EVENT_BUS_NAME", RESULT_BUS)
    from outbound_caller.completion.handler import handler_for

    settings = load_completion_settings({**FUNCTION_ENVIRONMENT, "RESULT_EVENT_BUS_NAME": RESULT_BUS})
    completion = build_completion(settings, clock=wall)
    contacts.install(completion.contacts.client)
    lambda_handler = handler_for(completion)

    def _handle(event: dict[str, Any]) -> Any:
        return lambda_handler(event, FakeLambdaContext(function_name="completion"))

    return _handle


def received(queue_url: str) -> list[dict[str, Any]]:
    """Every event the sink queue holds."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def ledger() -> PlacedCallsLedger:
    """The placed-calls ledger as the caller and the completion use it."""
    return PlacedCallsLedger(IDEMPOTENCY_TABLE, boto3.client("dynamodb"))


def place(token: str, contact_id: str, dial: Dial | None = None) -> None:
    """Record a placed call in the ledger exactly as the caller function does: claim (with the attempt's redial facts
    when its request redials), then complete."""
    attempt = ledger().claim(token, "fingerprint", lease_until_ms=0, claim_id=new_claim_id(), dial=dial)
    assert isinstance(attempt, int)
    ledger().complete(token, attempt, contact_id)
