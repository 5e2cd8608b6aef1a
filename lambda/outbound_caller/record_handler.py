"""One SQS record's journey: validate, pace, place the call once, and settle as placed, dead-lettered or retried."""

from __future__ import annotations

from typing import NoReturn

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.calls import PlacedCall, requests_sent_by
from outbound_caller.config import load_settings
from outbound_caller.dead_letter import dead_letter
from outbound_caller.envelopes import (
    FREE_TEXT_TOKEN_SOURCES,
    TOKEN_FROM_REQUEST,
    TOKEN_FROM_SQS,
    CallDelivery,
    CallRequestRecord,
    delivery_token,
    parse_delivery,
)
from outbound_caller.idempotency import OncePerToken
from outbound_caller.observability import (
    CALLS_DEAD_LETTERED,
    CALLS_RETRIED,
    count_by_error_code,
    count_placed,
    logger,
    tracer,
)
from outbound_caller.outcomes import DEAD_LETTER_SEND_FAILED, DEADLINE_REACHED, Failure, classify, retries_exhausted
from outbound_caller.pacing import Pacer
from outbound_caller.placed_calls import PlacedCallsLedger
from outbound_caller.privacy import mask_phone_number, mask_token
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS, SETTLE_SECONDS, WORST_CASE_DEAD_LETTER_SECONDS

# Parsed once per container: a missing or malformed variable fails the function at start.
SETTINGS = load_settings()
PACER = Pacer(SETTINGS.calls_per_second_per_invocation)
ONCE = OncePerToken(PlacedCallsLedger(SETTINGS.idempotency_table_name) if SETTINGS.idempotency_table_name else None)

RECORD_TIME_RESERVE_MS = RECORD_TIME_RESERVE_SECONDS * 1000
# Enough time left to dead-letter a record on its last receive, though not to call for it.
DEAD_LETTER_TIME_RESERVE_MS = (WORST_CASE_DEAD_LETTER_SECONDS + SETTLE_SECONDS) * 1000


class RetryableRecordError(Exception):
    """Raised to leave a record in batchItemFailures, so SQS delivers it again."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


# Traced without the response; an error reaching the trace is a RetryableRecordError, whose message is safe.
@tracer.capture_method(capture_response=False)
def handle_record(record: CallRequestRecord, lambda_context: LambdaContext) -> str:
    """Settle one record: return its outcome, or raise RetryableRecordError to have SQS redeliver it."""
    try:
        delivery = parse_delivery(record, SETTINGS)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return _settle_failure(record, classify(error), None, None, lambda_context)
    destination = mask_phone_number(delivery.request.DestinationPhoneNumber)
    # Parsed first (no I/O), so that a record released here still carries its own token on a dead-letter.
    if lambda_context.get_remaining_time_in_millis() - PACER.delay() * 1000 < RECORD_TIME_RESERVE_MS:
        too_late = Failure(DEADLINE_REACHED, "too little invocation time left for this record", False)
        return _settle_failure(record, too_late, delivery, destination, lambda_context)
    try:
        placed = _call(record, delivery, lambda_context)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return _settle_failure(record, classify(error), delivery, destination, lambda_context)
    logger.info(
        "Call placed",
        extra={
            "outcome": "placed",
            "contact_id": placed.contact_id,
            # An earlier delivery placed it: Connect was not called again.
            "replayed": placed.replayed,
            # False: Connect placed the call but its record is still to be completed (done later, never re-dialled).
            "recorded": placed.recorded,
            "destination": destination,
            "client_token": _shown_token(record, delivery),
            "token_source": delivery.token_source,
            "envelope": delivery.envelope,
            "message_id": record.messageId,
        },
    )
    count_placed()
    return "placed"


def _call(record: CallRequestRecord, delivery: CallDelivery, lambda_context: LambdaContext) -> PlacedCall:
    PACER.wait_turn()
    try:
        placed = ONCE.place(
            delivery.request.to_api_params(SETTINGS, delivery.client_token),
            confirmed_attempt=record.confirmed_attempt,
            remaining_ms=lambda_context.get_remaining_time_in_millis(),
        )
    except Exception as error:
        PACER.charge(requests_sent_by(error))
        raise
    PACER.charge(placed.requests_sent)
    return placed


def _settle_failure(
    record: CallRequestRecord,
    failure: Failure,
    delivery: CallDelivery | None,
    destination: str | None,
    lambda_context: LambdaContext,
) -> str:
    if not failure.permanent:
        receive_count = int(record.attributes.ApproximateReceiveCount)
        if SETTINGS.max_receive_count is None or receive_count < SETTINGS.max_receive_count:
            _retry(record, failure, delivery, destination)
        # The last receive: dead-letter it here, with its reason, rather than let SQS move it with none.
        failure = retries_exhausted(failure, receive_count)
    # Not even a dead-letter send fits in the invocation: SQS delivers it again (or, after its last receive,
    # moves it without a reason) rather than the function being cut off mid-send.
    if lambda_context.get_remaining_time_in_millis() < DEAD_LETTER_TIME_RESERVE_MS:
        _retry(record, failure, delivery, destination)
    try:
        dead_letter(
            SETTINGS.dead_letter_queue_url, record.body, failure, record.messageId, _travelling_token(record, delivery)
        )
    except Exception as error:  # noqa: BLE001 - the record must then be retried, never dropped
        send_failure = classify(error)
        message = f"{failure.code}; dead-letter send failed: {send_failure.code}"
        _retry(record, Failure(DEAD_LETTER_SEND_FAILED, message, False), delivery, destination)
    logger.warning(
        "Call request dead-lettered",
        extra={
            "outcome": "dead_lettered",
            "error_code": failure.code,
            "error_message": failure.message,
            "destination": destination,
            "client_token": _shown_token(record, delivery),
            "message_id": record.messageId,
        },
    )
    count_by_error_code(CALLS_DEAD_LETTERED, failure.code)
    return "dead_lettered"


def _retry(
    record: CallRequestRecord, failure: Failure, delivery: CallDelivery | None, destination: str | None
) -> NoReturn:
    logger.warning(
        "Call request left for retry",
        extra={
            "outcome": "retried",
            "error_code": failure.code,
            "error_message": failure.message,
            "destination": destination,
            "client_token": _shown_token(record, delivery),
            "message_id": record.messageId,
            "receive_count": record.attributes.ApproximateReceiveCount,
        },
    )
    count_by_error_code(CALLS_RETRIED, failure.code)
    raise RetryableRecordError(failure)


def _token_and_source(record: CallRequestRecord, delivery: CallDelivery | None) -> tuple[str, str]:
    """The delivery's token, or, when its body could not be parsed, the one the record itself implies."""
    if delivery is None:
        return delivery_token(record, None, TOKEN_FROM_SQS)
    return delivery.client_token, delivery.token_source


def _travelling_token(record: CallRequestRecord, delivery: CallDelivery | None) -> str:
    """The ClientToken a message the function sends must carry, so that its redrive calls with the same token.

    A token the request names itself stays in the body, which wins on redrive: the attribute shows it masked.
    """
    token, source = _token_and_source(record, delivery)
    return mask_token(token) if source == TOKEN_FROM_REQUEST else token


def _shown_token(record: CallRequestRecord, delivery: CallDelivery | None) -> str:
    """The token as logs show it: IDs AWS generated as they are, a producer's own text masked."""
    token, source = _token_and_source(record, delivery)
    return mask_token(token) if source in FREE_TEXT_TOKEN_SOURCES else token
