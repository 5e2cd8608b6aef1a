"""Which failures can never succeed (dead-letter them) and which may pass (retry them)."""

from __future__ import annotations

import dataclasses
import re

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from pydantic import ValidationError

from outbound_caller.connect.calls import UncertainOutcome
from outbound_caller.connect.idempotency import CallInProgressError, ClientTokenReusedError, OutcomeUnknownError
from outbound_caller.connect.placed_calls import LedgerUnavailableError
from outbound_caller.decisions import (
    CALL_IN_PROGRESS,
    CALL_LIMIT_STORE_ERROR,
    CLIENT_TOKEN_REUSED,
    CONNECTION_ERROR,
    DESTINATION_CALL_LIMIT,
    DESTINATION_NOT_ALLOWED_BY_POLICY,
    IDEMPOTENCY_STORE_ERROR,
    MESSAGE_TOO_LARGE,
    OUTCOME_UNKNOWN,
    RETRIES_EXHAUSTED,
    SIGNING_KEY_UNAVAILABLE,
    SUPPRESSION_LIST_UNAVAILABLE,
    TIMEOUT,
    UNEXPECTED_ERROR,
    VALIDATION_ERROR,
    Failure,
)
from outbound_caller.privacy import redact_phone_numbers
from outbound_caller.request.problems import describe_validation_error
from outbound_caller.request.record import InvalidDeliveryError
from outbound_caller.request.signing_key import SigningKeyUnavailableError
from outbound_caller.safety.call_guard import DestinationCallLimitError
from outbound_caller.safety.call_limit import CallLimitUnavailableError
from outbound_caller.safety.calling_hours import NoCallingHoursError
from outbound_caller.safety.destinations import DestinationNotAllowedError
from outbound_caller.safety.suppression import SuppressionListUnavailableError
from outbound_caller.settling.outgoing import MessageTooLargeError

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
# SQS refuses attribute values with characters outside XML's (error locations echo a producer's JSON keys):
# those outside XML 1.0's Char, listed (a negated class spanning all of Unicode takes milliseconds to compile).
_NOT_XML_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _safe(message: str) -> str:
    redacted = _NOT_XML_CHARACTER.sub("?", redact_phone_numbers(" ".join(message.split())))
    if len(redacted) <= ERROR_MESSAGE_MAX_LENGTH:
        return redacted
    return redacted[: ERROR_MESSAGE_MAX_LENGTH - 1] + "…"


def retries_exhausted(failure: Failure, receive_count: int) -> Failure:
    """The dead-letter reason of a record still failing on its last receive, naming its last error."""
    message = f"still failing after {receive_count} receives; last error {failure.code}: {failure.message}"
    return Failure(RETRIES_EXHAUSTED, _safe(message), permanent=True)


def classify(error: BaseException) -> Failure:
    """Map any failure of a record to its ErrorCode, a message safe to log, and permanent or not."""
    if isinstance(error, ValidationError):
        return Failure(VALIDATION_ERROR, _safe(describe_validation_error(error)), permanent=True)
    if isinstance(error, InvalidDeliveryError):
        # The function's own refusals of a record (too large, a signed attribute it cannot read): messages of ours.
        return Failure(VALIDATION_ERROR, _safe(str(error)), permanent=True)
    if isinstance(error, ParamValidationError):
        # botocore's own checks: the request can never be sent as it is.
        return Failure(VALIDATION_ERROR, _safe(str(error)), permanent=True)
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code") or "UnknownError"
        message = error.response.get("Error", {}).get("Message") or code
        # Throttling (429), InternalServiceException and other 5xx, and errors the contract does not
        # name, are retried: SQS redelivers, and its redrive policy dead-letters after maxReceiveCount.
        return Failure(code, _safe(message), permanent=code in PERMANENT_CONNECT_ERRORS)
    if isinstance(error, UncertainOutcome):
        # Connect may have created the contact: calling again could ring the customer twice.
        last = classify(error.last_error)
        message = f"Connect may have created the contact ({last.code}: {last.message}); not dialled again"
        return Failure(OUTCOME_UNKNOWN, _safe(message + " unless this message is redriven"), permanent=True)
    if isinstance(error, OutcomeUnknownError):
        if error.uncertain is not None:
            return dataclasses.replace(classify(error.uncertain), attempt=error.attempt)
        return Failure(OUTCOME_UNKNOWN, str(error), permanent=True, attempt=error.attempt)
    if isinstance(error, ClientTokenReusedError):
        return Failure(CLIENT_TOKEN_REUSED, str(error), permanent=True)
    if isinstance(error, CallInProgressError):
        return Failure(CALL_IN_PROGRESS, str(error), permanent=False)
    if isinstance(error, (DestinationNotAllowedError, NoCallingHoursError)):
        # The deployment's calling-safety policy: the messages name a region, a type or a zone, never the number.
        return Failure(DESTINATION_NOT_ALLOWED_BY_POLICY, _safe(str(error)), permanent=True)
    if isinstance(error, DestinationCallLimitError):
        return Failure(DESTINATION_CALL_LIMIT, _safe(str(error)), permanent=True)
    if isinstance(error, CallLimitUnavailableError):
        # Like the ledger: no call is made while its count cannot be kept.
        return Failure(CALL_LIMIT_STORE_ERROR, "the destination call-limit table could not be read or written", False)
    if isinstance(error, LedgerUnavailableError):
        # The call is not made while its record cannot be kept: retrying is safe, calling twice is not.
        return Failure(IDEMPOTENCY_STORE_ERROR, "the placed-calls table could not be read or written", permanent=False)
    if isinstance(error, SuppressionListUnavailableError):
        # Like the ledger: no call is made while the list cannot be read.
        return Failure(SUPPRESSION_LIST_UNAVAILABLE, "the suppression list could not be read", permanent=False)
    if isinstance(error, SigningKeyUnavailableError):
        return Failure(SIGNING_KEY_UNAVAILABLE, "the message-signing key could not be read", permanent=False)
    if isinstance(error, MessageTooLargeError):
        return Failure(MESSAGE_TOO_LARGE, _safe(str(error)), permanent=False)
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError)):
        return Failure(TIMEOUT, "Connect did not answer in time", permanent=False)
    if isinstance(error, EndpointConnectionError):
        return Failure(CONNECTION_ERROR, "could not reach Connect", permanent=False)
    if isinstance(error, HTTPClientError):
        return Failure(CONNECTION_ERROR, "the connection dropped before Connect's answer", permanent=False)
    return Failure(UNEXPECTED_ERROR, _safe(f"{type(error).__name__}: {error}"), permanent=False)
