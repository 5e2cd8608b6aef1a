"""One copy of a redialled request goes on from each of its waits; the others end.

SQS delivers at least once, and a request that waits is sent back as a new message each time: a message delivered
twice at once sends back two copies, each its own message, and each copy would send back its own copy at every look
for the attempt's outcome, for as long as the redial lasts (an hour of looks, and several attempts). None rings twice
(the ledger answers every copy of an attempt with the first one's call), but they multiply, and each costs receives,
invocations and ledger reads. So a copy back from a Redial deferral first asks whether it goes on: the first delivery
to come back from the request's n-th deferral takes it (one conditional write of an item beside the ledger's), and
any other delivery from the same deferral ends there, acknowledged, since that copy goes on. A redelivery of the one
that took it (same messageId: its invocation died, or its answer was lost) goes on again, so a request is never lost
for it. Two deliveries of one message at the same time both go on, and the next deferral collapses them.

Fail open: when the item cannot be written, the copy goes on (a copy more, never a request less).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from outbound_caller.names import PARTITION_KEY, REDIAL_COPY_KEY_PREFIX, TTL_ATTRIBUTE
from outbound_caller.observability import logger
from outbound_caller.retention import PLACED_CALL_KEPT_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def copy_key(request_token: str) -> str:
    """The item of a request's copies: by its token's hash, as the ledger keys a call (the token is never stored)."""
    return f"{REDIAL_COPY_KEY_PREFIX}#{hashlib.sha256(request_token.encode('utf-8', 'surrogatepass')).hexdigest()}"


class RedialCopies:
    """Which delivery of a redialled request goes on from each of its deferrals."""

    def __init__(self, table_name: str, client: DynamoDBClient, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.client = client
        self.clock = clock

    def goes_on(self, request_token: str, deferral: int, message_id: str) -> bool:
        """Whether this delivery (``message_id``), back from the request's ``deferral``-th deferral, goes on: the first
        to come back from it, or a redelivery of that one."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": copy_key(request_token)}},
                UpdateExpression="SET deferral = :deferral, message_id = :message, #expiration = :expiration",
                ConditionExpression=(
                    "attribute_not_exists(#id) OR deferral < :deferral"
                    " OR (deferral = :deferral AND message_id = :message)"
                ),
                ExpressionAttributeNames={"#id": PARTITION_KEY, "#expiration": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":deferral": {"N": str(deferral)},
                    ":message": {"S": message_id},
                    ":expiration": {"N": str(int(self.clock()) + PLACED_CALL_KEPT_SECONDS)},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as error:  # noqa: BLE001 - fail open: a copy more, never a request less
            logger.warning("Redial copies unavailable: this copy goes on", extra={"error": type(error).__name__})
        return True
