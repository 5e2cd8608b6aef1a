"""The local Connect endpoint, called through an unmodified boto3 client: protocol, quota, calls, faults."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.connect_endpoint import ConnectBehaviour, LocalConnectEndpoint, TokenBucket

INSTANCE_ID = "00000000-0000-0000-0000-000000000000"
FLOW_ID = "11111111-1111-1111-1111-111111111111"
UNGRANTED_FLOW_ID = "22222222-2222-4222-8222-222222222222"
CALLABLE = "+15555550100"
REFUSED = "+447700900123"
# Lots of quota and calls, so that a test only meets the limit it is about.
GENEROUS = {"calls_per_second": 1000.0, "burst": 1000, "max_concurrent_calls": 1000}


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a local Connect with the given behaviour; return it and a boto3 client that never retries."""
    endpoints: list[LocalConnectEndpoint] = []

    def _serve(**behaviour: Any) -> tuple[LocalConnectEndpoint, Any]:
        endpoint = LocalConnectEndpoint(ConnectBehaviour(**{"instance_id": INSTANCE_ID, **GENEROUS, **behaviour}))
        endpoint.start()
        endpoints.append(endpoint)
        client = boto3.client(
            "connect",
            endpoint_url=endpoint.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        return endpoint, client

    yield _serve
    for endpoint in endpoints:
        endpoint.stop()


def call(client: Any, destination: str = CALLABLE, **fields: Any) -> dict[str, Any]:
    params = {
        "DestinationPhoneNumber": destination,
        "ContactFlowId": FLOW_ID,
        "InstanceId": INSTANCE_ID,
        "SourcePhoneNumber": "+15555550199",
        **fields,
    }
    return client.start_outbound_voice_contact(**{key: value for key, value in params.items() if value is not None})  # type: ignore[no-any-return]


def error_of(client: Any, destination: str = CALLABLE, **fields: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(client, destination, **fields)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_call_is_placed_and_botocore_parses_the_contact_id(serve: Any) -> None:
    # Given a local Connect
    endpoint, client = serve()
    # When a valid request is sent through boto3
    response = call(client, Attributes={"k": "v"})
    # Then botocore parses a ContactId, and the instance recorded exactly that call
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    [placed] = endpoint.instance.placed_calls
    assert response["ContactId"] == placed.contact_id
    assert placed.destination == CALLABLE
    assert endpoint.instance.stats.responses == {"Placed": 1}


def test_errors_arrive_as_client_errors_with_the_modelled_code_and_status(serve: Any) -> None:
    # Given an instance that refuses a prefix and does not grant one flow
    _, client = serve(denied_contact_flow_ids=frozenset({UNGRANTED_FLOW_ID}))
    # When requests meet each permanent error
    # Then botocore raises ClientError with the code from x-amzn-ErrorType and the model's status
    assert error_of(client, REFUSED) == ("DestinationNotAllowedException", 403)
    assert error_of(client, ContactFlowId=UNGRANTED_FLOW_ID) == ("AccessDeniedException", 403)
    assert error_of(client, InstanceId="99999999-0000-0000-0000-000000000000") == ("ResourceNotFoundException", 404)
    assert error_of(client, SourcePhoneNumber=None) == ("InvalidRequestException", 400)


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


def test_the_same_client_token_returns_the_same_contact_without_a_second_call(serve: Any) -> None:
    # Given a placed call with a ClientToken
    endpoint, client = serve()
    first = call(client, ClientToken="token-1")
    # When the same request is sent again with the same token, and another with a new token
    again = call(client, ClientToken="token-1")
    other = call(client, ClientToken="token-2")
    # Then the repeat returns the first contact and only two calls exist
    assert again["ContactId"] == first["ContactId"]
    assert other["ContactId"] != first["ContactId"]
    assert len(endpoint.instance.placed_calls) == 2
    assert endpoint.instance.stats.responses == {"Placed": 2, "IdempotentReplay": 1}


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


def test_unreachable_and_flaky_destinations(serve: Any) -> None:
    # Given the default unreachable (+1555555017x) and flaky (+1555555018x, 3 failures per token) destinations
    endpoint, client = serve()
    # When each is called
    # Then the unreachable one always fails with 500
    for _ in range(4):
        assert error_of(client, "+15555550171", ClientToken="u") == ("InternalServiceException", 500)
    # And the flaky one fails three times per ClientToken, then succeeds
    for _ in range(3):
        assert error_of(client, "+15555550181", ClientToken="f") == ("InternalServiceException", 500)
    assert call(client, "+15555550181", ClientToken="f")["ContactId"]
    assert len(endpoint.instance.placed_calls) == 1


def test_latency_delays_every_answer(serve: Any) -> None:
    # Given an instance answering after 200 ms
    _, client = serve(latency_seconds=0.2)
    # When a call is placed
    started = time.monotonic()
    call(client)
    # Then the answer took at least that long
    assert time.monotonic() - started >= 0.2


def test_other_operations_are_unknown(serve: Any) -> None:
    # Given a local Connect
    _, client = serve()
    # When boto3 calls an operation it does not serve
    with pytest.raises(ClientError) as raised:
        client.stop_contact(ContactId="c", InstanceId=INSTANCE_ID)
    # Then the answer is a 404 UnknownOperationException rather than a hang or a crash
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("calls_per_second", 0),
        ("burst", 0),
        ("max_concurrent_calls", 0),
        ("server_error_rate", 1.5),
        ("latency_seconds", -1),
    ],
)
def test_impossible_behaviour_is_rejected(field: str, value: float) -> None:
    # Given / When a behaviour no instance can have / Then it is refused with the field's name
    with pytest.raises(ValueError, match=field.split("_")[0]):
        ConnectBehaviour(**{field: value})  # type: ignore[arg-type]
