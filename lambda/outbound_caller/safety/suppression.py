"""The suppression (do-not-call) list: numbers that asked not to be called, or that an operator listed.

One item per number in SUPPRESSION_TABLE_NAME, keyed ``hmac-sha256:`` and the lowercase hex of the HMAC-SHA256 of the
number as libphonenumber formats it in E.164 (``+44 20 7946 0123`` and ``+4402079460123`` are one line, one key),
keyed by the SUPPRESSION_KEY_SECRET_ID secret's SecretString (UTF-8). The table alone reveals no number, even to whoever
can read it: without the key, no list of numbers can be hashed to match it. The key is read with Powertools Parameters
and kept SUPPRESSION_KEY_MAX_AGE_SECONDS; while the key or the table cannot be read, no call is made.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import phonenumbers
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.names import PARTITION_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

# A listed number's key: the scheme, then the HMAC's lowercase hex (the contract's form).
KEY_SCHEME = "hmac-sha256:"
# How long a read key is reused: replacing it (which re-keys the whole table) takes effect within this long.
SUPPRESSION_KEY_MAX_AGE_SECONDS = 300
# What an item records besides its key: when and how the number was listed (never the number).
LISTED_AT_ATTRIBUTE = "listed_at"
LISTED_BY_ATTRIBUTE = "listed_by"


class SuppressionListUnavailableError(Exception):
    """The list's key or table could not be read: no call is made, the record is retried."""


def line_of(number: str) -> str:
    """The number as libphonenumber formats it in E.164: one line, one text, however the producer wrote it."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return number  # in no numbering plan: the text is all there is


def suppression_key(key: bytes, number: str) -> str:
    """The item key of a number: ``hmac-sha256:`` and the lowercase hex of HMAC-SHA256(key, its E.164 line)."""
    return KEY_SCHEME + hmac.new(key, line_of(number).encode("utf-8"), hashlib.sha256).hexdigest()


class SuppressionList:
    """Read, add to and remove from the suppression list."""

    def __init__(self, table_name: str, client: DynamoDBClient, secret_id: str, secrets: SecretsManagerClient) -> None:
        self.table_name = table_name
        self.client = client
        self._secret_id = secret_id
        self._secrets = SecretsProvider(boto3_client=secrets)

    def key_of(self, number: str) -> str:
        """The number's item key under the list's current key."""
        return suppression_key(self._key(), number)

    def is_listed(self, number: str) -> bool:
        """Whether the number is on the list (a strongly consistent read: an opt-out a moment ago counts)."""
        key = self.key_of(number)
        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": key}},
                ConsistentRead=True,
                ProjectionExpression="#id",
                ExpressionAttributeNames={"#id": PARTITION_KEY},
            )
        except (BotoCoreError, ClientError) as error:
            raise SuppressionListUnavailableError(type(error).__name__) from error
        return "Item" in answer

    def add(self, number: str, listed_by: str) -> str:
        """List the number (again: listing twice is one item); return its key."""
        key = self.key_of(number)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    PARTITION_KEY: {"S": key},
                    LISTED_AT_ATTRIBUTE: {"S": now},
                    LISTED_BY_ATTRIBUTE: {"S": listed_by},
                },
            )
        except (BotoCoreError, ClientError) as error:
            raise SuppressionListUnavailableError(type(error).__name__) from error
        return key

    def remove(self, number: str) -> str:
        """Take the number off the list (not listed: nothing to do); return its key."""
        key = self.key_of(number)
        try:
            self.client.delete_item(TableName=self.table_name, Key={PARTITION_KEY: {"S": key}})
        except (BotoCoreError, ClientError) as error:
            raise SuppressionListUnavailableError(type(error).__name__) from error
        return key

    def _key(self) -> bytes:
        try:
            secret = self._secrets.get(self._secret_id, max_age=SUPPRESSION_KEY_MAX_AGE_SECONDS)
        except Exception as error:
            raise SuppressionListUnavailableError(type(error).__name__) from error
        if not isinstance(secret, str) or not secret:
            raise SuppressionListUnavailableError("the key's secret holds no SecretString")
        return secret.encode("utf-8")
