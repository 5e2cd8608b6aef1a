"""The placed-calls ledger: one DynamoDB item per ClientToken saying whether its call is being placed, was placed,
or may have been placed (uncertain). Conditional writes make each state change happen at most once.

Items hold hashes only: the key is a hash of the token (a producer's free text) and the fingerprint a hash
of the call it names, so no phone number or token is stored.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from outbound_caller.retention import PLACED_CALL_KEPT_SECONDS
from outbound_caller.timeouts import DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS, client_config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The table's partition key and TTL attribute (infra/placed_calls.py creates it with these).
PARTITION_KEY = "id"
TTL_ATTRIBUTE = "expiration"
# A stable key prefix, so items survive a function rename or a code move.
KEY_PREFIX = "connect-outbound-caller#call"

CALLING = "CALLING"  # claimed by a delivery that is calling Connect now (until its lease, the invocation's end)
PLACED = "PLACED"  # Connect returned a ContactId
UNKNOWN = "UNKNOWN"  # a delivery's call may or may not have created a contact


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger says about one ClientToken."""

    status: str
    fingerprint: str
    attempt: int
    lease_until_ms: int = 0
    contact_id: str | None = None
    # The SQS message whose redrive confirmed the last attempt: a confirmation calls once, never again.
    confirmed_by: str | None = None


class LedgerUnavailableError(Exception):
    """The ledger could not be read or written; no call may be made on its account."""


class ClaimLostError(Exception):
    """Another delivery changed the item between our read and our write."""


def call_fingerprint(params: dict[str, Any]) -> str:
    """A hash of what makes a call this call: its instance, flow and destination."""
    named = [params.get("InstanceId"), params.get("ContactFlowId"), params.get("DestinationPhoneNumber")]
    return hashlib.sha256(json.dumps(named).encode()).hexdigest()


def token_key(client_token: str) -> str:
    """The item key for a ClientToken: a hash, since the token is a producer's free text."""
    return f"{KEY_PREFIX}#{hashlib.sha256(client_token.encode()).hexdigest()}"


def _entry(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        status=item["status"]["S"],
        fingerprint=item["fingerprint"]["S"],
        attempt=int(item.get("attempt", {}).get("N", "1")),
        lease_until_ms=int(item.get("lease_until_ms", {}).get("N", "0")),
        contact_id=item.get("contact_id", {}).get("S"),
        confirmed_by=item.get("confirmed_by", {}).get("S"),
    )


class PlacedCallsLedger:
    """Claim, complete, release or mark uncertain the call of one ClientToken, each with one conditional write."""

    def __init__(self, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.clock = clock
        # Public so that tests can put faults in front of it, as they do for Connect.
        self.client: DynamoDBClient = boto3.client(
            "dynamodb", config=client_config(DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS)
        )

    def now_ms(self) -> int:
        """Wall-clock milliseconds, as leases are stored."""
        return int(self.clock() * 1000)

    def claim(self, client_token: str, fingerprint: str, lease_until_ms: int) -> LedgerEntry | None:
        """Claim the token for a call now; None when claimed, else what the ledger already holds for it."""
        now = int(self.clock())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    PARTITION_KEY: {"S": token_key(client_token)},
                    "status": {"S": CALLING},
                    "fingerprint": {"S": fingerprint},
                    "attempt": {"N": "1"},
                    "lease_until_ms": {"N": str(lease_until_ms)},
                    TTL_ATTRIBUTE: {"N": str(now + PLACED_CALL_KEPT_SECONDS)},
                },
                # DynamoDB's TTL deletes expired items only eventually: an expired one counts as absent.
                ConditionExpression="attribute_not_exists(#id) OR #expiration < :now",
                ExpressionAttributeNames={"#id": PARTITION_KEY, "#expiration": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            return _entry(error.response["Item"])  # type: ignore[typeddict-item]
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
        return None

    def take_over(self, client_token: str, entry: LedgerEntry, lease_until_ms: int, confirmed_by: str) -> int:
        """Claim a token whose earlier call is uncertain, on an operator's confirmation; return the new attempt."""
        attempt = entry.attempt + 1
        self._update(
            client_token,
            "SET #status = :calling, attempt = :attempt, lease_until_ms = :lease, confirmed_by = :confirmed_by"
            " REMOVE contact_id",
            condition="attempt = :previous AND #status = :previous_status",
            values={
                ":calling": {"S": CALLING},
                ":attempt": {"N": str(attempt)},
                ":lease": {"N": str(lease_until_ms)},
                ":confirmed_by": {"S": confirmed_by},
                ":previous": {"N": str(entry.attempt)},
                ":previous_status": {"S": entry.status},
            },
        )
        return attempt

    def complete(self, client_token: str, attempt: int, contact_id: str) -> None:
        """Record the ContactId of a placed call."""
        self._update(
            client_token,
            "SET #status = :placed, contact_id = :contact_id",
            condition="attempt = :attempt",
            values={":placed": {"S": PLACED}, ":contact_id": {"S": contact_id}, ":attempt": {"N": str(attempt)}},
        )

    def mark_unknown(self, client_token: str, attempt: int) -> None:
        """Record that this attempt's call may have created a contact: it is never dialled again unconfirmed."""
        self._update(
            client_token,
            "SET #status = :unknown",
            condition="attempt = :attempt AND #status = :calling",
            values={":unknown": {"S": UNKNOWN}, ":attempt": {"N": str(attempt)}, ":calling": {"S": CALLING}},
        )

    def release(self, client_token: str, attempt: int) -> None:
        """Forget a claim whose call surely created no contact, so that a retry may call."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": token_key(client_token)}},
                ConditionExpression="attempt = :attempt AND #status = :calling",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":attempt": {"N": str(attempt)}, ":calling": {"S": CALLING}},
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ClaimLostError("the claim changed before it was released") from error
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error

    def _update(self, client_token: str, expression: str, condition: str, values: dict[str, Any]) -> None:
        # Every change keeps the item for the full retention from now: the request may come back that long.
        values = {**values, ":expiration": {"N": str(int(self.clock()) + PLACED_CALL_KEPT_SECONDS)}}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": token_key(client_token)}},
                UpdateExpression=expression.replace("SET ", "SET #expiration = :expiration, ", 1),
                ConditionExpression=f"attribute_exists(#id) AND {condition}",
                ExpressionAttributeNames={"#id": PARTITION_KEY, "#status": "status", "#expiration": TTL_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ClaimLostError("another delivery changed the record first") from error
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
