"""What the local Connect decides for each request, seen through an unmodified boto3 client: quota, concurrent calls,
ClientToken, call lengths, faults before create and scripted destinations.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from botocore.exceptions import ClientError

from local.connect_rules import IDEMPOTENT_REPLAY, PLACED, TokenBucket
from tests.support.local_connect import (
    CLOCK_SLACK_SECONDS,
    FLAKY,
    PAST_SHORT_CALL_SECONDS,
    SHORT_CALL_SECONDS,
    THROTTLED,
    UNREACHABLE,
    call,
    error_of,
)


def test_the_quota_allows_the_burst_then_throttles_until_tokens_refill(serve: Any) -> None:
    # Given the default quota shape, 2 requests per second with a burst of 5
    endpoint, client = serve(calls_per_second=2.0, burst=5)
    # When 6 requests arrive at once
    for _ in range(5):
        call(client)
    # Then the sixth is throttled with a 429 ThrottlingException
    assert error_of(client) == ("ThrottlingException", 429)
    # And after half a second (one token at 2/s) a request passes again
    time.sleep(0.55)
    call(client)
    assert endpoint.instance.stats.responses == {"Placed": 6, "ThrottlingException": 1}
    assert endpoint.instance.stats.throttled == 1


def test_token_bucket_refills_at_its_rate_up_to_the_burst() -> None:
    # Given a bucket with a fake clock
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    # When it is drained, then 10 s pass
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    now[0] = 10.0
    # Then it holds no more than the burst
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    # And half a second gives back exactly one token
    now[0] = 10.5
    assert [bucket.try_take() for _ in range(2)] == [True, False]


def test_calls_beyond_the_concurrent_limit_get_limit_exceeded_until_one_ends(serve: Any) -> None:
    # Given an instance with 2 concurrent calls of 0.5 s
    endpoint, client = serve(max_concurrent_calls=2, call_duration_seconds=0.5)
    # When three calls start at once
    call(client)
    call(client)
    # Then the third gets LimitExceededException (429)
    assert error_of(client) == ("LimitExceededException", 429)
    assert endpoint.instance.active_calls() == 2
    # And once the calls have ended a new one is placed
    time.sleep(0.6)
    call(client)
    assert endpoint.instance.stats.max_active_calls == 2


def test_the_same_client_token_while_the_call_is_live_returns_the_same_contact(serve: Any) -> None:
    # Given a live call placed with a ClientToken
    endpoint, client = serve()
    first = call(client, ClientToken="token-1")
    # When the same request is sent again with the same token, and another with a new token
    again = call(client, ClientToken="token-1")
    other = call(client, ClientToken="token-2")
    # Then the repeat returns the first contact and only two calls exist
    assert again["ContactId"] == first["ContactId"]
    assert other["ContactId"] != first["ContactId"]
    assert len(endpoint.instance.placed_calls) == 2
    assert endpoint.instance.stats.responses == {PLACED: 2, IDEMPOTENT_REPLAY: 1}


def test_the_same_client_token_after_the_call_ended_starts_a_new_call(serve: Any) -> None:
    # Given a short call placed with a ClientToken, which has ended
    endpoint, client = serve(call_duration_seconds=SHORT_CALL_SECONDS)
    first = call(client, ClientToken="token-1", Attributes={"request_id": "r-1"})
    time.sleep(PAST_SHORT_CALL_SECONDS)
    # When the same request is sent again with the same token
    again = call(client, ClientToken="token-1", Attributes={"request_id": "r-1"})
    # Then Connect starts a new contact, as the real one does once a contact is disconnected
    assert again["ContactId"] != first["ContactId"]
    assert [placed.contact_id for placed in endpoint.instance.placed_calls] == [first["ContactId"], again["ContactId"]]
    assert endpoint.instance.stats.responses == {PLACED: 2}
    # And a third request with the token, while the new call is live, returns the new contact
    assert call(client, ClientToken="token-1")["ContactId"] == again["ContactId"]


def test_a_new_call_under_an_old_token_counts_against_the_concurrent_limit(serve: Any) -> None:
    # Given one concurrent call allowed, a short call under a token that has ended, and a live call under another
    endpoint, client = serve(max_concurrent_calls=1, call_duration_seconds=SHORT_CALL_SECONDS)
    call(client, ClientToken="token-1")
    time.sleep(PAST_SHORT_CALL_SECONDS)
    call(client, ClientToken="token-2")
    # When the first token is sent again
    # Then it is a new call like any other, refused while the line is busy
    assert error_of(client, ClientToken="token-1") == ("LimitExceededException", 429)
    assert endpoint.instance.stats.contacts_created == 2


def test_call_durations_are_drawn_between_the_two_bounds(serve: Any) -> None:
    # Given calls lasting between 1 and 3 s, seeded
    endpoint, client = serve(call_duration_seconds=1.0, call_duration_max_seconds=3.0, seed=11)
    # When 50 calls are placed, each between two readings of the clock the instance uses for ends_at
    windows = []
    for _ in range(50):
        before = time.monotonic()
        call(client)
        windows.append((before, time.monotonic()))
    # Then every call lasts within the bounds, and they do not all last the same
    durations = []
    for placed, (before, after) in zip(endpoint.instance.placed_calls, windows, strict=True):
        assert placed.ends_at - after >= 1.0 - CLOCK_SLACK_SECONDS
        assert placed.ends_at - before <= 3.0 + CLOCK_SLACK_SECONDS
        durations.append(placed.ends_at - before)
    assert max(durations) - min(durations) > 1.0


def test_injected_server_errors_and_throttles(serve: Any) -> None:
    # Given instances answering every request with a 500, or with a 429
    _, failing = serve(server_error_rate=1.0)
    _, throttling = serve(throttle_rate=1.0)
    # Then botocore sees InternalServiceException (500) and TooManyRequestsException (429)
    assert error_of(failing) == ("InternalServiceException", 500)
    assert error_of(throttling) == ("TooManyRequestsException", 429)


def test_fault_rates_are_shares_of_requests(serve: Any) -> None:
    # Given an instance failing a quarter of requests with 500 and a quarter with 429, seeded
    endpoint, client = serve(server_error_rate=0.25, throttle_rate=0.25, seed=7)
    # When 200 requests are sent
    for _ in range(200):
        with contextlib.suppress(ClientError):
            call(client)
    # Then roughly half were placed and the rest split between the two faults
    responses = endpoint.instance.stats.responses
    assert 30 <= responses["InternalServiceException"] <= 70
    assert 30 <= responses["TooManyRequestsException"] <= 70
    assert responses["Placed"] == 200 - responses["InternalServiceException"] - responses["TooManyRequestsException"]


def test_unreachable_destinations_always_answer_500_without_a_contact(serve: Any) -> None:
    # Given the default unreachable destinations (+1212555017x)
    endpoint, client = serve()
    # When one is called again and again under one token
    # Then every attempt fails with 500 and nothing is created
    for _ in range(4):
        assert error_of(client, UNREACHABLE, ClientToken="u") == ("InternalServiceException", 500)
    assert endpoint.instance.placed_calls == []


def test_throttled_destinations_always_answer_429_without_a_contact(serve: Any) -> None:
    # Given the default throttled destinations (+1212555016x)
    endpoint, client = serve()
    # When one is called again and again under one token
    # Then every attempt is throttled with TooManyRequestsException and nothing is created
    for _ in range(4):
        assert error_of(client, THROTTLED, ClientToken="t") == ("TooManyRequestsException", 429)
    assert endpoint.instance.placed_calls == []
    assert endpoint.instance.stats.throttled == 4


def test_flaky_destinations_answer_429_for_the_first_attempts_of_each_token_then_place(serve: Any) -> None:
    # Given the default flaky destinations (+1212555018x), 2 failures per token
    endpoint, client = serve(flaky_failures=2)
    # When one is called under a token
    # Then the first two attempts are throttled with TooManyRequestsException, and the third is placed
    for _ in range(2):
        assert error_of(client, FLAKY, ClientToken="f") == ("TooManyRequestsException", 429)
    placed = call(client, FLAKY, ClientToken="f")
    assert [contact.contact_id for contact in endpoint.instance.placed_calls] == [placed["ContactId"]]
    # And a new token starts its own count of failures
    assert error_of(client, FLAKY, ClientToken="g") == ("TooManyRequestsException", 429)
    assert endpoint.instance.stats.responses == {"TooManyRequestsException": 3, PLACED: 1}
