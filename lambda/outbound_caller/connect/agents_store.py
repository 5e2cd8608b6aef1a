"""Agent pacing's shared item, one per queue in the ledger's table: the queue's available agents as last read, when,
who reads them next, and the calls counting on them (connect/agents.py decides with it).

Every change is conditional (the claims on the item's version, the reading's lease on its expiry) and keeps the item
a day from now, after which DynamoDB's TTL removes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.names import AGENTS_KEY_PREFIX, PARTITION_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# One container reads a stale queue's agents at a time; the others go on with the last reading meanwhile.
REFRESH_LEASE_MS = 2_000
# The item outlives its last change by a day, then TTL removes it.
ITEM_KEPT_SECONDS = 24 * 60 * 60
_MS = 1000


@dataclass(frozen=True)
class QueueAgents:
    """One queue's item: its available agents as last read, and the calls counting on them (claim expiry by hash)."""

    available: int | None = None  # None: never read
    read_at_ms: int = 0
    refresh_until_ms: int = 0
    claims: dict[str, int] = field(default_factory=dict)
    version: int = 0


class AgentsUnavailableError(Exception):
    """The queue's item could not be read or written: the request waits (fail closed)."""


class AgentsStore:
    """The queues' items in the ledger's table."""

    def __init__(self, table_name: str, instance_id: str, client: DynamoDBClient) -> None:
        self.client = client
        self._table = table_name
        self._instance_id = instance_id

    def _key(self, queue_id: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": f"{AGENTS_KEY_PREFIX}#{self._instance_id}#{queue_id}"}}

    def load(self, queue_id: str) -> QueueAgents:
        """The queue's item, strongly consistent (the default one when none was written yet)."""
        try:
            item = self.client.get_item(TableName=self._table, Key=self._key(queue_id), ConsistentRead=True).get("Item")
        except (BotoCoreError, ClientError) as error:
            raise AgentsUnavailableError(type(error).__name__) from error
        if not item:
            return QueueAgents()
        claims = {name: int(value["N"]) for name, value in item.get("claims", {}).get("M", {}).items()}
        available = item.get("available", {}).get("N")
        return QueueAgents(
            available=int(available) if available is not None else None,
            read_at_ms=int(item.get("read_at", {}).get("N", "0")),
            refresh_until_ms=int(item.get("refresh_until", {}).get("N", "0")),
            claims=claims,
            version=int(item.get("version", {}).get("N", "0")),
        )

    def lease_refresh(self, queue_id: str, now_ms: int) -> bool:
        """Take the right to read the queue's agents now; False when another container holds it."""
        return self._update(
            queue_id,
            "SET #refresh_until = :until",
            "attribute_not_exists(#refresh_until) OR #refresh_until < :now",
            {":until": {"N": str(now_ms + REFRESH_LEASE_MS)}, ":now": {"N": str(now_ms)}},
            now_ms,
        )

    def write_reading(self, queue_id: str, available: int, now_ms: int) -> None:
        """Keep a reading of the queue's agents (a new version: claims counted on the old one are decided again)."""
        self._update(
            queue_id,
            "SET #available = :available, #read_at = :now ADD #version :one",
            None,
            {":available": {"N": str(available)}, ":now": {"N": str(now_ms)}, ":one": {"N": "1"}},
            now_ms,
        )

    def write_claims(self, queue_id: str, claims: dict[str, int], expected_version: int, now_ms: int) -> bool:
        """Replace the queue's claims if nobody changed the item since ``expected_version``; False on a lost race."""
        return self._update(
            queue_id,
            "SET #claims = :claims, #version = :next",
            "attribute_not_exists(#version) OR #version = :expected",
            {
                ":claims": {"M": {name: {"N": str(until)} for name, until in claims.items()}},
                ":next": {"N": str(expected_version + 1)},
                ":expected": {"N": str(expected_version)},
            },
            now_ms,
        )

    def remove_claim(self, queue_id: str, claim: str, now_ms: int) -> None:
        """End one call's claim (gone already: nothing to do)."""
        self._update(
            queue_id,
            "REMOVE #claims.#claim ADD #version :one",
            "attribute_exists(#claims.#claim)",
            {":one": {"N": "1"}},
            now_ms,
            claim=claim,
        )

    def agent_taken(self, queue_id: str, claim: str, connected_ms: int, now_ms: int) -> None:
        """A call's contact connected to an agent: its claim ends, and a reading taken before the connection counts
        one agent fewer (the one now on the call) until the next reading. Once per claim: a duplicate event finds no
        claim and changes nothing."""
        taken = self._update(
            queue_id,
            "SET #available = #available - :one REMOVE #claims.#claim ADD #version :one",
            "attribute_exists(#claims.#claim) AND #read_at <= :connected AND #available > :zero",
            {":one": {"N": "1"}, ":zero": {"N": "0"}, ":connected": {"N": str(connected_ms)}},
            now_ms,
            claim=claim,
        )
        if not taken:
            # A reading since the connection, or none left to take: the claim alone ends.
            self.remove_claim(queue_id, claim, now_ms)

    def _update(
        self,
        queue_id: str,
        expression: str,
        condition: str | None,
        values: dict[str, Any],
        now_ms: int,
        claim: str | None = None,
    ) -> bool:
        """One conditional change of the queue's item, which also keeps it a day from now; False when the condition
        failed. Every attribute by placeholder: several of the names are DynamoDB reserved words."""
        keep = f"SET #ttl = :ttl{', ' + expression[4:] if expression.startswith('SET ') else ' ' + expression}"
        names = {f"#{name}": name for name in ("available", "read_at", "refresh_until", "claims", "version")}
        names["#ttl"] = TTL_ATTRIBUTE
        if claim is not None:
            names["#claim"] = claim
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(queue_id),
            "UpdateExpression": keep,
            "ExpressionAttributeNames": {
                name: value for name, value in names.items() if name in keep or name in (condition or "")
            },
            "ExpressionAttributeValues": {**values, ":ttl": {"N": str(now_ms // _MS + ITEM_KEPT_SECONDS)}},
        }
        if condition is not None:
            arguments["ConditionExpression"] = condition
        try:
            self.client.update_item(**arguments)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        except (BotoCoreError, ClientError) as error:
            raise AgentsUnavailableError(type(error).__name__) from error
        return True
