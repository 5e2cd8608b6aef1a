"""Which failures can never succeed (dead-letter them) and which may pass (retry them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from pydantic import ValidationError

from outbound_caller.privacy import redact_phone_numbers

VALIDATION_ERROR = "ValidationError"
TIMEOUT = "Timeout"
CONNECTION_ERROR = "ConnectionError"
DEADLINE_REACHED = "DeadlineReached"
DEAD_LETTER_SEND_FAILED = "DeadLetterSendFailed"
UNEXPECTED_ERROR = "UnexpectedError"
CALL_IN_PROGRESS = "CallInProgress"
IDEMPOTENCY_STORE_ERROR = "IdempotencyStoreError"

# The contract's permanent Connect errors: retrying the same request cannot make them pass.
PERMANENT_CONNECT_ERRORS = frozenset(
    {
        "DestinationNotAllowedException",
        "OutboundContactNotPermittedException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "InvalidRequestException",
    }
)
# SQS limits a message attribute value to 256 KiB; the contract keeps ErrorMessage to 1,024 characters.
ERROR_MESSAGE_MAX_LENGTH = 1024
# SQS refuses attribute values with characters outside XML's (error locations echo a producer's JSON keys).
_NOT_XML_CHARACTER = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Failure:
    """Why a record did not end with a placed call, and whether it is worth another try."""

    code: str
    message: str
    permanent: bool


def _safe(message: str) -> str:
    redacted = _NOT_XML_CHARACTER.sub("?", redact_phone_numbers(" ".join(message.split())))
    if len(redacted) <= ERROR_MESSAGE_MAX_LENGTH:
        return redacted
    return redacted[: ERROR_MESSAGE_MAX_LENGTH - 1] + "…"


def describe_validation_error(error: ValidationError) -> str:
    """Each problem as 'location: message', never quoting the input (it may hold personal data)."""
    problems = []
    for detail in error.errors(include_input=False, include_url=False, include_context=False):
        location = ".".join(str(part) for part in detail["loc"])
        problems.append(f"{location}: {detail['msg']}" if location else detail["msg"])
    return "; ".join(problems)


def classify(error: BaseException) -> Failure:
    """Map any failure of a record to its ErrorCode, a message safe to log, and permanent or not."""
    if isinstance(error, ValidationError):
        return Failure(VALIDATION_ERROR, _safe(describe_validation_error(error)), permanent=True)
    if isinstance(error, ParamValidationError):
        # botocore's own checks: the request can never be sent as it is.
        return Failure(VALIDATION_ERROR, _safe(str(error)), permanent=True)
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code") or "UnknownError"
        message = error.response.get("Error", {}).get("Message") or code
        # Throttling (429), InternalServiceException and other 5xx, and errors the contract does not
        # name, are retried: SQS redelivers, and its redrive policy dead-letters after maxReceiveCount.
        return Failure(code, _safe(message), permanent=code in PERMANENT_CONNECT_ERRORS)
    if isinstance(error, IdempotencyAlreadyInProgressError):
        # Another delivery of the same request is being placed right now: ask again later.
        return Failure(CALL_IN_PROGRESS, "another delivery of this request is being placed", permanent=False)
    if isinstance(error, IdempotencyPersistenceLayerError):
        # The call is not made while its record cannot be kept: retrying is safe, calling twice is not.
        return Failure(IDEMPOTENCY_STORE_ERROR, "the idempotency table could not be read or written", permanent=False)
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError)):
        return Failure(TIMEOUT, "Connect did not answer in time", permanent=False)
    if isinstance(error, (EndpointConnectionError, ConnectionClosedError, HTTPClientError)):
        return Failure(CONNECTION_ERROR, "could not reach Connect", permanent=False)
    return Failure(UNEXPECTED_ERROR, _safe(f"{type(error).__name__}: {error}"), permanent=False)
