"""The busy-instance state in DynamoDB (moto): compare-and-set on a version, shared by every container."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from outbound_caller.connect.instance_state import (
    DynamoInstanceStateStore,
    InstanceState,
    InstanceStateUnavailableError,
)
from tests.support.environment import IDEMPOTENCY_TABLE, INSTANCE_ID


@pytest.fixture
def store(aws: None) -> DynamoInstanceStateStore:
    return DynamoInstanceStateStore(IDEMPOTENCY_TABLE, INSTANCE_ID, boto3.client("dynamodb"))


def test_a_state_never_written_reads_as_a_free_instance(store: DynamoInstanceStateStore) -> None:
    # Given no state written yet
    # When it is read
    # Then the instance is free
    assert store.load() == InstanceState()


def test_a_write_on_the_version_read_wins_and_bumps_the_version(store: DynamoInstanceStateStore) -> None:
    # Given a state read at version 0
    read = store.load()
    # When a container writes a full instance on it
    lost = store.replace(InstanceState(busy=True, open_at_ms=5_000, hold_ms=10_000), read.version)
    # Then it wins, and every container now reads it at version 1
    assert lost is None
    assert DynamoInstanceStateStore(IDEMPOTENCY_TABLE, INSTANCE_ID, boto3.client("dynamodb")).load() == InstanceState(
        busy=True, open_at_ms=5_000, hold_ms=10_000, version=1
    )


def test_a_write_on_a_stale_version_loses_and_learns_the_winner(store: DynamoInstanceStateStore) -> None:
    # Given two containers that read version 0, and the first one's write
    store.replace(InstanceState(busy=True, open_at_ms=5_000, budget=3), 0)
    # When the second writes on the same version (both took the same one of the opening's calls)
    winner = store.replace(InstanceState(busy=True, open_at_ms=5_000, budget=3), 0)
    # Then its write is refused and it is told the state that won
    assert winner is not None
    assert winner == InstanceState(busy=True, open_at_ms=5_000, budget=3, version=1)


def test_a_retried_write_whose_first_answer_was_lost_is_recognised(
    store: DynamoInstanceStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a write that landed though its answer was lost: botocore sends the very same request again
    monkeypatch.setattr("outbound_caller.connect.instance_state.uuid.uuid4", lambda: uuid.UUID(int=7))
    new = InstanceState(busy=True, open_at_ms=5_000, hold_ms=10_000, budget=3)
    store.replace(new, 0)
    # When the same request arrives again on the same version
    # Then it is taken as its own success, not as a lost race
    assert store.replace(new, 0) is None


def test_the_item_lives_beside_the_calls_under_its_own_key_with_a_ttl(store: DynamoInstanceStateStore) -> None:
    # Given a state written
    store.replace(InstanceState(busy=True), 0)
    # When the table is scanned
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    # Then one item holds it, keyed by the instance, with an expiration for DynamoDB's TTL
    [item] = items
    assert item["id"]["S"] == f"connect-outbound-caller#instance#{INSTANCE_ID}"
    assert int(item["expiration"]["N"]) > 0


def test_an_unavailable_table_is_reported_not_raised_raw(aws: None) -> None:
    # Given a table that does not exist
    store = DynamoInstanceStateStore("no-such-table", INSTANCE_ID, boto3.client("dynamodb"))
    # When the state is read or written
    # Then the caller gets the store's own error, to go on calling
    with pytest.raises(InstanceStateUnavailableError):
        store.load()
    with pytest.raises(InstanceStateUnavailableError):
        store.replace(InstanceState(busy=True), 0)
