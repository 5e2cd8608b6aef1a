"""The call to Connect's StartOutboundVoiceContact, and whether a failed call may still have created a contact.

A failed call is only safe to try again when no attempt of it can have created a contact. botocore retries
within the call with the same ClientToken, and raises the last attempt's error, which says nothing about the
earlier ones: an attempt whose answer was lost may have placed the call even when the last attempt could not
connect at all. So every attempt is judged on its own.

In-call retries are safe while the first attempt's contact is surely still live (Connect then returns it):
after a 429 (nothing created) or a fast 5xx (retried within ~100 ms, while the call is still dialling). An
attempt whose answer was lost, or a slow 5xx, is not retried: the retry would come seconds later, when a
rejected or busy call may have ended, and Connect would start a new one for the same token.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ProxyConnectionError

from outbound_caller.timeouts import MAX_ATTEMPTS

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

_SEND_EVENT = "before-send.connect.StartOutboundVoiceContact"
_ANSWER_EVENT = "response-received.connect.StartOutboundVoiceContact"
_RETRY_EVENT = "needs-retry.connect.StartOutboundVoiceContact"
_RETRY_AFTER_HEADER = "x-amz-retry-after"
# Failures that prove the request never left: the connection was never made.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)
# Answers that prove nothing was created: Connect's own refusals, throttling included (4xx).
_CLIENT_ERROR_STATUS = 400
# A 5xx answered within this long is retried within botocore's non-throttling backoff (at most 50 ms x 2 ** i),
# while the contact it may have created is surely still dialling; a slower one, or one asking for a later retry
# (x-amz-retry-after, up to seconds), is not: the call may have ended, and Connect would start a new one.
FAST_ANSWER_SECONDS = 1.0
_SERVER_ERROR_STATUS = 500
# A full instance (its concurrent active calls at their limit) stays full for as long as calls last, minutes: a
# retry within the call, a second later, only spends quota on it. The record is deferred instead (back_pressure.py).
NOT_RETRIED_IN_CALL = frozenset({"LimitExceededException"})


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


@dataclass
class _Attempt:
    """One HTTP attempt of a call: when it was sent, and whether its answer proved that nothing was created."""

    sent_at: float
    answered: bool = False
    may_have_created: bool = True  # until an answer proves otherwise


_journal: ContextVar[list[_Attempt]] = ContextVar("attempt_journal")


def _may_have_created(exception: Exception | None, response_dict: dict[str, Any] | None) -> bool:
    """One attempt: could Connect have created a contact and we not know it?"""
    if exception is not None:
        # Only a connection never made surely sent nothing; anything later (a read timeout, a connection dropped
        # mid-answer, a TLS error after sending) may have reached Connect.
        return not isinstance(exception, _NEVER_SENT)
    status = int((response_dict or {}).get("status_code", 0))
    return not _CLIENT_ERROR_STATUS <= status < _SERVER_ERROR_STATUS


def _attempt_sent(**_: Any) -> None:
    journal = _journal.get(None)
    if journal is not None:
        journal.append(_Attempt(time.monotonic()))


def _attempt_answered(
    exception: Exception | None = None, response_dict: dict[str, Any] | None = None, **_: Any
) -> None:
    journal = _journal.get(None)
    if journal is None:
        return
    if not journal or journal[-1].answered:  # a stand-in answered before this module's before-send handler ran
        journal.append(_Attempt(time.monotonic()))
    journal[-1].answered = True
    journal[-1].may_have_created = _may_have_created(exception, response_dict)


class ConnectCalls:
    """StartOutboundVoiceContact through one Connect client, each attempt judged on its own (see the module's doc)."""

    def __init__(self, client: ConnectClient) -> None:
        self.client = client
        client.meta.events.register(_SEND_EVENT, _attempt_sent, unique_id="outbound-caller-attempt-sent")
        client.meta.events.register(_ANSWER_EVENT, _attempt_answered, unique_id="outbound-caller-attempt-answered")
        client.meta.events.register_first(
            _RETRY_EVENT, self._retry_only_while_the_contact_is_live, unique_id="outbound-caller-retry-while-live"
        )

    def place(self, params: dict[str, Any]) -> PlacedCall:
        """Start the outbound voice contact; raise UncertainOutcome when a failed call may have created it."""
        journal: list[_Attempt] = []
        token = _journal.set(journal)
        try:
            response = self.client.start_outbound_voice_contact(**params)
            return PlacedCall(response["ContactId"], response["ResponseMetadata"].get("RetryAttempts", 0) + 1)
        except Exception as error:
            if any(attempt.may_have_created for attempt in journal):
                raise UncertainOutcome(error, attempts=len(journal)) from error
            raise
        finally:
            _journal.reset(token)

    def _retry_only_while_the_contact_is_live(
        self, caught_exception: Exception | None = None, response: tuple[Any, dict[str, Any]] | None = None, **_: Any
    ) -> None:
        """Raise the attempt's failure at once, before botocore's retry handler can retry it, unless the retry
        surely finds the contact the attempt may have created still live (Connect then returns it)."""
        if caught_exception is not None:
            if not isinstance(caught_exception, _NEVER_SENT):
                raise caught_exception
            return
        if response is None:
            return
        http_response, parsed = response
        journal = _journal.get(None)
        if parsed.get("Error", {}).get("Code") in NOT_RETRIED_IN_CALL:
            self._raise_as_botocore_would(parsed, journal)
        if http_response.status_code < _SERVER_ERROR_STATUS:
            return
        slow = bool(journal) and time.monotonic() - journal[-1].sent_at > FAST_ANSWER_SECONDS  # type: ignore[index]
        if slow or _RETRY_AFTER_HEADER in http_response.headers:
            self._raise_as_botocore_would(parsed, journal)

    def _raise_as_botocore_would(self, parsed: dict[str, Any], journal: list[_Attempt] | None) -> NoReturn:
        """Raise the error botocore itself raises once it stops retrying: the modelled class, with RetryAttempts."""
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = max(0, len(journal or ()) - 1)
        code = parsed.get("Error", {}).get("Code", "")
        error_class: type[ClientError] = self.client.exceptions.from_code(code)  # type: ignore[assignment]
        raise error_class(parsed, "StartOutboundVoiceContact")  # type: ignore[arg-type]


def requests_sent_by(error: Exception) -> int:
    """How many requests a failed place_call sent: botocore says so for answered ones; assume all otherwise."""
    # An uncertain call may reach the caller wrapped (the ledger's OutcomeUnknownError): it counted its attempts.
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UncertainOutcome):
            return cause.attempts
        cause = cause.__cause__
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("RetryAttempts", MAX_ATTEMPTS - 1) + 1
    return MAX_ATTEMPTS
