"""The call to Amazon Connect's StartOutboundVoiceContact, through one client per container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

# StartOutboundVoiceContact answers once the contact is created, not when the callee answers, so a
# few seconds are plenty; a longer wait would only eat the invocation's time.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
# botocore "standard" retry mode: up to 3 attempts for throttling, 5xx and connection errors, with
# exponential backoff of at most 1 s then 2 s. Safe for this API because every call carries a
# deterministic ClientToken: a retried attempt returns the first attempt's contact.
MAX_ATTEMPTS = 3
MAX_TOTAL_BACKOFF_SECONDS = 1 + 2
# The longest one place_call can take: the function stops taking records when less time is left.
WORST_CASE_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + MAX_TOTAL_BACKOFF_SECONDS

CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    user_agent_extra="connect-outbound-caller",
)

# Created once per container (module import) and reused by every invocation.
connect: ConnectClient = boto3.client("connect", config=CLIENT_CONFIG)


@dataclass(frozen=True)
class PlacedCall:
    """A started contact, and how many requests it took botocore to start it."""

    contact_id: str
    requests_sent: int


def place_call(params: dict[str, Any]) -> PlacedCall:
    """Start the outbound voice contact."""
    response = connect.start_outbound_voice_contact(**params)
    return PlacedCall(response["ContactId"], response["ResponseMetadata"].get("RetryAttempts", 0) + 1)


def requests_sent_by(error: Exception) -> int:
    """How many requests a failed place_call sent: botocore says so for answered ones; assume all otherwise."""
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("RetryAttempts", MAX_ATTEMPTS - 1) + 1
    return MAX_ATTEMPTS
