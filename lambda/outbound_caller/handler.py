"""Lambda entry point: SQS batch of call requests in, partial batch response out."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller import record_handler
from outbound_caller.decisions import FUNCTION_TIMEOUT_TOO_SHORT as TIMEOUT_TOO_SHORT_CODE
from outbound_caller.decisions import Failure
from outbound_caller.observability import (
    count_function_timeout_too_short,
    count_pending_records,
    logger,
    metrics,
    tracer,
)
from outbound_caller.record_handler import BACK_PRESSURE, ONCE, SIGNING_KEY, handle_record
from outbound_caller.request.signing_key import SigningKeyUnavailableError
from outbound_caller.settling.outcomes import classify
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS, SETTLE_SECONDS, WORST_CASE_LEDGER_WRITE_SECONDS

# An all-failed batch still answers with its partial batch response (every record listed) instead of
# raising, so that records are never retried by anything but their own batchItemFailures entry. Records are handed to
# the journey as Lambda sent them: it parses them itself, inside the one guard that gives every record an outcome.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Time one more write of the placed-calls table needs before the invocation must answer.
PENDING_COMPLETION_RESERVE_MS = (WORST_CASE_LEDGER_WRITE_SECONDS + SETTLE_SECONDS) * 1000
RECORD_TIME_RESERVE_MS = RECORD_TIME_RESERVE_SECONDS * 1000


# Never log the event: its bodies hold phone numbers and attribute values, whatever the environment says.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Place a call for each record; list the records to retry in batchItemFailures."""
    refusal = _timeout_too_short(context)
    signing_key = None
    if refusal is None:
        try:
            signing_key = SIGNING_KEY.get()
        except SigningKeyUnavailableError as error:
            refusal = classify(error)
            logger.error("Message-signing key unavailable: records handed back", extra={"error": str(error)})
    _complete_pending_records(context)
    BACK_PRESSURE.begin()
    response = process_partial_response(
        event=event,
        record_handler=partial(_handle_raw, signing_key=signing_key, refusal=refusal),
        processor=processor,
        context=context,
    )
    _complete_pending_records(context)
    _publish_results(context)
    return response


def _handle_raw(
    record: Any, lambda_context: LambdaContext, *, signing_key: bytes | None, refusal: Failure | None
) -> str:
    """Powertools' record (a data class over Lambda's dict) to the journey, which parses the dict itself."""
    return handle_record(record.raw_event, lambda_context, signing_key=signing_key, refusal=refusal)


def _timeout_too_short(context: LambdaContext) -> Failure | None:
    """The refusal of every record when this invocation cannot hold one record's time reserve, else None.

    The stack sizes the timeout from the reserve; one edited by hand or by another tool may not be: records would be
    deferred as InvocationEnding, due at once, again and again, and never called. Handed back instead, they reach the
    dead-letter queue on their last receive (RetriesExhausted, naming this), and the error and its metric say why.
    """
    remaining_ms = context.get_remaining_time_in_millis()
    if remaining_ms >= RECORD_TIME_RESERVE_MS:
        return None
    message = (
        f"the function timeout (about {remaining_ms // 1000} s left at the invocation's start) cannot hold one"
        f" record's time reserve of {RECORD_TIME_RESERVE_SECONDS} s: raise the function timeout"
    )
    logger.error(
        "Function timeout too short: records handed back",
        extra={"remaining_ms": remaining_ms, "record_time_reserve_seconds": RECORD_TIME_RESERVE_SECONDS},
    )
    count_function_timeout_too_short()
    return Failure(TIMEOUT_TOO_SHORT_CODE, message, permanent=False)


def _complete_pending_records(context: LambdaContext) -> None:
    """Write the records of placed calls whose completion failed, before and after the batch, while time allows."""
    if ONCE.pending and context.get_remaining_time_in_millis() > PENDING_COMPLETION_RESERVE_MS:
        count_pending_records(ONCE.complete_pending())


def _publish_results(context: LambdaContext) -> None:
    """Publish the invocation's result events in the time left: never raises, never changes the response."""
    if record_handler.RESULTS is not None:
        record_handler.RESULTS.flush(context.get_remaining_time_in_millis)
