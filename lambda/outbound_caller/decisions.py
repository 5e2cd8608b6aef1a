"""What a record can end in, as values: the ErrorCodes of failures, the reasons of deferrals, and the Failure and
Deferral a layer hands up instead of acting on them.

Pure (no clients, no Powertools): every layer may import it, and it imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

# ErrorCodes of the function's own failures (Connect's are used as Connect names them).
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
# Connect may have created the contact and the function cannot know: an operator's redrive confirms a new attempt.
OUTCOME_UNKNOWN = "OutcomeUnknown"
# The deployment's calling-safety policy refuses the destination (country, number type or calling hours).
DESTINATION_NOT_ALLOWED_BY_POLICY = "DestinationNotAllowedByPolicy"
# The number had all the calls DESTINATION_CALL_LIMIT allows in its window.
DESTINATION_CALL_LIMIT = "DestinationCallLimit"
# The destination is on the suppression list: no call, no dead-letter (announced as Rejected with this code).
DESTINATION_SUPPRESSED = "DestinationSuppressed"
# The suppression list (its table or its key) could not be read: no call, the record is retried.
SUPPRESSION_LIST_UNAVAILABLE = "SuppressionListUnavailable"
# The message-signing key could not be read: the invocation's records are handed back.
SIGNING_KEY_UNAVAILABLE = "SigningKeyUnavailable"
# The function timeout cannot hold one record's time reserve: the invocation's records are handed back.
FUNCTION_TIMEOUT_TOO_SHORT = "FunctionTimeoutTooShort"
# A body too large to be sent with the function's attributes (a source queue taking larger bodies than the stack's).
MESSAGE_TOO_LARGE = "MessageTooLarge"

# Why a request was deferred (the DeferralReason attribute, the log's and metric's reason).
INSTANCE_AT_CAPACITY = "InstanceAtCapacity"  # Connect answered LimitExceededException: its concurrent calls are full
THROTTLED = "Throttled"  # Connect throttled the call beyond botocore's in-call retries
INVOCATION_ENDING = "InvocationEnding"  # too little invocation time was left to place the call safely
NOT_BEFORE = "NotBefore"  # the request's NotBefore has not come yet
OUTSIDE_CALLING_HOURS = "OutsideCallingHours"  # closed in the callee's time zones: hours, holidays, blackout dates
SOURCE_CALL_LIMIT = "SourceCallLimit"  # the caller ID had all the calls SOURCE_CALL_LIMIT allows for now
REDIAL = "Redial"  # a redialled request's next attempt, or its previous attempt's outcome, has not come yet
NO_AGENT_AVAILABLE = "NoAgentAvailable"  # AGENT_PACING: the call's queue has no available agent for it now
# Deferrals the request may not be tried before: past its bound it can never be placed. The others are waits the
# function chose (back-pressure), after which the request is tried once more at its bound.
BINDING_REASONS = frozenset({NOT_BEFORE, OUTSIDE_CALLING_HOURS, REDIAL})
# A caller ID over its limit waits for a slot, but may be tried at its bound: it is the function's choice, not binding.
DEFERRAL_REASONS = frozenset(
    {INSTANCE_AT_CAPACITY, THROTTLED, INVOCATION_ENDING, SOURCE_CALL_LIMIT, NO_AGENT_AVAILABLE, *BINDING_REASONS}
)


@dataclass(frozen=True)
class Failure:
    """Why a record did not end with a placed call, and whether it is worth another try."""

    code: str
    message: str
    permanent: bool
    # For OutcomeUnknown: the ledger attempt whose call is uncertain, which a redrive of the dead-letter confirms.
    attempt: int | None = None


@dataclass(frozen=True)
class Deferral:
    """Why a request waits, and until when (epoch milliseconds)."""

    reason: str
    until_ms: int

    @property
    def binding(self) -> bool:
        """Whether the request may not be tried before until_ms (a schedule or calling hours, not back-pressure)."""
        return self.reason in BINDING_REASONS

    @property
    def until_iso(self) -> str:
        """until_ms as ISO-8601 UTC text, as the DeferredUntil attribute and the log name it."""
        return iso_utc(self.until_ms)


def iso_utc(epoch_ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC text with milliseconds and a Z, as the function writes every time."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OutcomeKind(StrEnum):
    """How a record ended: the contract's four outcomes."""

    PLACED = "placed"
    DEFERRED = "deferred"
    DEAD_LETTERED = "dead_lettered"
    RETRIED = "retried"
    # The destination is on the suppression list: acknowledged with no call and no dead-letter (contract v3).
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Outcome:
    """How one record ended, with what its result event names: the token as results show it, its first message."""

    kind: OutcomeKind
    client_token: str
    source_message_id: str
    failure: Failure | None = None  # dead-lettered or retried: why
    deferral: Deferral | None = None  # deferred: why, and until when
    contact_id: str | None = None  # placed
    # False for a deferral that only hops on towards a time already announced: no second Deferred event.
    announced: bool = True
    # Which attempt of a redialled request the outcome is for (the deferral's: the next one, when it is a redial).
    attempt: int = 1
    # A placed call followed by a wait for its redial (the request sent back as well as acknowledged): until when, and
    # for which attempt (this one, whose outcome it awaits, unannounced; or the next, announced as Deferred).
    then: Deferral | None = None
    then_attempt: int | None = None


class DeferralRequired(Exception):  # noqa: N818 - an answer, not a bug: "a deferral is required"
    """A lower layer's answer that the request must wait (its caller ID at its limit, no agent free for it): the
    journey defers it. Raised, like a refusal, so that whatever was claimed for the call is released on the way."""

    def __init__(self, deferral: Deferral) -> None:
        super().__init__(deferral.reason)
        self.deferral = deferral
