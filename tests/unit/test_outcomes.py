"""The classification table: which failures are dead-lettered and which are retried."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from pydantic import ValidationError

from outbound_caller.config import Settings
from outbound_caller.contract import CallRequest
from outbound_caller.outcomes import ERROR_MESSAGE_MAX_LENGTH, PERMANENT_CONNECT_ERRORS, classify


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
        (IdempotencyAlreadyInProgressError("in progress"), "CallInProgress"),
        (IdempotencyPersistenceLayerError("table unavailable"), "IdempotencyStoreError"),
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
