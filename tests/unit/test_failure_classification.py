"""The classification table: which failures are dead-lettered and which are retried."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from pydantic import ValidationError

from outbound_caller.config.settings import Settings
from outbound_caller.connect.calls import UncertainOutcome, requests_sent_by
from outbound_caller.connect.idempotency import CallInProgressError, ClientTokenReusedError, OutcomeUnknownError
from outbound_caller.connect.placed_calls import LedgerUnavailableError
from outbound_caller.request.contract import CallRequest
from outbound_caller.settling.outcomes import (
    ERROR_MESSAGE_MAX_LENGTH,
    PERMANENT_CONNECT_ERRORS,
    classify,
    retries_exhausted,
)


def client_error(code: str, status: int, message: str = "failed") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "StartOutboundVoiceContact",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("DestinationNotAllowedException", 403),
        ("OutboundContactNotPermittedException", 403),
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("InvalidParameterException", 400),
        ("InvalidRequestException", 400),
    ],
)
def test_permanent_connect_errors_are_dead_lettered(code: str, status: int) -> None:
    # Given a Connect error that no retry can fix
    # When it is classified
    failure = classify(client_error(code, status))
    # Then it is permanent, under its own code
    assert (failure.code, failure.permanent) == (code, True)


def test_the_permanent_list_is_the_contracts() -> None:
    # Given the contract's list of permanent Connect errors
    # Then the classifier knows exactly those
    assert {
        "DestinationNotAllowedException",
        "OutboundContactNotPermittedException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "InvalidRequestException",
    } == PERMANENT_CONNECT_ERRORS


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("LimitExceededException", 429),
        ("SomethingNew", 429),
        ("InternalServiceException", 500),
        ("ServiceUnavailableException", 503),
        ("", 502),
    ],
)
def test_throttling_and_server_errors_are_retried(code: str, status: int) -> None:
    # Given Connect being busy or failing on its side
    # When it is classified
    failure = classify(client_error(code, status))
    # Then the record is retried, never dead-lettered
    assert failure.permanent is False
    assert failure.code == (code or "UnknownError")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConnectTimeoutError(endpoint_url="https://connect"), "Timeout"),
        (ReadTimeoutError(endpoint_url="https://connect"), "Timeout"),
        (EndpointConnectionError(endpoint_url="https://connect"), "ConnectionError"),
        (ConnectionClosedError(endpoint_url="https://connect"), "ConnectionError"),
        (RuntimeError("bug"), "UnexpectedError"),
        (CallInProgressError("in progress"), "CallInProgress"),
        (LedgerUnavailableError("table unavailable"), "IdempotencyStoreError"),
    ],
)
def test_timeouts_connection_and_unexpected_errors_are_retried(error: Exception, code: str) -> None:
    # Given a failure that outlasted botocore's own retries, or an unexpected one
    # When it is classified
    failure = classify(error)
    # Then the record is retried: nothing is lost
    assert (failure.code, failure.permanent) == (code, False)


def test_invalid_requests_are_dead_lettered_without_their_values(settings: Settings) -> None:
    # Given a request failing validation on a personal value
    with pytest.raises(ValidationError) as caught:
        CallRequest.model_validate({"DestinationPhoneNumber": "+1415555012345678"}, context=settings)
    # When it is classified
    failure = classify(caught.value)
    # Then it is a permanent ValidationError naming the member but not quoting the value
    assert (failure.code, failure.permanent) == ("ValidationError", True)
    assert "DestinationPhoneNumber" in failure.message
    assert "1415555012345678" not in failure.message


def test_botocore_parameter_errors_are_dead_lettered() -> None:
    # Given botocore's client-side validation refusing the call
    # When it is classified
    failure = classify(ParamValidationError(report="Invalid length for parameter InstanceId"))
    # Then it is permanent
    assert (failure.code, failure.permanent) == ("ValidationError", True)


def test_connect_messages_lose_phone_numbers_and_are_bounded() -> None:
    # Given a Connect message quoting the destination, and a very long one
    quoting = classify(client_error("DestinationNotAllowedException", 403, "Calls to +447700900123 are not allowed"))
    long = classify(client_error("InvalidParameterException", 400, "x" * 5000))
    # When they are classified
    # Then the number is masked and the message fits the dead-letter attribute limit
    assert "447700900123" not in quoting.message
    assert "0123" in quoting.message
    assert len(long.message) == ERROR_MESSAGE_MAX_LENGTH


def test_messages_are_valid_sqs_attribute_text() -> None:
    # Given a validation error whose location echoes a producer's control characters
    failure = classify(client_error("InvalidParameterException", 400, "bad key \x01\x1f in \ufffe"))
    # When it is classified
    # Then the characters SQS refuses in attribute values are replaced
    assert failure.message == "bad key ? in ?"  # \x1f is whitespace to str.split, so it folds into a space


@pytest.mark.parametrize(
    "last_error",
    [
        ReadTimeoutError(endpoint_url="https://connect"),
        ConnectionClosedError(endpoint_url="https://connect"),
        client_error("InternalServiceException", 500, "internal error"),
        # The last attempt could not even connect, but an earlier one may have created the contact.
        ConnectTimeoutError(endpoint_url="https://connect"),
    ],
)
def test_uncertain_outcomes_are_dead_lettered_for_an_operator(last_error: Exception) -> None:
    # Given a call that failed after an attempt which may have created the contact
    # When it is classified
    failure = classify(UncertainOutcome(last_error, attempts=1))
    # Then it is dead-lettered as OutcomeUnknown, naming the last error, never retried by the function itself
    assert (failure.code, failure.permanent) == ("OutcomeUnknown", True)
    assert classify(last_error).code in failure.message


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (OutcomeUnknownError("an earlier delivery may have placed it"), "OutcomeUnknown"),
        (ClientTokenReusedError("another call"), "ClientTokenReused"),
    ],
)
def test_what_the_ledger_refuses_is_dead_lettered(error: Exception, code: str) -> None:
    # Given the placed-calls ledger refusing to call (uncertain earlier call, or the token names another call)
    # When it is classified
    failure = classify(error)
    # Then it is dead-lettered with its own ErrorCode
    assert (failure.code, failure.permanent) == (code, True)


def test_retries_exhausted_names_the_last_error() -> None:
    # Given a record still throttled on its last receive
    last = classify(client_error("ThrottlingException", 429, "Rate exceeded"))
    # When it is turned into its dead-letter reason
    failure = retries_exhausted(last, 5)
    # Then it is RetriesExhausted, with the receive count and the last error in its message
    assert (failure.code, failure.permanent) == ("RetriesExhausted", True)
    assert "5 receives" in failure.message
    assert "ThrottlingException: Rate exceeded" in failure.message


def test_attribute_and_reference_keys_are_never_echoed(settings: Settings) -> None:
    # Given a request whose attribute and reference keys are a producer's free text (an email address, say)
    data = {
        "DestinationPhoneNumber": "+14155550123",
        "Attributes": {"jane.doe@example.com": "x", "ok_key": 1},
        "References": {"john@example.com": {"Type": "ATTACHMENT"}},
    }
    with pytest.raises(ValidationError) as caught:
        CallRequest.model_validate(data, context=settings)
    # When it is classified for the dead-letter queue
    failure = classify(caught.value)
    # Then the problems are located by member, with the keys masked
    assert "jane.doe" not in failure.message
    assert "john@" not in failure.message
    assert "Attributes.<key>" in failure.message
    assert "References.<key>.Type" in failure.message


def test_an_uncertain_call_is_charged_for_the_requests_it_really_sent() -> None:
    # Given a call stopped after its first attempt's answer was lost, as the ledger reports it (wrapped)
    uncertain = UncertainOutcome(ReadTimeoutError(endpoint_url="https://connect"), attempts=1)
    try:
        raise OutcomeUnknownError(attempt=1, uncertain=uncertain) from uncertain
    except OutcomeUnknownError as error:
        wrapped = error
    # When the pacer asks how many requests it sent
    # Then it is the one attempt, not botocore's maximum
    assert requests_sent_by(wrapped) == 1
