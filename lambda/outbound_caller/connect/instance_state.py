"""Where the containers share what they learnt about the Connect instance being full: one item, compare-and-set.

Kept in the placed-calls table when there is one (an item beside the calls', under its own key prefix), else in
the container's memory. Every change is conditional on the version read, so two invocations that find the
instance full at once close it once, and the calls an opening allows are taken once each.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.names import INSTANCE_STATE_KEY_PREFIX, PARTITION_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The item's attributes, each written by every change (the TTL one removes a state unchanged for a day).
_ATTRIBUTES = (
    "busy",
    "open_at",
    "hold",
    "budget",
    "opening",
    "fitted",
    "slots",
    "handed_at",
    "probe_at",
    "probe",
    "probe_failed",
    "version",
    "writer",
    TTL_ATTRIBUTE,
)
# The state describes minutes of calls; a day after its last change it says nothing, and TTL removes it.
STATE_KEPT_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class InstanceState:
    """What the function knows of the instance: full or not, and when and by whom it may be tried again."""

    busy: bool = False  # the instance answered LimitExceededException, and does not keep up with calls since
    open_at_ms: int = 0  # while busy, no call is tried before this time
    hold_ms: int = 0  # how long the instance is left alone after it is found full (0: the policy's initial hold)
    budget: int = 0  # while busy, the calls the current opening still allows (each call takes one)
    opening: int = 0  # while busy, the calls the current opening allowed in all (0: the policy's usual size)
    fitted: int = 0  # while busy, how many openings in a row had all their calls placed
    # While busy, the slots this deployment's ended calls freed with nobody waiting for them: any call may take one at
    # once, hold or not (capacity/hand_over.py). Found full again: none.
    slots: int = 0
    handed_at_ms: int = 0  # when an ended call last freed a slot or handed it to a waiting request
    # While slots are handed on, one call now and then tries for more room than the hand-overs give (other traffic
    # ended, lost contact events): the next try's time, the interval between tries, and whether the last one failed.
    probe_at_ms: int = 0
    probe_ms: int = 0
    probe_failed: bool = False
    version: int = 0


class InstanceStateUnavailableError(Exception):
    """The shared state could not be read or written: the caller goes on as if the instance had room."""


class InstanceStateStore(Protocol):
    """Load the state, and replace it only if nobody changed it since ``expected_version``."""

    def now_ms(self) -> int:
        """Wall-clock milliseconds, comparable across containers."""
        ...

    def load(self) -> InstanceState:
        """The current state (the default state when none was ever written)."""
        ...

    def replace(self, new: InstanceState, expected_version: int) -> InstanceState | None:
        """Write ``new`` (with version expected_version + 1); on a lost race return the state that won instead."""
        ...


class MemoryInstanceStateStore:
    """The state in this container's memory: for deployments without a placed-calls table."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._state = InstanceState()
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Wall-clock milliseconds."""
        return int(self.clock() * 1000)

    def load(self) -> InstanceState:
        """The current state."""
        return self._state

    def replace(self, new: InstanceState, expected_version: int) -> InstanceState | None:
        """Compare-and-set on the version."""
        with self._lock:
            if self._state.version != expected_version:
                return self._state
            self._state = _with_version(new, expected_version + 1)
            return None


def _with_version(state: InstanceState, version: int) -> InstanceState:
    return dataclasses.replace(state, version=version)


class DynamoInstanceStateStore:
    """The state as one item of the placed-calls table, shared by every container of the deployment."""

    def __init__(
        self, table_name: str, instance_id: str, client: DynamoDBClient, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        # Its own client: one attempt and short timeouts (timeouts.INSTANCE_STATE_*), as a hint must never eat a
        # record's time.
        self.client = client
        self._table = table_name
        key = f"{INSTANCE_STATE_KEY_PREFIX}#{instance_id}"
        self._key: dict[str, AttributeValueTypeDef] = {PARTITION_KEY: {"S": key}}

    def now_ms(self) -> int:
        """Wall-clock milliseconds."""
        return int(self.clock() * 1000)

    def load(self) -> InstanceState:
        """Read the item (strongly consistent: a stale 'open' would send calls to a full instance)."""
        try:
            item = self.client.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        except (BotoCoreError, ClientError) as error:
            raise InstanceStateUnavailableError(type(error).__name__) from error
        return _from_item(item) if item else InstanceState()

    def replace(self, new: InstanceState, expected_version: int) -> InstanceState | None:
        """Conditional UpdateItem on the version; a lost race returns the winner's state."""
        writer = uuid.uuid4().hex
        values: dict[str, AttributeValueTypeDef] = {
            ":busy": {"BOOL": new.busy},
            ":open_at": {"N": str(new.open_at_ms)},
            ":hold": {"N": str(new.hold_ms)},
            ":budget": {"N": str(new.budget)},
            ":opening": {"N": str(new.opening)},
            ":fitted": {"N": str(new.fitted)},
            ":slots": {"N": str(new.slots)},
            ":handed_at": {"N": str(new.handed_at_ms)},
            ":probe_at": {"N": str(new.probe_at_ms)},
            ":probe": {"N": str(new.probe_ms)},
            ":probe_failed": {"BOOL": new.probe_failed},
            # Tells this write from an identical one by another container, should botocore send it twice.
            ":writer": {"S": writer},
            ":version": {"N": str(expected_version + 1)},
            ":expected": {"N": str(expected_version)},
            f":{TTL_ATTRIBUTE}": {"N": str(self.now_ms() // 1000 + STATE_KEPT_SECONDS)},
        }
        try:
            self.client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in _ATTRIBUTES),
                ConditionExpression="attribute_not_exists(#id) OR #version = :expected",
                # Every name a placeholder: several (hold, version) are DynamoDB reserved words.
                ExpressionAttributeNames={"#id": PARTITION_KEY} | {f"#{name}": name for name in _ATTRIBUTES},
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                item: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
                # botocore retried a write whose first answer was lost: the winner is this very write.
                return None if item.get("writer", {}).get("S") == writer else _from_item(item)
            raise InstanceStateUnavailableError(type(error).__name__) from error
        except BotoCoreError as error:
            raise InstanceStateUnavailableError(type(error).__name__) from error
        return None


def _from_item(item: dict[str, AttributeValueTypeDef]) -> InstanceState:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    return InstanceState(
        busy=bool(item.get("busy", {}).get("BOOL", False)),
        open_at_ms=number("open_at"),
        hold_ms=number("hold"),
        budget=number("budget"),
        opening=number("opening"),
        fitted=number("fitted"),
        slots=number("slots"),
        handed_at_ms=number("handed_at"),
        probe_at_ms=number("probe_at"),
        probe_ms=number("probe"),
        probe_failed=bool(item.get("probe_failed", {}).get("BOOL", False)),
        version=number("version"),
    )
