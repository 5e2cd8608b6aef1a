"""Local AWS: moto in server mode for SQS, EventBridge and DynamoDB, and the intake resources the stack deploys.

The resources are created from the same DeploymentSettings the CDK stack is built from, so the queue, the
dead-letter queue, the redrive policy and the event rule cannot drift from the deployed ones.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from moto.server import ThreadedMotoServer

from infra.settings import (
    DLQ_RETENTION_SECONDS,
    PLACED_CALLS_PARTITION_KEY,
    PLACED_CALLS_TTL_ATTRIBUTE,
    DeploymentSettings,
)
from local.account import LOCAL_HOST, LOCAL_REGION

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_EVENT_BUS_NAME = "default"
QUEUE_NAME = "connect-outbound-caller-requests"
DEAD_LETTER_QUEUE_NAME = "connect-outbound-caller-dead-letters"
RULE_NAME = "connect-outbound-caller-requests"
PLACED_CALLS_TABLE_NAME = "connect-outbound-caller-placed-calls"

# Variables that would point the SDK at real AWS or at a profile of the person running the demo.
_ISOLATED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def local_sdk_environment(aws_endpoint_url: str, connect_endpoint_url: str, work_dir: Path) -> dict[str, str | None]:
    """Environment that points every boto3 client at the local endpoints; None means 'unset'."""
    environment: dict[str, str | None] = dict.fromkeys(_ISOLATED_VARIABLES)
    environment |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        # No ~/.aws files and no instance metadata: the demo must not find real credentials or settings.
        "AWS_CONFIG_FILE": str(work_dir / "aws-config-not-used"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work_dir / "aws-credentials-not-used"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # boto3's standard endpoint variables (named after each service's serviceId); the catch-all sends
        # any other service to moto rather than to AWS.
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ENDPOINT_URL_SQS": aws_endpoint_url,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": aws_endpoint_url,
        "AWS_ENDPOINT_URL_DYNAMODB": aws_endpoint_url,
        "AWS_ENDPOINT_URL_CONNECT": connect_endpoint_url,
    }
    return environment


def apply_environment(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """Return base with changes applied (a None value removes the variable)."""
    result = dict(base)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@contextmanager
def scoped_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply changes to os.environ for the duration of the block, then restore it exactly."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(apply_environment(saved, changes))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def event_pattern(settings: DeploymentSettings) -> dict[str, list[str]]:
    """The intake rule's event pattern: the configured detail types and, when set, sources."""
    pattern: dict[str, list[str]] = {}
    if settings.event_sources:
        pattern["source"] = list(settings.event_sources)
    if settings.event_detail_types:
        pattern["detail-type"] = list(settings.event_detail_types)
    return pattern


@dataclass(frozen=True)
class IntakeResources:
    """The queue, dead-letter queue and event bus created for one local run."""

    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    event_bus_name: str
    visibility_timeout_seconds: int
    placed_calls_table_name: str


class LocalAws:
    """A moto server on 127.0.0.1 at a free port; use as a context manager."""

    def __init__(self) -> None:
        # werkzeug logs every request to stderr; the demo's terminal is for the progress display.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=LOCAL_HOST, port=0, verbose=False)
        self._started = False

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3."""
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> LocalAws:
        """Start serving in a background thread."""
        self._server.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving, release the port and forget every resource (moto's state is per process)."""
        if not self._started:
            return
        self._started = False
        self._server.stop()
        # ThreadedMotoServer.stop() ends the serve loop but leaves the listening socket open.
        server = getattr(self._server, "_server", None)
        if server is not None:
            server.server_close()
        from moto.backends import get_backend

        for service in ("sqs", "events", "dynamodb"):
            for account_backends in get_backend(service).values():  # type: ignore[call-overload]
                account_backends.reset()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _queue_arn(sqs: SQSClient, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_intake(
    settings: DeploymentSettings, visibility_timeout_seconds: int, name_suffix: str = ""
) -> IntakeResources:
    """Create the queue, its dead-letter queue with the redrive policy, the bus rule targeting the queue, and the
    placed-calls table the function records its calls in.

    Uses the clients' standard endpoint variables, so call it inside scoped_environment(local_sdk_environment(...)).
    """
    sqs: SQSClient = boto3.client("sqs")
    events: EventBridgeClient = boto3.client("events")
    dead_letter_queue_url = sqs.create_queue(
        QueueName=DEAD_LETTER_QUEUE_NAME + name_suffix,
        Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"},
    )["QueueUrl"]
    dead_letter_queue_arn = _queue_arn(sqs, dead_letter_queue_url)
    redrive_policy = {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": settings.max_receive_count}
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME + name_suffix,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(redrive_policy),
            "SqsManagedSseEnabled": "true",
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    bus_name = settings.event_bus_name or DEFAULT_EVENT_BUS_NAME
    if bus_name != DEFAULT_EVENT_BUS_NAME:
        events.create_event_bus(Name=bus_name)
    rule_name = RULE_NAME + name_suffix
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(event_pattern(settings)))
    events.put_targets(Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "CallRequestQueue", "Arn": queue_arn}])
    table_name = PLACED_CALLS_TABLE_NAME + name_suffix
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": PLACED_CALLS_PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PLACED_CALLS_PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": PLACED_CALLS_TTL_ATTRIBUTE},
    )
    return IntakeResources(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dead_letter_queue_url,
        dead_letter_queue_arn=dead_letter_queue_arn,
        event_bus_name=bus_name,
        visibility_timeout_seconds=visibility_timeout_seconds,
        placed_calls_table_name=table_name,
    )


def queue_depth(sqs: SQSClient, queue_url: str) -> dict[str, int]:
    """Visible, in-flight and delayed message counts of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }
