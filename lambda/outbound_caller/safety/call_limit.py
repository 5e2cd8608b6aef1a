"""Calls counted in sliding windows, per destination number (DESTINATION_CALL_LIMIT) and per caller ID
(SOURCE_CALL_LIMIT): each key's calls in one DynamoDB item, changed by compare-and-set, across every container.

A key is a salted hash (the Connect instance ID salts it), so the same number or caller ID always finds its item and no
lookup table built elsewhere reads this one; a phone number has at most 15 digits, so it can still be found from its
hash by brute force: the table is access-controlled data all the same. The item holds ``calls``, a map from a hash of
each call's ClientToken to when that call was counted (epoch ms), a ``version`` for compare-and-set, and
``expiration`` (TTL: the newest call's end of the longest window), so that an idle key's item disappears. Several
limits (``2/24h,6/14d``) are kept in the one item and checked in the one write: all hold, or the call is not counted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.config.call_limits import CallLimit, CallLimits
from outbound_caller.names import DESTINATION_KEY_PREFIX, PARTITION_KEY, SOURCE_KEY_PREFIX, TTL_ATTRIBUTE
from outbound_caller.timeouts import CALL_LIMIT_WRITES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# A ClientToken hash's first 128 bits: unique among a key's calls, and half the bytes per entry.
TOKEN_HASH_HEX_DIGITS = 32
# Every name a placeholder: some (version) may be DynamoDB reserved words, and the TTL one is the table's.
_NAMES = {"#calls": "calls", "#version": "version", "#expiration": TTL_ATTRIBUTE}


class LimitReachedError(Exception):
    """A key had all the calls one of its limits allows: which limit, how many calls, and when one slot frees."""

    def __init__(self, limit: CallLimit, counted: int, frees_at_ms: int) -> None:
        super().__init__(f"{counted} calls counted against {limit}")
        self.limit = limit
        self.counted = counted
        self.frees_at_ms = frees_at_ms


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


def source_key(caller_id: str, salt: str) -> str:
    """The item key for a caller ID (a source number, else a queue ID): a salted hash, never the number itself."""
    digest = hashlib.sha256(f"{salt}\0{_line(caller_id) if caller_id.startswith('+') else caller_id}".encode())
    return f"{SOURCE_KEY_PREFIX}#{digest.hexdigest()}"


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


def _first_limit_reached(limits: CallLimits, calls: dict[str, int], now_ms: int) -> LimitReachedError | None:
    """The first limit the calls already fill (one more would break it), with when a slot of it frees; else None."""
    for limit in limits.limits:
        window_ms = limit.window_seconds * 1000
        in_window = sorted(at for at in calls.values() if now_ms < at + window_ms)
        if len(in_window) >= limit.calls:
            # The count drops below the limit once all but limit.calls - 1 of these have left the window.
            frees_at_ms = in_window[len(in_window) - limit.calls] + window_ms
            return LimitReachedError(limit, len(in_window), frees_at_ms)
    return None


class CallCounter:
    """Count a token's call under a key against limits before it is placed; uncount one Connect surely refused."""

    def __init__(self, table_name: str, client: DynamoDBClient, *, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.clock = clock
        # One attempt, short timeouts (timeouts.CALL_LIMIT_*): while the table cannot answer, no call is made.
        self.client = client

    def reserve(self, key: str, client_token: str, limits: CallLimits) -> None:
        """Count this token's call, or raise LimitReachedError; a token counts once."""
        token = _token_hash(client_token)
        counted = self._read(key)
        for _ in range(CALL_LIMIT_WRITES):
            now_ms = self._now_ms()
            calls = self._remembered(counted.calls, limits, now_ms)
            # A replay, a retry of the same request, or our own write whose answer was lost and that botocore sent
            # again (its condition then failed on the version it had itself bumped): already counted.
            if token in calls:
                return
            reached = _first_limit_reached(limits, calls, now_ms)
            if reached is not None:
                raise reached
            lost_to = self._write(key, calls | {token: now_ms}, counted.version, now_ms, limits)
            if lost_to is None:
                return
            counted = lost_to
        raise CallLimitUnavailableError("the call count kept changing under us")

    def release(self, key: str, client_token: str, limits: CallLimits) -> None:
        """Uncount this token's call (Connect surely created none); nothing to uncount is fine."""
        token = _token_hash(client_token)
        counted = self._read(key)
        for _ in range(CALL_LIMIT_WRITES):
            if token not in counted.calls:
                return
            now_ms = self._now_ms()
            calls = self._remembered(counted.calls, limits, now_ms)
            calls.pop(token, None)
            lost_to = self._write(key, calls, counted.version, now_ms, limits)
            if lost_to is None:
                return
            counted = lost_to
        raise CallLimitUnavailableError("the call count kept changing under us")

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    @staticmethod
    def _remembered(calls: dict[str, int], limits: CallLimits, now_ms: int) -> dict[str, int]:
        # A call counted at t counts until t + window, exclusive: the longest window says which are still counted.
        window_ms = limits.longest_window_seconds * 1000
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

    def _write(
        self, key: str, calls: dict[str, int], expected: int | None, now_ms: int, limits: CallLimits
    ) -> _Counted | None:
        """Replace the item if its version is still ``expected``; on a lost race return what is there instead."""
        # Versions are times as well as counts, so an item that TTL deleted and another container created anew does
        # not start again at a version a container may still hold from before (a counter restarting at 1 would).
        version = max((expected or 0) + 1, now_ms)
        window_ms = limits.longest_window_seconds * 1000
        newest = max(calls.values(), default=now_ms - window_ms)
        values: dict[str, AttributeValueTypeDef] = {
            ":calls": {"M": {token: {"N": str(at)} for token, at in calls.items()}},
            ":version": {"N": str(version)},
            # When the newest call stops counting the item says nothing more: TTL may take it (seconds, rounded up).
            ":expiration": {"N": str((newest + window_ms + 999) // 1000)},
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
