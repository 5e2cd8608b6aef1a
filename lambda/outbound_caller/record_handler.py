"""One SQS record's journey: validate, pace, call Connect, and settle as placed, dead-lettered or retried."""

from __future__ import annotations

from typing import NoReturn

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.calls import PlacedCall, place_call, requests_sent_by
from outbound_caller.config import load_settings
from outbound_caller.dead_letter import dead_letter
from outbound_caller.envelopes import CallDelivery, CallRequestRecord, parse_delivery
from outbound_caller.idempotency import once_per_client_token
from outbound_caller.observability import (
    CALLS_DEAD_LETTERED,
    CALLS_RETRIED,
    count_by_error_code,
    count_placed,
    logger,
    tracer,
)
from outbound_caller.outcomes import DEAD_LETTER_SEND_FAILED, DEADLINE_REACHED, Failure, classify
from outbound_caller.pacing import Pacer
from outbound_caller.privacy import mask_phone_number, redact_phone_numbers
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS

# Parsed once per container: a missing or malformed variable fails the function at start.
SETTINGS = load_settings()
PACER = Pacer(SETTINGS.calls_per_second_per_invocation)
PLACE_CALL_ONCE = once_per_client_token(place_call, SETTINGS.idempotency_table_name)

RECORD_TIME_RESERVE_MS = RECORD_TIME_RESERVE_SECONDS * 1000


class RetryableRecordError(Exception):
    """Raised to leave a record in batchItemFailures, so SQS delivers it again."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


# Traced without the response; an error reaching the trace is a RetryableRecordError, whose message is safe.
@tracer.capture_method(capture_response=False)
def handle_record(record: CallRequestRecord, lambda_context: LambdaContext) -> str:
    """Settle one record: return its outcome, or raise RetryableRecordError to have SQS redeliver it."""
    if lambda_context.get_remaining_time_in_millis() - PACER.delay() * 1000 < RECORD_TIME_RESERVE_MS:
        _retry(record, Failure(DEADLINE_REACHED, "too little invocation time left for this record", False), None)
    try:
        delivery = parse_delivery(record.body, record.messageId, SETTINGS)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return _settle_failure(record, classify(error), destination=None)
    destination = mask_phone_number(delivery.request.DestinationPhoneNumber)
    try:
        placed = _call(delivery)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return _settle_failure(record, classify(error), destination)
    logger.info(
        "Call placed",
        extra={
            "outcome": "placed",
            "contact_id": placed.contact_id,
            # An earlier delivery placed it: Connect was not called again.
            "replayed": placed.replayed,
            "destination": destination,
            # A producer's own token is free text: it could hold a phone number.
            "client_token": redact_phone_numbers(delivery.client_token),
            "envelope": delivery.envelope,
            "message_id": record.messageId,
        },
    )
    count_placed()
    return "placed"


def _call(delivery: CallDelivery) -> PlacedCall:
    PACER.wait_turn()
    try:
        placed = PLACE_CALL_ONCE(params=delivery.request.to_api_params(SETTINGS, delivery.client_token))
    except Exception as error:
        PACER.charge(requests_sent_by(error))
        raise
    PACER.charge(0 if placed.replayed else placed.requests_sent)
    return placed


def _settle_failure(record: CallRequestRecord, failure: Failure, destination: str | None) -> str:
    if not failure.permanent:
        _retry(record, failure, destination)
    try:
        dead_letter(SETTINGS.dead_letter_queue_url, record.body, failure, record.messageId)
    except Exception as error:  # noqa: BLE001 - the record must then be retried, never dropped
        send_failure = classify(error)
        message = f"{failure.code}; dead-letter send failed: {send_failure.code}"
        _retry(record, Failure(DEAD_LETTER_SEND_FAILED, message, False), destination)
    logger.warning(
        "Call request dead-lettered",
        extra={
            "outcome": "dead_lettered",
            "error_code": failure.code,
            "error_message": failure.message,
            "destination": destination,
            "message_id": record.messageId,
        },
    )
    count_by_error_code(CALLS_DEAD_LETTERED, failure.code)
    return "dead_lettered"


def _retry(record: CallRequestRecord, failure: Failure, destination: str | None) -> NoReturn:
    logger.warning(
        "Call request left for retry",
        extra={
            "outcome": "retried",
            "error_code": failure.code,
            "error_message": failure.message,
            "destination": destination,
            "message_id": record.messageId,
            "receive_count": record.attributes.ApproximateReceiveCount,
        },
    )
    count_by_error_code(CALLS_RETRIED, failure.code)
    raise RetryableRecordError(failure)
