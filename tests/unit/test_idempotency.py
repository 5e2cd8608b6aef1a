"""Durable idempotency is added around place_call only when a table is configured."""

from __future__ import annotations

from outbound_caller.calls import place_call
from outbound_caller.idempotency import RECORD_KEPT_SECONDS, once_per_client_token


def test_without_a_table_place_call_is_unchanged() -> None:
    # Given no idempotency table
    # When place_call is wrapped
    # Then it is the same function: the ClientToken alone guards against repeats
    assert once_per_client_token(place_call, None) is place_call


def test_with_a_table_place_call_is_wrapped() -> None:
    # Given an idempotency table
    # When place_call is wrapped
    wrapped = once_per_client_token(place_call, "outbound-calls-placed")
    # Then a recording wrapper stands in front of it
    assert wrapped is not place_call
    assert wrapped.__wrapped__ is place_call  # type: ignore[attr-defined]


def test_records_outlive_every_way_a_request_can_come_back() -> None:
    # Given the source queue's 4-day retention and the dead-letter queue's 14 days
    # Then a placed call is remembered at least that long
    assert RECORD_KEPT_SECONDS >= (4 + 14) * 86_400
