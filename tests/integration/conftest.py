"""The handler end to end: moto SQS as the dead-letter queue, Connect behind the real botocore client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from tests.support.connect_stub import ConnectStub
from tests.support.environment import DLQ_NAME, DLQ_URL, IDEMPOTENCY_TABLE
from tests.support.lambda_events import FakeLambdaContext, sqs_event


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's SQS with the function's dead-letter queue, and DynamoDB with its idempotency table."""
    with mock_aws():
        boto3.client("sqs").create_queue(QueueName=DLQ_NAME)
        create_idempotency_table()
        yield


def create_idempotency_table() -> None:
    """The table as the stack creates it: Powertools Idempotency's key schema."""
    boto3.client("dynamodb").create_table(
        TableName=IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def connect(aws: None) -> Iterator[ConnectStub]:
    """Connect's answers, injected ahead of moto into the function's own Connect client."""
    from outbound_caller.calls import connect as client

    stub = ConnectStub()
    event = "before-send.connect.StartOutboundVoiceContact"
    client.meta.events.register_first(event, stub, unique_id="connect-stub")
    yield stub
    client.meta.events.unregister(event, unique_id="connect-stub")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries as configured, without sleeping between attempts."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)


@pytest.fixture
def invoke(connect: ConnectStub) -> Any:
    """Invoke the real handler with SQS records and return its partial batch response."""
    from outbound_caller.handler import lambda_handler

    def _invoke(*records: dict[str, Any], context: FakeLambdaContext | None = None) -> dict[str, Any]:
        return lambda_handler(sqs_event(*records), context or FakeLambdaContext())  # type: ignore[arg-type]

    return _invoke


def failed_ids(response: dict[str, Any]) -> set[str]:
    """The messageIds a partial batch response asks SQS to redeliver."""
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


@pytest.fixture
def dead_letters(aws: None) -> Any:
    """Read every message in the dead-letter queue, with its attributes flattened."""

    def _read() -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=DLQ_URL, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                messages.append({"body": message["Body"], **attributes})

    return _read


@pytest.fixture
def log_lines() -> Iterator[Any]:
    """The function's structured log lines, parsed, as written by its Powertools logger."""
    import io
    import json

    from outbound_caller.observability import logger

    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]

    def _read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield _read
    handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_pending_completions() -> Iterator[None]:
    """Each test starts, as a fresh container would, with no placed-call records left to complete."""
    from outbound_caller.record_handler import ONCE

    ONCE.pending.clear()
    yield
    ONCE.pending.clear()


@pytest.fixture
def ledger(aws: None) -> Iterator[Any]:
    """The function's placed-calls ledger (moto DynamoDB behind the real botocore client); tests may move its clock."""
    from outbound_caller.record_handler import ONCE

    assert ONCE.ledger is not None
    clock = ONCE.ledger.clock
    yield ONCE.ledger
    ONCE.ledger.clock = clock


@pytest.fixture
def failing_ledger_writes(ledger: Any) -> Iterator[Any]:
    """Make the next writes of one DynamoDB operation fail as an unreachable endpoint does (botocore retries them)."""
    registered: list[str] = []

    def _fail(operation: str, attempts: int | None) -> None:
        remaining = [attempts]

        def fail(request: Any, **_: Any) -> None:
            if remaining[0] is None or remaining[0] > 0:
                if remaining[0] is not None:
                    remaining[0] -= 1
                raise EndpointConnectionError(endpoint_url=request.url)

        event = f"before-send.dynamodb.{operation}"
        ledger.client.meta.events.register_first(event, fail, unique_id=f"fail-{operation}")
        registered.append(operation)

    yield _fail
    for operation in registered:
        ledger.client.meta.events.unregister(f"before-send.dynamodb.{operation}", unique_id=f"fail-{operation}")
