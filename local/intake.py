"""The intake resources the stack deploys, created in local AWS: the queue, its dead-letter queue with the redrive
policy, the bus rule targeting the queue, the function's tables and its message-signing key; and the suppression list
(its table, its HMAC key, and the bus rule that hands opt-out and opt-in events to the opt-out function).

They are created from the same DeploymentSettings the CDK stack is built from, so the queue, the dead-letter queue,
the redrive policy and the event rules cannot drift from the deployed ones.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from infra.producers import call_request_event_pattern
from infra.queue_retention import DEAD_LETTER_QUEUE_RETENTION_SECONDS as DLQ_RETENTION_SECONDS
from infra.queue_retention import WAITING_ROOM_MAX_RECEIVE_COUNT as WAITING_ROOM_MAX_RECEIVES
from infra.settings import DeploymentSettings
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES
from outbound_caller.names import CONTACT_ID_ATTRIBUTE as PLACED_CALLS_CONTACT_ID_ATTRIBUTE
from outbound_caller.names import CONTACT_ID_INDEX_NAME as PLACED_CALLS_CONTACT_ID_INDEX
from outbound_caller.names import OPT_IN_EVENT, OPT_OUT_EVENT
from outbound_caller.names import PARTITION_KEY as PLACED_CALLS_PARTITION_KEY
from outbound_caller.names import TTL_ATTRIBUTE as PLACED_CALLS_TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

DEFAULT_EVENT_BUS_NAME = "default"
# The bus the stack creates when eventBusName is unset (moto has no bus policies to mirror, so only the bus).
EVENT_BUS_NAME = "connect-outbound-caller-requests"
QUEUE_NAME = "connect-outbound-caller-requests"
DEAD_LETTER_QUEUE_NAME = "connect-outbound-caller-dead-letters"
RULE_NAME = "connect-outbound-caller-requests"
PLACED_CALLS_TABLE_NAME = "connect-outbound-caller-placed-calls"
DESTINATION_CALLS_TABLE_NAME = "connect-outbound-caller-destination-calls"
SIGNING_SECRET_NAME = "connect-outbound-caller-message-signing-key"  # noqa: S105 - a name, not a secret
SIGNING_KEY_BYTES = 48
# The suppression list: its table (one item per number, keyed by the number's HMAC, never expiring: an opt-out
# stands until the callee opts in again), the secret keying the HMAC (generated, as the stack generates it), and the
# rule on the intake bus that hands opt-out and opt-in events to the opt-out function.
SUPPRESSION_TABLE_NAME = "connect-outbound-caller-suppression-list"
SUPPRESSION_KEY_SECRET_NAME = "connect-outbound-caller-suppression-key"  # noqa: S105 - a name, not a secret
OPT_OUT_RULE_NAME = "connect-outbound-caller-opt-outs"
# Where the rule delivers: in AWS the opt-out function itself, invoked asynchronously through Lambda's own event
# queue. moto cannot run the function (it needs Docker), so locally the rule targets a queue standing in for
# Lambda's, which local/optout_events.py reads and invokes the function with.
OPT_OUT_INVOCATIONS_QUEUE_NAME = "connect-outbound-caller-opt-out-invocations"
# The waiting room (infra/waiting_room.py): a FIFO queue where requests wait for a slot of the full instance, drawn by
# the completion function as calls end; with its own FIFO dead-letter queue.
WAITING_ROOM_QUEUE_NAME = "connect-outbound-caller-waiting-room"
WAITING_ROOM_DEAD_LETTER_QUEUE_NAME = "connect-outbound-caller-waiting-room-dead-letters"
FIFO_SUFFIX = ".fifo"


def event_pattern(settings: DeploymentSettings) -> dict[str, Any]:
    """The intake rule's event pattern, as the stack writes it: detail types, sources when set, no replays."""
    return call_request_event_pattern(settings.event_detail_types, settings.event_sources)


def opt_out_event_pattern(settings: DeploymentSettings) -> dict[str, Any]:
    """The opt-out rule's event pattern: the contract's two detail-types, from the intake bus's allowed producers
    (its sources when set), no replays (a replayed opt-in would undo a later opt-out)."""
    return call_request_event_pattern((OPT_OUT_EVENT, OPT_IN_EVENT), settings.event_sources)


@dataclass(frozen=True)
class SuppressionResources:
    """The suppression list's table and key, and the queue the opt-out rule delivers to (Lambda's stand-in)."""

    table_name: str
    key_secret_id: str
    opt_out_invocations_queue_url: str

    @property
    def function_environment(self) -> dict[str, str]:
        """What the caller and the opt-out function are told of the list (the contract's variables)."""
        return {"SUPPRESSION_TABLE_NAME": self.table_name, "SUPPRESSION_KEY_SECRET_ID": self.key_secret_id}


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
    destination_calls_table_name: str | None  # only when a destination call limit is set, as in the stack
    message_signing_key_secret_id: str  # the secret keying the MAC on the function's own message attributes
    # None: no suppression list (the run said so; DeploymentSettings has no suppressionList switch yet).
    suppression: SuppressionResources | None = None
    # None: no waiting room (as the stack: only with result events, unless waitingRoom says otherwise).
    waiting_room_queue_url: str | None = None


def _queue_arn(sqs: SQSClient, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_intake(
    settings: DeploymentSettings,
    visibility_timeout_seconds: int,
    name_suffix: str = "",
    *,
    suppression_list: bool | None = None,
) -> IntakeResources:
    """Create the queue, its dead-letter queue with the redrive policy, the bus rule targeting the queue, the
    placed-calls table the function records its calls in, and (unless ``suppression_list`` is False) the suppression
    list with the opt-out rule.

    ``suppression_list``: whether to create the list; None: as the settings' ``suppressionList`` (on by default, as
    in the stack).

    Uses the clients' standard endpoint variables, so call it inside scoped_environment(local_sdk_environment(...)).
    """
    sqs: SQSClient = boto3.client("sqs")
    events: EventBridgeClient = boto3.client("events")
    dead_letter_queue_url = sqs.create_queue(
        QueueName=DEAD_LETTER_QUEUE_NAME + name_suffix,
        Attributes={
            "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
            "MaximumMessageSize": str(SQS_MAX_MESSAGE_BYTES),
            "SqsManagedSseEnabled": "true",
        },
    )["QueueUrl"]
    dead_letter_queue_arn = _queue_arn(sqs, dead_letter_queue_url)
    redrive_policy = {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": settings.max_receive_count}
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME + name_suffix,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(redrive_policy),
            # As the stack's (infra/intake.py): a body accepted here fits with the function's attributes.
            "MaximumMessageSize": str(SOURCE_QUEUE_MAX_MESSAGE_BYTES),
            "SqsManagedSseEnabled": "true",
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    # A named bus is shared and exists already, except here, where moto starts empty (but for its default bus).
    bus_name = settings.event_bus_name or EVENT_BUS_NAME + name_suffix
    if bus_name != DEFAULT_EVENT_BUS_NAME:
        events.create_event_bus(Name=bus_name)
    rule_name = RULE_NAME + name_suffix
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(event_pattern(settings)))
    events.put_targets(Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "CallRequestQueue", "Arn": queue_arn}])
    table_name = PLACED_CALLS_TABLE_NAME + name_suffix
    dynamodb = boto3.client("dynamodb")
    _create_expiring_table(dynamodb, table_name, contact_id_index=True)
    destination_calls_table_name = None
    if settings.counts_calls:
        destination_calls_table_name = DESTINATION_CALLS_TABLE_NAME + name_suffix
        _create_expiring_table(dynamodb, destination_calls_table_name)
    # As the stack's generated key: only the function reads it.
    signing_secret_arn = boto3.client("secretsmanager").create_secret(
        Name=SIGNING_SECRET_NAME + name_suffix, SecretString=secrets.token_urlsafe(SIGNING_KEY_BYTES)
    )["ARN"]
    with_list = settings.suppression_list if suppression_list is None else suppression_list
    suppression = _create_suppression_list(settings, bus_name, name_suffix) if with_list else None
    waiting_room = _create_waiting_room(sqs, settings, name_suffix) if settings.has_waiting_room else None
    return IntakeResources(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dead_letter_queue_url,
        dead_letter_queue_arn=dead_letter_queue_arn,
        event_bus_name=bus_name,
        visibility_timeout_seconds=visibility_timeout_seconds,
        placed_calls_table_name=table_name,
        destination_calls_table_name=destination_calls_table_name,
        message_signing_key_secret_id=signing_secret_arn,
        suppression=suppression,
        waiting_room_queue_url=waiting_room,
    )


def _create_waiting_room(sqs: SQSClient, settings: DeploymentSettings, name_suffix: str) -> str:
    """The waiting room as the stack's: FIFO, its messages grouped (each group served on its own), with a FIFO
    dead-letter queue; returns its URL."""
    fifo: dict[QueueAttributeNameType, str] = {
        "FifoQueue": "true",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
        "SqsManagedSseEnabled": "true",
    }
    dead_letters_url = sqs.create_queue(
        QueueName=WAITING_ROOM_DEAD_LETTER_QUEUE_NAME + name_suffix + FIFO_SUFFIX,
        Attributes={**fifo, "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
    )["QueueUrl"]
    redrive = {"deadLetterTargetArn": _queue_arn(sqs, dead_letters_url), "maxReceiveCount": WAITING_ROOM_MAX_RECEIVES}
    return sqs.create_queue(
        QueueName=WAITING_ROOM_QUEUE_NAME + name_suffix + FIFO_SUFFIX,
        Attributes={
            **fifo,
            "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
            "MaximumMessageSize": str(SOURCE_QUEUE_MAX_MESSAGE_BYTES),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]


def _create_suppression_list(settings: DeploymentSettings, bus_name: str, name_suffix: str) -> SuppressionResources:
    """The list's table (keyed as the stack's, no TTL), its generated HMAC key, and the opt-out rule on the intake bus
    with the queue it delivers to in the function's stead."""
    table_name = SUPPRESSION_TABLE_NAME + name_suffix
    boto3.client("dynamodb").create_table(**table_definition(table_name))
    key_secret_arn = boto3.client("secretsmanager").create_secret(
        Name=SUPPRESSION_KEY_SECRET_NAME + name_suffix, SecretString=secrets.token_urlsafe(SIGNING_KEY_BYTES)
    )["ARN"]
    sqs: SQSClient = boto3.client("sqs")
    events: EventBridgeClient = boto3.client("events")
    queue_url = sqs.create_queue(
        QueueName=OPT_OUT_INVOCATIONS_QUEUE_NAME + name_suffix, Attributes={"SqsManagedSseEnabled": "true"}
    )["QueueUrl"]
    rule_name = OPT_OUT_RULE_NAME + name_suffix
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(opt_out_event_pattern(settings)))
    events.put_targets(
        Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "OptOutFunction", "Arn": _queue_arn(sqs, queue_url)}]
    )
    return SuppressionResources(table_name, key_secret_arn, queue_url)


def _create_expiring_table(dynamodb: DynamoDBClient, name: str, contact_id_index: bool = False) -> None:
    """A table laid out as the stack's (infra/tables.py): on demand, keyed by one hash, expiring through TTL; the
    placed-calls ledger's with its index by ContactId."""
    dynamodb.create_table(**expiring_table_definition(name, contact_id_index))
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": PLACED_CALLS_TTL_ATTRIBUTE}
    )


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable's arguments for a table keyed as the stack's (infra/tables.py): on demand, one hash key ``id``."""
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": PLACED_CALLS_PARTITION_KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": PLACED_CALLS_PARTITION_KEY, "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def expiring_table_definition(name: str, contact_id_index: bool = False) -> dict[str, Any]:
    """CreateTable's arguments for a table laid out as the stack's (infra/tables.py), the ledger's with its index."""
    definition = table_definition(name)
    if contact_id_index:
        definition["AttributeDefinitions"].append(
            {"AttributeName": PLACED_CALLS_CONTACT_ID_ATTRIBUTE, "AttributeType": "S"}
        )
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": PLACED_CALLS_CONTACT_ID_INDEX,
                "KeySchema": [{"AttributeName": PLACED_CALLS_CONTACT_ID_ATTRIBUTE, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    return definition
