"""The call to Amazon Connect's StartOutboundVoiceContact, through one client per container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from outbound_caller.timeouts import (
    CONNECT_CONNECT_TIMEOUT_SECONDS,
    CONNECT_READ_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    client_config,
)

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

# Created once per container (module import) and reused by every invocation. botocore's retries are
# safe for this API because every call carries a deterministic ClientToken: a retried attempt returns
# the first attempt's contact.
connect: ConnectClient = boto3.client(
    "connect", config=client_config(CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS)
)


@dataclass(frozen=True)
class PlacedCall:
    """A started contact, how many requests it took botocore to start it, and whether it was started earlier."""

    contact_id: str
    requests_sent: int
    # True when an earlier delivery placed this call and its recorded result is returned instead.
    replayed: bool = False


def place_call(*, params: dict[str, Any]) -> PlacedCall:
    """Start the outbound voice contact."""
    response = connect.start_outbound_voice_contact(**params)
    return PlacedCall(response["ContactId"], response["ResponseMetadata"].get("RetryAttempts", 0) + 1)


def requests_sent_by(error: Exception) -> int:
    """How many requests a failed place_call sent: botocore says so for answered ones; assume all otherwise."""
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("RetryAttempts", MAX_ATTEMPTS - 1) + 1
    return MAX_ATTEMPTS
