"""The message attributes the function sets on every message it sends itself (dead-letters, deferrals).

Pure names, so that every layer, the stack and the tests can name them without importing the function's clients.
"""

from __future__ import annotations

# The token that travels with the request, so that a redriven or deferred message keeps it.
CLIENT_TOKEN_ATTRIBUTE = "ClientToken"  # noqa: S105 - a name, not a secret
# Why a request was dead-lettered, and what an operator reads.
ERROR_CODE_ATTRIBUTE = "ErrorCode"
ERROR_MESSAGE_ATTRIBUTE = "ErrorMessage"
# On an OutcomeUnknown dead-letter: the placed-calls attempt whose outcome is unknown, which its redrive confirms.
UNCERTAIN_ATTEMPT_ATTRIBUTE = "OutcomeUnknownAttempt"
# The ErrorCode whose redrive is an operator's confirmation to call again (see connect/idempotency.py).
OUTCOME_UNKNOWN = "OutcomeUnknown"
# The message that first brought the request, named on every message the function sends on its behalf.
SOURCE_MESSAGE_ID_ATTRIBUTE = "SourceMessageId"
# On a deferred request: when it first arrived, how often and why it was deferred, and until when.
FIRST_ARRIVAL_ATTRIBUTE = "FirstArrivalTime"
DEFERRAL_COUNT_ATTRIBUTE = "DeferralCount"
DEFERRAL_REASON_ATTRIBUTE = "DeferralReason"
DEFERRED_UNTIL_ATTRIBUTE = "DeferredUntil"
# Which attempt of a redialled request a message is for (contract v3, "Outcomes, answering machines and redial").
ATTEMPT_ATTRIBUTE = "Attempt"
