"""The call to Connect's StartOutboundVoiceContact, and whether a failed call may still have created a contact.

A failed call is only safe to try again when no attempt of it can have created a contact. botocore retries
within the call with the same ClientToken, and raises the last attempt's error, which says nothing about the
earlier ones: an attempt whose answer was lost may have placed the call even when the last attempt could not
connect at all. So every attempt is judged on its own.

In-call retries are safe while the first attempt's contact is surely still live (Connect then returns it):
after a 429 (nothing created) or a 5xx (answered in milliseconds, retried within ~100 ms, while the call is
still dialling). An attempt whose answer was lost is not retried: the retry comes seconds later, when a
rejected or busy call may have ended, and Connect would start a new one for the same token.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from outbound_caller.timeouts import (
    CONNECT_CONNECT_TIMEOUT_SECONDS,
    CONNECT_READ_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    client_config,
)

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

# Created once per container (module import) and reused by every invocation.
connect: ConnectClient = boto3.client(
    "connect", config=client_config(CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS)
)
_ATTEMPT_EVENT = "response-received.connect.StartOutboundVoiceContact"
_RETRY_EVENT = "needs-retry.connect.StartOutboundVoiceContact"
# HTTP statuses below this are Connect's own refusals (4xx, throttling included): nothing was created.
_SERVER_ERROR_STATUS = 500


@dataclass(frozen=True)
class PlacedCall:
    """A started contact, how many requests it took botocore to start it, and whether it was started earlier."""

    contact_id: str
    requests_sent: int
    # True when an earlier delivery placed this call and its recorded ContactId is returned instead.
    replayed: bool = False
    # False when the placed-calls record could not be completed yet (it is written later).
    recorded: bool = True


class UncertainOutcome(Exception):  # noqa: N818 - a state, not a bug: "the outcome is uncertain"
    """The call failed after an attempt that reached Connect and got no answer, or a server error: it may exist."""

    def __init__(self, last_error: Exception, attempts: int) -> None:
        super().__init__(f"{type(last_error).__name__} after an attempt that may have created the contact")
        self.last_error = last_error
        self.attempts = attempts


_attempts_may_have_created: ContextVar[list[bool]] = ContextVar("attempts_may_have_created")


def _may_have_created(exception: Exception | None, response_dict: dict[str, Any] | None) -> bool:
    """One attempt: could Connect have created a contact and we not know it?"""
    if exception is not None:
        # A connection never made (connect timeout, unreachable endpoint) sent nothing; anything later
        # (read timeout, a connection dropped mid-answer) may have reached Connect.
        return not isinstance(exception, BotocoreConnectionError)
    status = (response_dict or {}).get("status_code", 0)
    return int(status) >= _SERVER_ERROR_STATUS


def _record_attempt(exception: Exception | None = None, response_dict: dict[str, Any] | None = None, **_: Any) -> None:
    journal = _attempts_may_have_created.get(None)
    if journal is not None:
        journal.append(_may_have_created(exception, response_dict))


def _never_retry_a_lost_answer(caught_exception: Exception | None = None, **_: Any) -> None:
    """Raise an attempt's lost answer at once, before botocore's retry handler (registered later) can retry it."""
    if caught_exception is not None and _may_have_created(caught_exception, None):
        raise caught_exception


connect.meta.events.register(_ATTEMPT_EVENT, _record_attempt, unique_id="outbound-caller-attempt-journal")
connect.meta.events.register_first(_RETRY_EVENT, _never_retry_a_lost_answer, unique_id="outbound-caller-lost-answer")


def place_call(params: dict[str, Any]) -> PlacedCall:
    """Start the outbound voice contact; raise UncertainOutcome when a failed call may have created it."""
    journal: list[bool] = []
    token = _attempts_may_have_created.set(journal)
    try:
        response = connect.start_outbound_voice_contact(**params)
    except Exception as error:
        if any(journal):
            raise UncertainOutcome(error, attempts=len(journal)) from error
        raise
    finally:
        _attempts_may_have_created.reset(token)
    return PlacedCall(response["ContactId"], response["ResponseMetadata"].get("RetryAttempts", 0) + 1)


def requests_sent_by(error: Exception) -> int:
    """How many requests a failed place_call sent: botocore says so for answered ones; assume all otherwise."""
    if isinstance(error, UncertainOutcome):
        return error.attempts
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("RetryAttempts", MAX_ATTEMPTS - 1) + 1
    return MAX_ATTEMPTS
