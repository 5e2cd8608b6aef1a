"""How long the function's AWS calls may take, and so how much invocation time one record needs.

The CDK stack derives the function timeout from RECORD_TIME_RESERVE_SECONDS too, so the two cannot drift.
"""

from __future__ import annotations

# botocore "standard" retry mode: up to 3 attempts for throttling, 5xx and connection errors.
MAX_ATTEMPTS = 3
# botocore's standard backoff before retry i (1-based) is at most min(2 ** (i - 1), 20) s for throttling errors
# (base scale 1 s), raised to an x-amz-retry-after header of the answer but never by more than 5 s: 1 + 5, then
# 2 + 5 (botocore.retries.standard.ExponentialBackoff; tests/unit/test_deadline_budget.py drives the real one).
RETRY_AFTER_MAX_ADDITIONAL_SECONDS = 5


def total_backoff_seconds(attempts: int) -> int:
    """The longest botocore may sleep between ``attempts`` attempts of one call."""
    return sum(min(1 << (retry - 1), 20) + RETRY_AFTER_MAX_ADDITIONAL_SECONDS for retry in range(1, attempts))


MAX_TOTAL_BACKOFF_SECONDS = total_backoff_seconds(MAX_ATTEMPTS)

# StartOutboundVoiceContact answers once the contact is created, not when the callee answers, so a
# few seconds are plenty; a longer wait would only eat the invocation's time.
CONNECT_CONNECT_TIMEOUT_SECONDS = 2
CONNECT_READ_TIMEOUT_SECONDS = 5
# SQS answers SendMessage, and DynamoDB a single-item write, in tens of milliseconds.
SQS_CONNECT_TIMEOUT_SECONDS = 1
SQS_READ_TIMEOUT_SECONDS = 2
DYNAMODB_CONNECT_TIMEOUT_SECONDS = 1
DYNAMODB_READ_TIMEOUT_SECONDS = 2


def worst_case_seconds(connect_timeout: int, read_timeout: int, attempts: int = MAX_ATTEMPTS) -> int:
    """The longest one API call can take with every attempt timing out and every backoff at its longest."""
    return attempts * (connect_timeout + read_timeout) + total_backoff_seconds(attempts)


WORST_CASE_CALL_SECONDS = worst_case_seconds(CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS)
WORST_CASE_DEAD_LETTER_SECONDS = worst_case_seconds(SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS)
WORST_CASE_LEDGER_WRITE_SECONDS = worst_case_seconds(DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS)
# The placed-calls record is written up to three times per call: claimed (or, on an operator's confirmation, the
# claim attempt then a take-over) before it, then completed, released or marked uncertain after it.
LEDGER_WRITES_PER_RECORD = 3
WORST_CASE_LEDGER_SECONDS = LEDGER_WRITES_PER_RECORD * WORST_CASE_LEDGER_WRITE_SECONDS
# The shared state of a busy instance (instance_state.py) is a hint: one attempt, short timeouts, and on failure
# calls go on. A record reads and writes it at most twice each (read, claim the instance; read, close it).
INSTANCE_STATE_ATTEMPTS = 1
INSTANCE_STATE_CONNECT_TIMEOUT_SECONDS = 1
INSTANCE_STATE_READ_TIMEOUT_SECONDS = 1
INSTANCE_STATE_CALLS_PER_RECORD = 4
WORST_CASE_INSTANCE_STATE_SECONDS = INSTANCE_STATE_CALLS_PER_RECORD * (
    INSTANCE_STATE_ATTEMPTS * (INSTANCE_STATE_CONNECT_TIMEOUT_SECONDS + INSTANCE_STATE_READ_TIMEOUT_SECONDS)
)
# The per-destination call limit (safety/call_limit.py) gates a call: while its table cannot answer, no call is
# placed and the record is retried by SQS, so one attempt each, with short timeouts, as for the instance state: a
# second attempt would add botocore's backoff (up to 6 s) to every record's reserve for a blip SQS redelivers anyway.
CALL_LIMIT_ATTEMPTS = 1
CALL_LIMIT_CONNECT_TIMEOUT_SECONDS = 1
CALL_LIMIT_READ_TIMEOUT_SECONDS = 1
# Compare-and-set writes one reserve or release may try: the first, then a new decision after each of two lost races
# (another container counted a call to the same number between our read and our write).
CALL_LIMIT_WRITES = 3
# A reserve and a release each read once and write at most CALL_LIMIT_WRITES times.
# A call is counted under two keys at most: its destination (DESTINATION_CALL_LIMIT) and its caller ID
# (SOURCE_CALL_LIMIT, safety/call_guard.py); each key is reserved and, when Connect surely created nothing, released.
CALL_LIMIT_KEYS_PER_CALL = 2
CALL_LIMIT_CALLS_PER_RECORD = CALL_LIMIT_KEYS_PER_CALL * 2 * (1 + CALL_LIMIT_WRITES)
WORST_CASE_CALL_LIMIT_SECONDS = CALL_LIMIT_CALLS_PER_RECORD * worst_case_seconds(
    CALL_LIMIT_CONNECT_TIMEOUT_SECONDS, CALL_LIMIT_READ_TIMEOUT_SECONDS, CALL_LIMIT_ATTEMPTS
)
# EventBridge PutEvents (result events, results/publisher.py) answers in tens of milliseconds. One attempt per call:
# the publisher retries by itself within the invocation's remaining time, which botocore's backoff could overrun.
EVENTS_CONNECT_TIMEOUT_SECONDS = 1
EVENTS_READ_TIMEOUT_SECONDS = 2
EVENTS_ATTEMPTS = 1
WORST_CASE_PUT_EVENTS_SECONDS = worst_case_seconds(
    EVENTS_CONNECT_TIMEOUT_SECONDS, EVENTS_READ_TIMEOUT_SECONDS, EVENTS_ATTEMPTS
)
# Secrets Manager GetSecretValue (the message-signing key, signing_key.py): once per container every few minutes, at an
# invocation's start, before any record; one attempt, as a failure hands the records back to SQS anyway.
SECRETS_CONNECT_TIMEOUT_SECONDS = 1
SECRETS_READ_TIMEOUT_SECONDS = 2
SECRETS_ATTEMPTS = 1
# The suppression list (safety/suppression.py): one GetItem per record on the call-limit client's settings, and its
# key's secret read at most once (then kept for minutes), one attempt each.
WORST_CASE_SUPPRESSION_SECONDS = worst_case_seconds(
    CALL_LIMIT_CONNECT_TIMEOUT_SECONDS, CALL_LIMIT_READ_TIMEOUT_SECONDS, CALL_LIMIT_ATTEMPTS
) + worst_case_seconds(SECRETS_CONNECT_TIMEOUT_SECONDS, SECRETS_READ_TIMEOUT_SECONDS, SECRETS_ATTEMPTS)
# Agent pacing (connect/agents.py): the queue's item on the call-limit client's settings (one attempt, short
# timeouts: an answer that does not come defers the call, fail closed), and Connect's GetCurrentMetricData on a client
# of its own, one attempt too. A record reads the item and writes its claim up to AGENT_CLAIM_RACES times, takes the
# reading's lease, writes a reading and reads the item again, and may give its claim back.
AGENT_CLAIM_RACES = 3
AGENT_ITEM_CALLS_PER_RECORD = 2 * AGENT_CLAIM_RACES + 3 + 1
AGENT_METRICS_CONNECT_TIMEOUT_SECONDS = 2
AGENT_METRICS_READ_TIMEOUT_SECONDS = 3
AGENT_METRICS_ATTEMPTS = 1
WORST_CASE_AGENT_PACING_SECONDS = AGENT_ITEM_CALLS_PER_RECORD * worst_case_seconds(
    CALL_LIMIT_CONNECT_TIMEOUT_SECONDS, CALL_LIMIT_READ_TIMEOUT_SECONDS, CALL_LIMIT_ATTEMPTS
) + worst_case_seconds(
    AGENT_METRICS_CONNECT_TIMEOUT_SECONDS, AGENT_METRICS_READ_TIMEOUT_SECONDS, AGENT_METRICS_ATTEMPTS
)
# A redialled request reads its attempt's ledger item (its outcome) once, on the ledger's own client.
LEDGER_READS_PER_RECORD = 1
# Time kept back for logging and the batch response after the last record.
SETTLE_SECONDS = 2
# A record is only started when everything it may do still fits: a function timeout mid-batch would leave
# a call's outcome unrecorded, and its redelivery could only be dead-lettered as OutcomeUnknown.
RECORD_TIME_RESERVE_SECONDS = (
    WORST_CASE_CALL_SECONDS
    + WORST_CASE_LEDGER_SECONDS
    + WORST_CASE_INSTANCE_STATE_SECONDS
    + WORST_CASE_CALL_LIMIT_SECONDS
    + WORST_CASE_SUPPRESSION_SECONDS
    + WORST_CASE_AGENT_PACING_SECONDS
    # A redial's read of its attempt's outcome.
    + LEDGER_READS_PER_RECORD * WORST_CASE_LEDGER_WRITE_SECONDS
    + WORST_CASE_DEAD_LETTER_SECONDS
    # The last record started leaves time for one PutEvents of the invocation's result events after it.
    + WORST_CASE_PUT_EVENTS_SECONDS
    + SETTLE_SECONDS
)
