"""The placed-calls ledger: one DynamoDB item per ClientToken saying whether its call is being placed, was placed,
may have been placed (uncertain), or was surely not placed (released). Every change is one conditional
UpdateItem, so each happens at most once, and the item's attempt number only ever grows: a write meant for an
earlier attempt can never land on a later one.

Items hold hashes only: the key is a hash of the token (a producer's free text) and the fingerprint a hash
of the call it names, so no token is stored and no number in clear.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outbound_caller.connect.dial_record import dial_assignments, dial_of
from outbound_caller.names import AGENT_QUEUE_ATTRIBUTE, PARTITION_KEY, PLACED_CALL_KEY_PREFIX, TTL_ATTRIBUTE
from outbound_caller.retention import PLACED_CALL_KEPT_SECONDS
from outbound_caller.safety.redial import Dial

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


CALLING = "CALLING"  # claimed by a delivery that is calling Connect now (until its lease, the invocation's end)
PLACED = "PLACED"  # Connect returned a ContactId
UNKNOWN = "UNKNOWN"  # an attempt's call may or may not have created a contact
RELEASED = "RELEASED"  # Connect surely created no contact for the last attempt: the next delivery may call

_NAMES = {"#id": PARTITION_KEY, "#status": "status", "#expiration": TTL_ATTRIBUTE}


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger says about one ClientToken."""

    status: str
    fingerprint: str
    attempt: int
    lease_until_ms: int = 0
    contact_id: str | None = None
    claim_id: str | None = None


class LedgerUnavailableError(Exception):
    """The ledger could not be read or written; no call may be made on its account."""


class ClaimLostError(Exception):
    """Another delivery changed the item between our read and our write."""

    def __init__(self, current: LedgerEntry | None) -> None:
        super().__init__("another delivery changed the record first")
        self.current = current


def call_fingerprint(params: dict[str, Any]) -> str:
    """A hash of what makes a call this call (instance, flow, destination), salted with its token.

    The salt means no one table of hashed numbers reads every item; a phone number has at most 15 digits, so
    one item's destination can still be found by brute force: the table is access-controlled data all the same.
    """
    named = [
        params.get("ClientToken"),
        params.get("InstanceId"),
        params.get("ContactFlowId"),
        params.get("DestinationPhoneNumber"),
    ]
    return hashlib.sha256(json.dumps(named).encode()).hexdigest()


def token_key(client_token: str) -> str:
    """The item key for a ClientToken: a hash, since the token is a producer's free text."""
    return f"{PLACED_CALL_KEY_PREFIX}#{hashlib.sha256(client_token.encode()).hexdigest()}"


def new_claim_id() -> str:
    """A fresh ID for one delivery's claim, so a retried write can tell its own claim from another's."""
    return uuid.uuid4().hex


def _entry(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        status=item["status"]["S"],
        fingerprint=item["fingerprint"]["S"],
        attempt=int(item.get("attempt", {}).get("N", "1")),
        lease_until_ms=int(item.get("lease_until_ms", {}).get("N", "0")),
        contact_id=item.get("contact_id", {}).get("S"),
        claim_id=item.get("claim_id", {}).get("S"),
    )


class PlacedCallsLedger:
    """Claim, take over, complete, mark uncertain or release the call of one ClientToken."""

    def __init__(self, table_name: str, client: DynamoDBClient, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.clock = clock
        # Public so that tests can put faults in front of it, as they do for Connect.
        self.client = client

    def now_ms(self) -> int:
        """Wall-clock milliseconds, as leases are stored."""
        return int(self.clock() * 1000)

    def claim(
        self,
        client_token: str,
        fingerprint: str,
        lease_until_ms: int,
        claim_id: str,
        dial: Dial | None = None,
        agent_queue: str | None = None,
    ) -> int | LedgerEntry:
        """Claim the token for a call now: the attempt number when claimed, else what the ledger holds for it.

        A token is free when it has no item, an expired one (DynamoDB's TTL deletes only eventually), or one
        released by a call Connect surely did not place, for this same call. ``dial``: the redial facts of the
        request's attempt this call is, kept with it; ``agent_queue``: the queue it is routed to, whose agent claim its
        end releases.
        """
        now = int(self.clock())
        dial_clauses, dial_values = _call_facts(dial, agent_queue)
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": token_key(client_token)}},
                UpdateExpression=(
                    "SET #status = :calling, fingerprint = :fingerprint, lease_until_ms = :lease, claim_id = :claim,"
                    " #expiration = :expiration, attempt = if_not_exists(attempt, :zero) + :one"
                    f"{dial_clauses} REMOVE contact_id"
                ),
                ConditionExpression=(
                    "attribute_not_exists(#id) OR #expiration < :now"
                    " OR (#status = :released AND fingerprint = :fingerprint)"
                ),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":calling": {"S": CALLING},
                    ":released": {"S": RELEASED},
                    ":fingerprint": {"S": fingerprint},
                    ":lease": {"N": str(lease_until_ms)},
                    ":claim": {"S": claim_id},
                    ":expiration": {"N": str(now + PLACED_CALL_KEPT_SECONDS)},
                    ":now": {"N": str(now)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    **dial_values,
                },
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            entry = _entry(error.response["Item"])  # type: ignore[typeddict-item]
            # botocore retried a write whose first answer was lost: the claim already there is this one.
            return entry.attempt if entry.claim_id == claim_id else entry
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
        return int(response["Attributes"]["attempt"]["N"])

    def take_over(
        self,
        client_token: str,
        entry: LedgerEntry,
        lease_until_ms: int,
        claim_id: str,
        dial: Dial | None = None,
        agent_queue: str | None = None,
    ) -> int:
        """Claim a token whose last attempt is uncertain, on an operator's confirmation; return the new attempt."""
        attempt = entry.attempt + 1
        dial_clauses, dial_values = _call_facts(dial, agent_queue)
        self._update(
            client_token,
            "SET #status = :calling, attempt = :attempt, lease_until_ms = :lease, claim_id = :claim"
            f"{dial_clauses} REMOVE contact_id",
            condition="attempt = :previous AND #status = :previous_status",
            values={
                ":calling": {"S": CALLING},
                ":attempt": {"N": str(attempt)},
                ":lease": {"N": str(lease_until_ms)},
                ":claim": {"S": claim_id},
                ":previous": {"N": str(entry.attempt)},
                ":previous_status": {"S": entry.status},
                **dial_values,
            },
            claim_id=claim_id,
        )
        return attempt

    def dial(self, client_token: str) -> Dial | None:
        """The redial facts of the token's placed call, its outcome once known; None: not placed, or no redial."""
        try:
            item = self.client.get_item(
                TableName=self.table_name, Key={PARTITION_KEY: {"S": token_key(client_token)}}, ConsistentRead=True
            ).get("Item")
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
        if not item or item.get("status", {}).get("S") != PLACED:
            return None
        return dial_of(item)

    def complete(self, client_token: str, attempt: int, contact_id: str) -> None:
        """Record the ContactId of the attempt's placed call."""
        self._settle(client_token, attempt, PLACED, extra="contact_id = :contact_id", contact_id=contact_id)

    def mark_unknown(self, client_token: str, attempt: int) -> None:
        """Record that the attempt's call may have created a contact: it is never dialled again unconfirmed."""
        self._settle(client_token, attempt, UNKNOWN)

    def release(self, client_token: str, attempt: int) -> None:
        """Record that Connect surely created no contact for the attempt, so that a retry may call."""
        self._settle(client_token, attempt, RELEASED)

    def _settle(self, client_token: str, attempt: int, status: str, extra: str = "", contact_id: str = "") -> None:
        values = {":status": {"S": status}, ":attempt": {"N": str(attempt)}, ":calling": {"S": CALLING}}
        if contact_id:
            values[":contact_id"] = {"S": contact_id}
        try:
            self._update(
                client_token,
                "SET #status = :status" + (f", {extra}" if extra else ""),
                condition="attempt = :attempt AND #status = :calling",
                values=values,
            )
        except ClaimLostError as error:
            # botocore retried a write whose first answer was lost: the change is already there.
            if error.current is None or (error.current.attempt, error.current.status) != (attempt, status):
                raise

    def _update(
        self, client_token: str, expression: str, condition: str, values: dict[str, Any], claim_id: str | None = None
    ) -> None:
        # Every change keeps the item for the full retention from now: the request may come back that long.
        values = {**values, ":expiration": {"N": str(int(self.clock()) + PLACED_CALL_KEPT_SECONDS)}}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": token_key(client_token)}},
                UpdateExpression=expression.replace("SET ", "SET #expiration = :expiration, ", 1),
                ConditionExpression=f"attribute_exists(#id) AND {condition}",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            item = error.response.get("Item")
            current = _entry(item) if item else None  # type: ignore[arg-type]
            # botocore retried a write whose first answer was lost: the claim is already this one's.
            if claim_id is not None and current is not None and current.claim_id == claim_id:
                return
            raise ClaimLostError(current) from error
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error


def _call_facts(dial: Dial | None, agent_queue: str | None) -> tuple[str, dict[str, Any]]:
    """The SET clauses and values that keep a call's redial facts and agent queue with its claim."""
    clauses, values = dial_assignments(dial) if dial is not None else ("", {})
    if agent_queue is not None:
        clauses += f", {AGENT_QUEUE_ATTRIBUTE} = :agent_queue"
        values = {**values, ":agent_queue": {"S": agent_queue}}
    return clauses, values
