"""Faults of the local Connect that leave a contact behind, or drop the connection, seen through an unmodified boto3.

These are the answers that tempt a caller to ring twice: the call exists, but the caller never heard so.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from local.connect_behaviour import (
    DROP_AFTER_CREATE,
    DROP_BEFORE_CREATE,
    READ_TIMEOUT_AFTER_CREATE,
    SERVER_ERROR_AFTER_CREATE,
)
from local.connect_endpoint import LocalConnectEndpoint
from local.connect_rules import PLACED
from tests.support.local_connect import (
    NO_RETRIES,
    PAST_SHORT_CALL_SECONDS,
    SHORT_CALL_SECONDS,
    call,
    client_of,
    local_connects,
)

# botocore's standard retry mode, as the function configures it (outbound_caller.timeouts.MAX_ATTEMPTS).
STANDARD_ATTEMPTS = 3
WITH_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": STANDARD_ATTEMPTS})
# A client that gives up after 1 s, against an instance that holds its answer for 2 s.
CLIENT_READ_TIMEOUT_SECONDS = 1
SLOW_ANSWER_SECONDS = 2.0
IMPATIENT = Config(read_timeout=CLIENT_READ_TIMEOUT_SECONDS, retries={"total_max_attempts": 1})
# How often a test looks again for a contact created by a request still in flight.
POLL_SECONDS = 0.02


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a local Connect with the given behaviour; return it."""
    with local_connects() as start:

        def _serve(**behaviour: Any) -> LocalConnectEndpoint:
            endpoint, _ = start(**behaviour)
            return endpoint

        yield _serve


@pytest.mark.usefixtures("no_backoff")
def test_a_server_error_after_create_leaves_one_call_however_often_botocore_retries(serve: Any) -> None:
    # Given an instance that creates each contact, then answers 500
    endpoint = serve(server_error_after_create_rate=1.0)
    client = client_of(endpoint, WITH_RETRIES)
    # When a request with a ClientToken goes through botocore's standard retries
    with pytest.raises(ClientError) as raised:
        call(client, ClientToken="token-1")
    # Then the caller sees InternalServiceException after its last attempt
    assert raised.value.response["Error"]["Code"] == "InternalServiceException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == STANDARD_ATTEMPTS - 1
    # And the retries, with the same token while the call is live, reached the one contact the first created
    stats = endpoint.instance.stats
    assert len(endpoint.instance.placed_calls) == stats.contacts_created == 1
    assert stats.responses == {"InternalServiceException": STANDARD_ATTEMPTS}
    assert stats.faults == {SERVER_ERROR_AFTER_CREATE: STANDARD_ATTEMPTS}


def test_a_retry_after_a_server_error_once_the_call_ended_rings_again(serve: Any) -> None:
    # Given a short call created and answered with a 500, which has since ended
    endpoint = serve(server_error_after_create_rate=1.0, call_duration_seconds=SHORT_CALL_SECONDS)
    client = client_of(endpoint)
    with pytest.raises(ClientError):
        call(client, ClientToken="token-1", Attributes={"request_id": "r-1"})
    time.sleep(PAST_SHORT_CALL_SECONDS)
    # When the caller retries with the same token
    with pytest.raises(ClientError):
        call(client, ClientToken="token-1", Attributes={"request_id": "r-1"})
    # Then a second call was placed for the same request, as the real Connect would
    placed = endpoint.instance.placed_calls
    assert [contact.attributes["request_id"] for contact in placed] == ["r-1", "r-1"]
    assert placed[0].contact_id != placed[1].contact_id


def test_a_slow_answer_after_create_times_the_client_out_with_the_call_placed(serve: Any) -> None:
    # Given an instance that creates each contact, then holds its answer longer than the client waits
    endpoint = serve(read_timeout_after_create_rate=1.0, slow_answer_seconds=SLOW_ANSWER_SECONDS)
    client = client_of(endpoint, IMPATIENT)
    # When a request is sent
    with pytest.raises(ReadTimeoutError):
        call(client, ClientToken="token-1")
    # Then botocore gave up reading, yet exactly one call was placed
    stats = endpoint.instance.stats
    assert len(endpoint.instance.placed_calls) == stats.contacts_created == 1
    assert stats.faults == {READ_TIMEOUT_AFTER_CREATE: 1}


def test_a_held_answer_does_not_hold_up_the_instance(serve: Any) -> None:
    # Given an instance holding every answer for 2 s, and a request in flight
    endpoint = serve(read_timeout_after_create_rate=1.0, slow_answer_seconds=SLOW_ANSWER_SECONDS)
    client = client_of(endpoint, IMPATIENT)
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            call(client)
        except ReadTimeoutError as error:
            outcome.append(error)

    started = time.monotonic()
    in_flight = threading.Thread(target=send)
    in_flight.start()
    # When the instance's state is read while that answer is held
    while endpoint.instance.stats.contacts_created == 0:
        time.sleep(POLL_SECONDS)
    seen_after = time.monotonic() - started
    in_flight.join()
    # Then the contact was visible before the answer was due: the hold is not spent under the instance's lock
    assert seen_after < SLOW_ANSWER_SECONDS / 2
    # And the request in flight still timed out
    assert [type(error) for error in outcome] == [ReadTimeoutError]


def test_a_connection_dropped_after_create_leaves_the_call_placed(serve: Any) -> None:
    # Given an instance that creates each contact, then closes the connection without answering
    endpoint = serve(drop_after_create_rate=1.0)
    client = client_of(endpoint, NO_RETRIES)
    # When a request is sent
    with pytest.raises(ConnectionClosedError):
        call(client, ClientToken="token-1")
    # Then botocore saw the connection close, yet exactly one call was placed, and no answer was written
    stats = endpoint.instance.stats
    assert len(endpoint.instance.placed_calls) == stats.contacts_created == 1
    assert stats.faults == {DROP_AFTER_CREATE: 1}
    assert (stats.responses, stats.requests) == ({}, 1)


@pytest.mark.usefixtures("no_backoff")
def test_retries_of_a_dropped_connection_reach_the_same_live_call(serve: Any) -> None:
    # Given an instance that creates each contact, then closes the connection without answering
    endpoint = serve(drop_after_create_rate=1.0)
    client = client_of(endpoint, WITH_RETRIES)
    # When a request with a ClientToken goes through botocore's standard retries
    with pytest.raises(ConnectionClosedError):
        call(client, ClientToken="token-1")
    # Then every attempt reached the instance, and only the first created a contact
    stats = endpoint.instance.stats
    assert stats.requests == STANDARD_ATTEMPTS
    assert stats.contacts_created == 1


def test_a_connection_dropped_before_create_leaves_nothing(serve: Any) -> None:
    # Given an instance that closes every connection before doing anything
    endpoint = serve(drop_before_create_rate=1.0)
    client = client_of(endpoint, NO_RETRIES)
    # When a request is sent
    with pytest.raises(ConnectionClosedError):
        call(client, ClientToken="token-1")
    # Then botocore saw the connection close, and no contact exists
    stats = endpoint.instance.stats
    assert endpoint.instance.placed_calls == []
    assert (stats.contacts_created, stats.faults, stats.requests) == (0, {DROP_BEFORE_CREATE: 1}, 1)


def test_fault_rates_after_create_are_shares_of_requests_and_every_contact_is_recorded(serve: Any) -> None:
    # Given an instance meeting a fifth of requests with each fault after create, a tenth dropped before, seeded;
    # answers are held for no time so the client never gives up
    endpoint = serve(
        drop_before_create_rate=0.1,
        server_error_after_create_rate=0.2,
        read_timeout_after_create_rate=0.2,
        drop_after_create_rate=0.2,
        slow_answer_seconds=0.0,
        seed=3,
    )
    client = client_of(endpoint, NO_RETRIES)
    # When 200 requests with distinct tokens are sent
    for index in range(200):
        with contextlib.suppress(ClientError, ConnectionClosedError):
            call(client, ClientToken=f"token-{index}", Attributes={"request_id": str(index)})
    # Then each fault met roughly its share
    stats = endpoint.instance.stats
    assert 5 <= stats.faults[DROP_BEFORE_CREATE] <= 40
    for fault in (SERVER_ERROR_AFTER_CREATE, READ_TIMEOUT_AFTER_CREATE, DROP_AFTER_CREATE):
        assert 15 <= stats.faults[fault] <= 60
    # And every request that got past the first draw created a contact, faulted answer or not, and is recorded
    assert stats.requests == 200
    assert stats.contacts_created == 200 - stats.faults[DROP_BEFORE_CREATE]
    assert len(endpoint.instance.placed_calls) == stats.contacts_created
    # And the answers written add up: 500s after create, and 200s (slow ones included); drops wrote nothing
    assert stats.responses == {
        "InternalServiceException": stats.faults[SERVER_ERROR_AFTER_CREATE],
        PLACED: stats.contacts_created - stats.faults[SERVER_ERROR_AFTER_CREATE] - stats.faults[DROP_AFTER_CREATE],
    }
