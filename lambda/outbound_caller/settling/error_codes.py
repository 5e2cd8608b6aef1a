"""The ErrorCodes the function gives failures of its own (Connect's error codes are used as Connect names them).

Pure constants, so the stack's alarms can name the codes they watch without importing the function's clients.
"""

from __future__ import annotations

VALIDATION_ERROR = "ValidationError"
TIMEOUT = "Timeout"
CONNECTION_ERROR = "ConnectionError"
DEAD_LETTER_SEND_FAILED = "DeadLetterSendFailed"
UNEXPECTED_ERROR = "UnexpectedError"
CALL_IN_PROGRESS = "CallInProgress"
IDEMPOTENCY_STORE_ERROR = "IdempotencyStoreError"
CLIENT_TOKEN_REUSED = "ClientTokenReused"  # noqa: S105 - a name, not a secret
RETRIES_EXHAUSTED = "RetriesExhausted"
EXPIRED = "Expired"
DEFERRAL_SEND_FAILED = "DeferralSendFailed"
CALL_LIMIT_STORE_ERROR = "CallLimitStoreError"
# The message-signing key could not be read: the invocation's records are handed back.
SIGNING_KEY_UNAVAILABLE = "SigningKeyUnavailable"
# The function timeout cannot hold one record's time reserve: the invocation's records are handed back.
FUNCTION_TIMEOUT_TOO_SHORT = "FunctionTimeoutTooShort"
# A body too large to be sent with the function's attributes (a source queue taking larger bodies than the stack's).
MESSAGE_TOO_LARGE = "MessageTooLarge"
