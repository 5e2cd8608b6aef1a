"""Find the placed-calls ledger item of a contact by its ContactId, through the table's sparse ContactId index.

The ledger keys each call by a hash of its ClientToken and never stores the token itself, so what a contact's item
gives back is that hash: the completion event shows it as the function shows a producer's token everywhere else
(``sha256:`` and the hash's first hex digits). The index is eventually consistent: a contact ended within moments
of being placed (or whose ledger record the caller is still completing) may not be in it yet; that is "not found",
never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outbound_caller.names import CONTACT_ID_ATTRIBUTE, CONTACT_ID_INDEX_NAME, PARTITION_KEY, PLACED_CALL_KEY_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_HASH_PREFIX = f"{PLACED_CALL_KEY_PREFIX}#"


class PlacedCallLookup:
    """Query the placed-calls table's ContactId index."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self.client = client

    def client_token_sha256(self, contact_id: str) -> str | None:
        """The hex SHA-256 of the ClientToken whose call created this contact; None when the index has no such item."""
        response = self.client.query(
            TableName=self.table_name,
            IndexName=CONTACT_ID_INDEX_NAME,
            KeyConditionExpression="#contact_id = :contact_id",
            ExpressionAttributeNames={"#contact_id": CONTACT_ID_ATTRIBUTE},
            ExpressionAttributeValues={":contact_id": {"S": contact_id}},
            # One contact has one token: a second item would be a second call Connect answered with the same ID.
            Limit=1,
        )
        for item in response.get("Items", []):
            key = item[PARTITION_KEY]["S"]
            if key.startswith(_HASH_PREFIX):
                return key.removeprefix(_HASH_PREFIX)
        return None
