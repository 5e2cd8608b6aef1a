"""Sending a request back to its source queue to be tried later, without spending its redrive budget.

A deferred request is a new message: its receive count starts again at zero, so being early or meeting a busy
instance never moves it towards the dead-letter queue. It keeps what makes it the same request: the body as the
producer sent it, its ClientToken (so a crash between this send and the original's acknowledgement, which leaves
two copies, still places one call: the placed-calls ledger answers the second), its first arrival (which bounds
how long it may be deferred), and an operator's confirmation of an uncertain call, if the message carries one.

SQS delays a message by at most 15 minutes. A longer deferral names its time in DeferredUntil and hops: each
arrival before that time is sent on again at once, with no Connect call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from outbound_caller.config.settings import Settings
from outbound_caller.decisions import DEFERRAL_REASONS, INSTANCE_AT_CAPACITY, OUTCOME_UNKNOWN, Deferral, iso_utc
from outbound_caller.names import (
    ATTEMPT_ATTRIBUTE,
    CLIENT_TOKEN_ATTRIBUTE,
    DEFERRAL_COUNT_ATTRIBUTE,
    DEFERRAL_REASON_ATTRIBUTE,
    DEFERRED_UNTIL_ATTRIBUTE,
    ERROR_CODE_ATTRIBUTE,
    FIRST_ARRIVAL_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    UNCERTAIN_ATTEMPT_ATTRIBUTE,
)
from outbound_caller.request.contract import CallRequest
from outbound_caller.request.record import CallRequestRecord
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from outbound_caller.settling.outgoing import check_fits, outgoing_attributes

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS SendMessage: "DelaySeconds ... Valid values: 0 to 900" (15 minutes).
SQS_MAX_DELAY_SECONDS = 900
# A deferral arriving this much before its time is sent on again (SQS delays at most 15 minutes per hop).
EARLY_ARRIVAL_TOLERANCE_MS = 1000


def still_deferred(record: CallRequestRecord, now_ms: int) -> Deferral | None:
    """The deferral a record that arrived before its DeferredUntil must hop on with, else None.

    The attributes are the function's own, but any producer can set them too: the time is bounded like any
    deferral, and a reason the function does not know is never echoed to a log, a metric or a message.
    """
    until_ms = record.deferred_until_ms
    if until_ms is None or until_ms - now_ms <= EARLY_ARRIVAL_TOLERANCE_MS:
        return None
    reason = record.deferral_reason if record.deferral_reason in DEFERRAL_REASONS else INSTANCE_AT_CAPACITY
    return Deferral(reason, until_ms)


def deferral_deadline_ms(record: CallRequestRecord, request: CallRequest | None, settings: Settings) -> int:
    """When a request stops being deferred and is dead-lettered as Expired: its ExpiresAt, else its first
    arrival plus MAX_DEFERRAL_SECONDS; never more than MAX_DEFERRAL_LIMIT_SECONDS after its first arrival.

    The limit is what the placed-calls ledger is sized for: a copy of a request (a crash between a deferral's send
    and the original's acknowledgement leaves one) must not come back after the ledger has forgotten its call.
    """
    limit_ms = record.first_arrival_ms + MAX_DEFERRAL_LIMIT_SECONDS * 1000
    if request is not None and request.ExpiresAt is not None:
        return min(int(request.ExpiresAt.timestamp() * 1000), limit_ms)
    return record.first_arrival_ms + settings.max_deferral_seconds * 1000


def source_queue_url(record: CallRequestRecord, settings: Settings, sqs: SQSClient) -> str:
    """The queue the record came from: SOURCE_QUEUE_URL, else the URL its eventSourceARN names."""
    if settings.source_queue_url is not None:
        return settings.source_queue_url
    # arn:aws:sqs:<region>:<account>:<name> -> <the SQS endpoint>/<account>/<name>
    _, _, _, _, account, name = record.eventSourceARN.split(":", 5)
    return f"{sqs.meta.endpoint_url}/{account}/{name}"


def defer(
    sqs: SQSClient,
    queue_url: str,
    record: CallRequestRecord,
    deferral: Deferral,
    client_token: str,
    now_ms: int,
    key: bytes | None,
    attempt: int = 1,
) -> int:
    """Send the record's body back to ``queue_url`` to arrive at ``deferral.until_ms``, for the request's ``attempt``
    (a redial's next attempt, or the one whose outcome it awaits); return the delay in s."""
    delay = min(SQS_MAX_DELAY_SECONDS, max(0, math.ceil((deferral.until_ms - now_ms) / 1000)))
    values = deferred_values(record, deferral.reason, client_token, attempt)
    values[DEFERRED_UNTIL_ATTRIBUTE] = iso_utc(deferral.until_ms)
    attributes = outgoing_attributes(record.body, values, key)
    check_fits(record.body, attributes)
    sqs.send_message(QueueUrl=queue_url, MessageBody=record.body, DelaySeconds=delay, MessageAttributes=attributes)
    return delay


def deferred_values(record: CallRequestRecord, reason: str, client_token: str, attempt: int) -> dict[str, str]:
    """The attributes a deferred request carries, wherever it waits: what makes it the same request, and why it waits.

    DeferredUntil is the caller's to add: a request in the waiting room waits for a slot, not for a time.
    """
    values = {
        CLIENT_TOKEN_ATTRIBUTE: client_token,
        SOURCE_MESSAGE_ID_ATTRIBUTE: record.source_message_id,
        FIRST_ARRIVAL_ATTRIBUTE: iso_utc(record.first_arrival_ms),
        DEFERRAL_COUNT_ATTRIBUTE: str(record.deferral_count + 1),
        DEFERRAL_REASON_ATTRIBUTE: reason,
    }
    if attempt > 1:
        values[ATTEMPT_ATTRIBUTE] = str(attempt)
    if record.confirmed_attempt is not None and attempt == record.attempt:
        # An operator's confirmation of an uncertain call stays with the request until it is used (for its own attempt
        # only: the next attempt is another call, with its own token).
        values[ERROR_CODE_ATTRIBUTE] = OUTCOME_UNKNOWN
        values[UNCERTAIN_ATTEMPT_ATTRIBUTE] = str(record.confirmed_attempt)
    return values
