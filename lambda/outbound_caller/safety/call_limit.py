"""The per-destination call limit (DESTINATION_CALL_LIMIT, e.g. ``3/24h``): at most that many calls to one number in
a sliding window, counted across every container in one DynamoDB item per number, changed by compare-and-set.

The item's key is a hash of the number, salted with a deployment-wide value (the Connect instance ID), so that the
same number always finds its item and no lookup table built elsewhere reads this one. A phone number has at most 15
digits, so it can still be found from its hash by brute force: the table is access-controlled data all the same.
The item holds ``calls``, a map from a hash of each call's ClientToken to when that call was counted (epoch ms), a
``version`` for compare-and-set, and ``expiration`` (TTL: the newest call's end of window), so that an idle
number's item disappears.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.config.call_limits import CallLimit, duration_text
from outbound_caller.names import DESTINATION_KEY_PREFIX, PARTITION_KEY, TTL_ATTRIBUTE
from outbound_caller.timeouts import (
    CALL_LIMIT_WRITES,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# A ClientToken hash's first 128 bits: unique among a number's calls, and half the bytes per entry.
TOKEN_HASH_HEX_DIGITS = 32

# Every name a placeholder: some (version) may be DynamoDB reserved words, and the TTL one is the table's.
_NAMES = {"#calls": "calls", "#version": "version", "#expiration": TTL_ATTRIBUTE}


class DestinationCallLimitError(Exception):
    """The number had all the calls the limit allows in its window; the message never names the number."""

    def __init__(self, limit: CallLimit, counted: int) -> None:
        super().__init__(
            f"the destination was called {counted} time{'' if counted == 1 else 's'}"
            f" in the last {duration_text(limit.window_seconds)};"
            f" DESTINATION_CALL_LIMIT allows {limit.calls}"
        )


class CallLimitUnavailableError(Exception):
    """The limit's table could not be read or written: the caller places no call and retries the record."""


@dataclass(frozen=True)
class _Counted:
    calls: dict[str, int]  # token hash -> epoch ms when its call was counted
    version: int | None  # None: no item


def destination_key(number: str, salt: str) -> str:
    """The item key for a number: a salted hash of the line it dials, never the number itself."""
    digest = hashlib.sha256(f"{salt}\0{_line(number)}".encode()).hexdigest()
    return f"{DESTINATION_KEY_PREFIX}#{digest}"


def _line(number: str) -> str:
    """The number as libphonenumber dials it: +4402079460123 and +442079460123 are one line, counted once."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return number  # in no numbering plan: the text is all there is


def _token_hash(client_token: str) -> str:
    return hashlib.sha256(client_token.encode()).hexdigest()[:TOKEN_HASH_HEX_DIGITS]


def _counted(item: dict[str, Any] | None) -> _Counted:
    if not item:
        return _Counted({}, None)
    calls = {token: int(value["N"]) for token, value in item.get("calls", {}).get("M", {}).items()}
    return _Counted(calls, int(item["version"]["N"]))


class DestinationCallLimiter:
    """Count each call to a number against the limit before it is placed, and uncount one Connect surely refused."""

    def __init__(
        self,
        table_name: str,
        limit: CallLimit,
        client: DynamoDBClient,
        *,
        salt: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table_name = table_name
        self.limit = limit
        self.clock = clock
        self._salt = salt
        # One attempt, short timeouts (timeouts.CALL_LIMIT_*): while the table cannot answer, no call is made.
        self.client = client

    def reserve(self, number: str, client_token: str) -> None:
        """Count this token's call to the number, or raise DestinationCallLimitError; a token counts once."""
        key, token = destination_key(number, self._salt), _token_hash(client_token)
        counted = self._read(key)
        for _ in range(CALL_LIMIT_WRITES):
            now_ms = self._now_ms()
            calls = self._in_window(counted.calls, now_ms)
            # A replay, a retry of the same request, or our own write whose answer was lost and that botocore sent
            # again (its condition then failed on the version it had itself bumped): already counted.
            if token in calls:
                return
            if len(calls) >= self.limit.calls:
                raise DestinationCallLimitError(self.limit, len(calls))
            lost_to = self._write(key, calls | {token: now_ms}, counted.version, now_ms)
            if lost_to is None:
                return
            counted = lost_to
        raise CallLimitUnavailableError("the destination's call count kept changing under us")

    def release(self, number: str, client_token: str) -> None:
        """Uncount this token's call (Connect surely created none); nothing to uncount is fine."""
        key, token = destination_key(number, self._salt), _token_hash(client_token)
        counted = self._read(key)
        for _ in range(CALL_LIMIT_WRITES):
            if token not in counted.calls:
                return
            now_ms = self._now_ms()
            calls = self._in_window(counted.calls, now_ms)
            calls.pop(token, None)
            lost_to = self._write(key, calls, counted.version, now_ms)
            if lost_to is None:
                return
            counted = lost_to
        raise CallLimitUnavailableError("the destination's call count kept changing under us")

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _in_window(self, calls: dict[str, int], now_ms: int) -> dict[str, int]:
        # A call counted at t counts until t + window, exclusive.
        window_ms = self.limit.window_seconds * 1000
        return {token: at for token, at in calls.items() if now_ms < at + window_ms}

    def _read(self, key: str) -> _Counted:
        # Strongly consistent: a stale count would let a call through that the limit forbids.
        try:
            item = self.client.get_item(
                TableName=self.table_name, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
            ).get("Item")
        except (BotoCoreError, ClientError) as error:
            raise CallLimitUnavailableError(_reason(error)) from error
        return _counted(item)

    def _write(self, key: str, calls: dict[str, int], expected: int | None, now_ms: int) -> _Counted | None:
        """Replace the item if its version is still ``expected``; on a lost race return what is there instead."""
        # Versions are times as well as counts, so an item that TTL deleted and another container created anew does
        # not start again at a version a container may still hold from before (a counter restarting at 1 would).
        version = max((expected or 0) + 1, now_ms)
        newest = max(calls.values(), default=now_ms - self.limit.window_seconds * 1000)
        values: dict[str, AttributeValueTypeDef] = {
            ":calls": {"M": {token: {"N": str(at)} for token, at in calls.items()}},
            ":version": {"N": str(version)},
            # When the newest call stops counting the item says nothing more: TTL may take it (seconds, rounded up).
            ":expiration": {"N": str((newest + self.limit.window_seconds * 1000 + 999) // 1000)},
        }
        names = dict(_NAMES)
        if expected is None:
            condition = "attribute_not_exists(#id)"
            names["#id"] = PARTITION_KEY
        else:
            condition = "#version = :expected"
            values[":expected"] = {"N": str(expected)}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: {"S": key}},
                UpdateExpression="SET #calls = :calls, #version = :version, #expiration = :expiration",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                # What the winner wrote, as a consistent read would give it now (none: the item was deleted).
                return _counted(error.response.get("Item"))  # type: ignore[arg-type]
            raise CallLimitUnavailableError(_reason(error)) from error
        except BotoCoreError as error:
            raise CallLimitUnavailableError(_reason(error)) from error
        return None


def _reason(error: Exception) -> str:
    """The error's kind, never its text (which may quote the request)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__
