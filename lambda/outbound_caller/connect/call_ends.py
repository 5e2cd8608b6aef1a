"""The end of a placed call, as the completion function records it in the call's ledger item: its outcome, once
(a repeated or late contact event finds the first one kept), and the queue its agent claim is on.

Beside the caller's own writes (placed_calls.py) on the same item: the completion never claims, completes or
releases a call, it only records how the call ended, which the caller reads to redial (dial_record.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outbound_caller.connect.dial_record import ENDED_AT, OUTCOME, OUTCOME_AT, dial_of
from outbound_caller.connect.placed_calls import LedgerUnavailableError
from outbound_caller.names import AGENT_QUEUE_ATTRIBUTE, PARTITION_KEY, PLACED_CALL_KEY_PREFIX
from outbound_caller.safety.redial import Dial

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class EndRecorded:
    """A placed call's end as the ledger keeps it: its redial facts with its outcome (None: no redial asked), whether
    this report of its end was the first, and the queue it was routed to (None: none)."""

    dial: Dial | None
    first: bool
    agent_queue: str | None = None


class CallEnds:
    """The completion's writes and reads of the placed-calls ledger, by a call's token hash."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self.client = client

    def record_outcome(self, token_sha256: str, outcome: str, ended_at_ms: int, outcome_at_ms: int) -> EndRecorded:
        """Record a placed call's outcome (the completion), once: a late or repeated event finds the first one kept."""
        key = {PARTITION_KEY: {"S": f"{PLACED_CALL_KEY_PREFIX}#{token_sha256}"}}
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=f"SET {OUTCOME} = :outcome, {ENDED_AT} = :ended, {OUTCOME_AT} = :known",
                ConditionExpression=f"attribute_exists(#id) AND attribute_not_exists({OUTCOME})",
                ExpressionAttributeNames={"#id": PARTITION_KEY},
                ExpressionAttributeValues={
                    ":outcome": {"S": outcome},
                    ":ended": {"N": str(ended_at_ms)},
                    ":known": {"N": str(outcome_at_ms)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            kept: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            return EndRecorded(dial_of(kept) if kept else None, first=False, agent_queue=_agent_queue(kept))
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
        item: dict[str, Any] = answer["Attributes"]
        return EndRecorded(dial_of(item), first=True, agent_queue=_agent_queue(item))

    def agent_queue(self, token_sha256: str) -> str | None:
        """The queue a placed call was routed to (its agent claim's), by its token's hash; None: no queue or no call."""
        try:
            item = self.client.get_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": f"{PLACED_CALL_KEY_PREFIX}#{token_sha256}"}},
                ProjectionExpression=AGENT_QUEUE_ATTRIBUTE,
            ).get("Item")
        except Exception as error:
            raise LedgerUnavailableError(str(error)) from error
        return _agent_queue(item or {})


def _agent_queue(item: dict[str, Any]) -> str | None:
    value = item.get(AGENT_QUEUE_ATTRIBUTE, {}).get("S")
    return value if isinstance(value, str) else None
