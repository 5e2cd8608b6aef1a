"""The handler end to end: moto SQS as the dead-letter queue, Connect behind the real botocore client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from outbound_caller.config.settings import Settings, load_settings
from outbound_caller.connect.pacing import Pacer
from outbound_caller.handler import handler_for
from outbound_caller.message_size import SQS_MAX_MESSAGE_BYTES
from outbound_caller.names import SIGNATURE_ATTRIBUTE
from outbound_caller.request.signing import signed_by_us
from outbound_caller.results.publisher import ResultEvents
from outbound_caller.wiring import Caller, CallerClients, build_caller, caller_clients
from tests.support.connect_stub import ConnectStub
from tests.support.environment import (
    DLQ_NAME,
    DLQ_URL,
    FUNCTION_ENVIRONMENT,
    IDEMPOTENCY_TABLE,
    SIGNING_KEY,
    SIGNING_SECRET_NAME,
    SOURCE_QUEUE_NAME,
    SOURCE_QUEUE_URL,
)
from tests.support.lambda_events import FakeLambdaContext, signed_sqs_record, sqs_event, sqs_record
from tests.support.local_connect import local_connects


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's SQS with the function's dead-letter queue, and DynamoDB with its idempotency table."""
    with mock_aws():
        boto3.client("sqs").create_queue(QueueName=DLQ_NAME)
        boto3.client("sqs").create_queue(QueueName=SOURCE_QUEUE_NAME)
        boto3.client("secretsmanager").create_secret(Name=SIGNING_SECRET_NAME, SecretString=SIGNING_KEY)
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


@dataclass
class FunctionUnderTest:
    """The caller as a test runs it: its collaborators built as a cold start builds them (wiring.build_caller), and
    built again with a test's own settings, clock, pacer or result publisher, its AWS clients kept."""

    clients: CallerClients
    settings: Settings
    clock: Callable[[], float] = time.time
    pacer: Pacer | None = None
    results: ResultEvents | None = None
    caller: Caller = field(init=False)

    def __post_init__(self) -> None:
        self.caller = self._build()

    def rebuild(self, **changes: Any) -> Caller:
        """Build the collaborators again with some of settings, clock, pacer or results changed; return them."""
        for name, value in changes.items():
            setattr(self, name, value)
        self.caller = self._build()
        return self.caller

    def configure(self, **variables: str) -> Caller:
        """Build them again with some environment variables changed, validated as at start."""
        return self.rebuild(settings=load_settings({**FUNCTION_ENVIRONMENT, **variables}))

    def _build(self) -> Caller:
        return build_caller(
            self.settings, clients=self.clients, clock=self.clock, pacer=self.pacer, results=self.results
        )


@pytest.fixture
def function(aws: None) -> FunctionUnderTest:
    """The caller's collaborators with the tests' configuration, their clients made inside moto (a fresh container:
    botocore's retry quota full, no placed-call record pending)."""
    return FunctionUnderTest(caller_clients(), load_settings(FUNCTION_ENVIRONMENT))


@pytest.fixture
def connect(function: FunctionUnderTest) -> ConnectStub:
    """Connect's answers, injected ahead of moto into the function's own Connect client."""
    stub = ConnectStub()
    function.clients.connect.meta.events.register_first(
        "before-send.connect.StartOutboundVoiceContact", stub, unique_id="connect-stub"
    )
    return stub


@pytest.fixture
def sqs_size_rule(function: FunctionUnderTest) -> Iterator[None]:
    """SQS's size rule on the function's sends, which moto does not keep (it checks the body's characters only): the
    body and every attribute's name, data type and value, in UTF-8 bytes, at most the queue's MaximumMessageSize."""
    client = function.clients.sqs

    def check(params: dict[str, Any], **_: Any) -> None:
        attributes = params.get("MessageAttributes", {})
        size = len(params["MessageBody"].encode()) + sum(
            len(name.encode()) + len(value["DataType"].encode()) + len(value.get("StringValue", "").encode())
            for name, value in attributes.items()
        )
        maximum = int(
            boto3.client("sqs").get_queue_attributes(
                QueueUrl=params["QueueUrl"], AttributeNames=["MaximumMessageSize"]
            )["Attributes"]["MaximumMessageSize"]
        )
        if size > maximum:
            raise ClientError(
                {
                    "Error": {
                        "Code": "InvalidParameterValue",
                        "Message": f"Message must be shorter than {maximum} bytes",
                    }
                },
                "SendMessage",
            )

    client.meta.events.register_first("provide-client-params.sqs.SendMessage", check, unique_id="sqs-size-rule")
    for queue_url in (DLQ_URL, SOURCE_QUEUE_URL):
        boto3.client("sqs").set_queue_attributes(
            QueueUrl=queue_url, Attributes={"MaximumMessageSize": str(SQS_MAX_MESSAGE_BYTES)}
        )
    yield
    client.meta.events.unregister("provide-client-params.sqs.SendMessage", unique_id="sqs-size-rule")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries as configured, without sleeping between attempts."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)


@pytest.fixture
def invoke(function: FunctionUnderTest, connect: ConnectStub) -> Any:
    """Invoke the real handler, over the test's collaborators, with SQS records; return its partial batch response."""

    def _invoke(*records: dict[str, Any], context: FakeLambdaContext | None = None) -> dict[str, Any]:
        lambda_handler = handler_for(function.caller)
        return lambda_handler(sqs_event(*records), context or FakeLambdaContext())  # type: ignore[return-value]

    return _invoke


def failed_ids(response: dict[str, Any]) -> set[str]:
    """The messageIds a partial batch response asks SQS to redeliver."""
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


# What a flattened message holds beyond its attributes.
_NOT_SENT = ("body", "DelaySeconds", "unsigned")


def came_back(message: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A message the function sent (flattened by ``deferred`` or ``dead_letters``, its valid MAC set aside) as SQS
    delivers it again, after its delay or an operator's redrive: a new messageId, its attributes and MAC kept."""
    attributes = {name: value for name, value in message.items() if name not in _NOT_SENT}
    if message.get("unsigned"):
        return sqs_record(message["body"], message_id=message_id, attributes=attributes)
    return signed_sqs_record(message["body"], message_id=message_id, attributes=attributes)


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
                messages.append(checked_signature({"body": message["Body"], **attributes}))

    return _read


@pytest.fixture
def deferred(aws: None) -> Any:
    """Read every message the function sent back to the source queue, with its attributes flattened."""

    def _read() -> list[dict[str, Any]]:
        return _drain(SOURCE_QUEUE_URL)

    return _read


def _drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting on a queue, delayed ones included (read from moto's backend: SQS hides those), with
    its attributes flattened and the delay it was sent with (``DelaySeconds``, rounded to whole seconds)."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[queue_url.rsplit("/", 1)[-1]]
    messages = []
    for message in queue._messages:
        attributes = {name: value["StringValue"] for name, value in message.message_attributes.items()}
        sent_ms = int(message.sent_timestamp or 0)
        delay = round((message.delayed_until - sent_ms) / 1000) if message.delayed_until else 0
        messages.append(checked_signature({"body": message.body, "DelaySeconds": delay, **attributes}))
    return messages


def checked_signature(message: dict[str, Any]) -> dict[str, Any]:
    """A message the function sent, flattened, with its MAC checked and set aside: a valid one is removed (so tests
    compare what the message says), an invalid one fails the test, a missing one is marked ``"unsigned": True``."""
    attributes = {name: value for name, value in message.items() if name not in ("body", "DelaySeconds")}
    if SIGNATURE_ATTRIBUTE not in attributes:
        return {**message, "unsigned": True}
    assert signed_by_us(SIGNING_KEY.encode(), message["body"], attributes), "a message with a MAC that does not verify"
    return {name: value for name, value in message.items() if name != SIGNATURE_ATTRIBUTE}


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


@pytest.fixture
def ledger(function: FunctionUnderTest) -> Any:
    """The function's placed-calls ledger (moto DynamoDB behind the real botocore client); tests may move its clock."""
    assert function.caller.once.ledger is not None
    return function.caller.once.ledger


# The status each settling write of the placed-calls ledger sets.
SETTLING_WRITES = {"PLACED": "complete", "UNKNOWN": "mark_unknown", "RELEASED": "release"}


def ledger_write(body: bytes | str | None) -> str:
    """Which placed-calls write an UpdateItem request body is: claim, take_over, complete, mark_unknown, release."""
    values = json.loads(body or "{}").get("ExpressionAttributeValues", {})
    if ":zero" in values:
        return "claim"
    if ":previous_status" in values:
        return "take_over"
    return SETTLING_WRITES.get(values.get(":status", {}).get("S", ""), "other")


@pytest.fixture
def failing_ledger_writes(ledger: Any) -> Iterator[Any]:
    """Make one kind of placed-calls write fail as an unreachable endpoint does (botocore retries it); ``attempts``
    HTTP attempts fail (3 fail one whole write), or all of them."""
    registered: list[str] = []

    def _fail(write: str, attempts: int | None) -> None:
        remaining = [attempts]

        def fail(request: Any, **_: Any) -> None:
            if ledger_write(request.body) != write:
                return
            if remaining[0] is None or remaining[0] > 0:
                if remaining[0] is not None:
                    remaining[0] -= 1
                raise EndpointConnectionError(endpoint_url=request.url)

        ledger.client.meta.events.register_first("before-send.dynamodb.UpdateItem", fail, unique_id=f"fail-{write}")
        registered.append(write)

    yield _fail
    for write in registered:
        ledger.client.meta.events.unregister("before-send.dynamodb.UpdateItem", unique_id=f"fail-{write}")


@pytest.fixture
def ledger_writes(ledger: Any) -> Iterator[list[str]]:
    """The placed-calls writes the function makes, by kind, in order."""
    seen: list[str] = []

    def record(request: Any, **_: Any) -> None:
        seen.append(ledger_write(request.body))

    ledger.client.meta.events.register_first("before-send.dynamodb.UpdateItem", record, unique_id="count-writes")
    yield seen
    ledger.client.meta.events.unregister("before-send.dynamodb.UpdateItem", unique_id="count-writes")


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start local Connects with the given behaviour, each with a boto3 client that never retries (see
    tests/support/local_connect.py); stop them after the test."""
    with local_connects() as start:
        yield start
