"""Pacing inside the handler: every request botocore sends, retries included, spends the quota share."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from outbound_caller.connect.pacing import Pacer
from tests.integration.conftest import FunctionUnderTest, failed_ids
from tests.support.clock import FakeClock
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.lambda_events import sqs_record


@pytest.fixture
def clock(function: FunctionUnderTest) -> FakeClock:
    """The handler's pacer at 1 call per second, on a clock the test controls."""
    fake = FakeClock()
    function.rebuild(pacer=Pacer(1.0, clock=fake, sleep=fake.sleep))
    return fake


def body(number: str) -> str:
    return json.dumps({"DestinationPhoneNumber": number})


@pytest.mark.usefixtures("no_backoff")
def test_throttled_attempts_push_the_next_call_back(invoke: Any, connect: ConnectStub, clock: FakeClock) -> None:
    # Given a first call Connect throttles twice before accepting, then two more calls
    connect.fail_destination("+14155550101", ConnectError("ThrottlingException", status=429), times=2)
    records = [sqs_record(body(f"+1415555010{i}"), message_id=f"r-{i}") for i in (1, 2, 3)]
    # When the handler runs the batch
    response = invoke(*records)
    # Then all are placed, and the second call waited for the three requests of the first
    assert failed_ids(response) == set()
    assert len(connect.requests) == 5
    assert clock.slept == [3.0, 1.0]


@pytest.mark.usefixtures("no_backoff")
def test_a_call_that_failed_every_attempt_is_charged_for_all(
    invoke: Any, connect: ConnectStub, clock: FakeClock
) -> None:
    # Given a first call that never reaches Connect, then another call
    connect.fail_destination("+14155550101", EndpointConnectionError(endpoint_url="https://connect"))
    records = [sqs_record(body(number), message_id=number) for number in ("+14155550101", "+14155550102")]
    # When the handler runs the batch
    response = invoke(*records)
    # Then the first is retried by SQS, and the second waited for the first's three requests
    assert failed_ids(response) == {"+14155550101"}
    assert clock.slept == [3.0]
