"""How long the function's AWS calls may take, and so how much invocation time one record needs.

The CDK stack derives the function timeout from RECORD_TIME_RESERVE_SECONDS too, so the two cannot drift.
"""

from __future__ import annotations

from botocore.config import Config

# botocore "standard" retry mode: up to 3 attempts for throttling, 5xx and connection errors, with
# exponential backoff of at most 1 s then 2 s between them.
MAX_ATTEMPTS = 3
MAX_TOTAL_BACKOFF_SECONDS = 1 + 2

# StartOutboundVoiceContact answers once the contact is created, not when the callee answers, so a
# few seconds are plenty; a longer wait would only eat the invocation's time.
CONNECT_CONNECT_TIMEOUT_SECONDS = 2
CONNECT_READ_TIMEOUT_SECONDS = 5
# SQS answers SendMessage, and DynamoDB a single-item write, in tens of milliseconds.
SQS_CONNECT_TIMEOUT_SECONDS = 1
SQS_READ_TIMEOUT_SECONDS = 2
DYNAMODB_CONNECT_TIMEOUT_SECONDS = 1
DYNAMODB_READ_TIMEOUT_SECONDS = 2


def worst_case_seconds(connect_timeout: int, read_timeout: int) -> int:
    """The longest one API call can take with every attempt timing out."""
    return MAX_ATTEMPTS * (connect_timeout + read_timeout) + MAX_TOTAL_BACKOFF_SECONDS


WORST_CASE_CALL_SECONDS = worst_case_seconds(CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS)
WORST_CASE_DEAD_LETTER_SECONDS = worst_case_seconds(SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS)
# The idempotency record is written twice per call: in progress before it, completed (or removed) after.
WORST_CASE_IDEMPOTENCY_SECONDS = 2 * worst_case_seconds(DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS)
# Time kept back for logging and the batch response after the last record.
SETTLE_SECONDS = 2
# A record is only started when everything it may do still fits: a function timeout mid-batch would
# bring back records already placed, and ring those customers again.
RECORD_TIME_RESERVE_SECONDS = (
    WORST_CASE_CALL_SECONDS + WORST_CASE_IDEMPOTENCY_SECONDS + WORST_CASE_DEAD_LETTER_SECONDS + SETTLE_SECONDS
)


def client_config(connect_timeout: int, read_timeout: int) -> Config:
    """botocore settings for the function's clients: explicit timeouts, standard retries."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        user_agent_extra="connect-outbound-caller",
    )
