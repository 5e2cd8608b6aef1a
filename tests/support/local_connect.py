"""The local Connect under test: its test behaviour, an unmodified boto3 client pointed at it, and a request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.connect_behaviour import ConnectBehaviour
from local.connect_endpoint import LocalConnectEndpoint

INSTANCE_ID = "00000000-0000-0000-0000-000000000000"
FLOW_ID = "11111111-1111-1111-1111-111111111111"
UNGRANTED_FLOW_ID = "22222222-2222-4222-8222-222222222222"
CALLABLE = "+12025550100"
REFUSED = "+442079460923"  # in the default refused_destination_prefixes
UNREACHABLE = "+12125550171"  # in the default unreachable_destination_prefixes
FLAKY = "+12125550181"  # in the default flaky_destination_prefixes
THROTTLED = "+12125550161"  # in the default throttled_destination_prefixes
# Lots of quota and calls, so that a test only meets the limit it is about.
GENEROUS = {"calls_per_second": 1000.0, "burst": 1000, "max_concurrent_calls": 1000}
# A call short enough for a test to outlive it, and the wait that surely does.
SHORT_CALL_SECONDS = 0.2
PAST_SHORT_CALL_SECONDS = 0.3
# Margin for the gap between reading the clock in a test and in the instance.
CLOCK_SLACK_SECONDS = 0.05
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def behaviour_of(**overrides: Any) -> ConnectBehaviour:
    """The test instance's behaviour: its InstanceId and generous limits, then the test's own settings."""
    return ConnectBehaviour(**{"instance_id": INSTANCE_ID, **GENEROUS, **overrides})


def client_of(endpoint: LocalConnectEndpoint, config: Config = NO_RETRIES) -> Any:
    """An unmodified boto3 Connect client pointed at the local endpoint."""
    return boto3.client(
        "connect",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@contextmanager
def local_connects() -> Iterator[Callable[..., tuple[LocalConnectEndpoint, Any]]]:
    """Start local Connects with the given behaviour, each with a boto3 client that never retries; stop them after."""
    with ExitStack() as endpoints:

        def _serve(**behaviour: Any) -> tuple[LocalConnectEndpoint, Any]:
            endpoint = endpoints.enter_context(LocalConnectEndpoint(behaviour_of(**behaviour)))
            return endpoint, client_of(endpoint)

        yield _serve


def described(client: Any, response: dict[str, Any]) -> dict[str, Any]:
    """DescribeContact's Contact for the contact a StartOutboundVoiceContact response names."""
    return client.describe_contact(InstanceId=INSTANCE_ID, ContactId=response["ContactId"])["Contact"]  # type: ignore[no-any-return]


def call(client: Any, destination: str = CALLABLE, **fields: Any) -> dict[str, Any]:
    """StartOutboundVoiceContact with valid defaults; a field set to None is left out."""
    params = {
        "DestinationPhoneNumber": destination,
        "ContactFlowId": FLOW_ID,
        "InstanceId": INSTANCE_ID,
        "SourcePhoneNumber": "+15555550199",
        **fields,
    }
    return client.start_outbound_voice_contact(**{key: value for key, value in params.items() if value is not None})  # type: ignore[no-any-return]


def error_of(client: Any, destination: str = CALLABLE, **fields: Any) -> tuple[str, int]:
    """The error code and HTTP status a request is answered with."""
    with pytest.raises(ClientError) as raised:
        call(client, destination, **fields)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
