"""One invocation's batch: refuse it whole when it cannot take records, settle each record, then complete what is
pending and publish the invocation's result events in the time left."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.decisions import FUNCTION_TIMEOUT_TOO_SHORT, Failure, OutcomeKind
from outbound_caller.observability import count_function_timeout_too_short, count_pending_records, logger
from outbound_caller.record_handler import RECORD_TIME_RESERVE_MS, settle_record
from outbound_caller.request.signing_key import SigningKeyUnavailableError
from outbound_caller.results.events import events_for
from outbound_caller.settling.outcomes import classify
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS, SETTLE_SECONDS, WORST_CASE_LEDGER_WRITE_SECONDS
from outbound_caller.wiring import Caller

# Time one more write of the placed-calls table needs before the invocation must answer.
PENDING_COMPLETION_RESERVE_MS = (WORST_CASE_LEDGER_WRITE_SECONDS + SETTLE_SECONDS) * 1000


class RetryableRecordError(Exception):
    """Raised to leave a record in batchItemFailures, so SQS delivers it again (its reason is logged already)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


def handle_batch(event: dict[str, Any], context: LambdaContext, caller: Caller) -> PartialItemFailureResponse:
    """Settle every record of an SQS event; answer with the partial batch response, also when every record failed."""
    refusal = _timeout_too_short(context)
    signing_key = None
    if refusal is None:
        try:
            signing_key = caller.signing_key.get()
        except SigningKeyUnavailableError as error:
            refusal = classify(error)
            logger.error("Message-signing key unavailable: records handed back", extra={"error": str(error)})
    _complete_pending_records(context, caller)
    caller.back_pressure.begin()
    # An all-failed batch still answers with its partial batch response (every record listed) instead of raising, so
    # that records are never retried by anything but their own batchItemFailures entry. Records reach the journey as
    # Lambda sent them: it parses them itself, inside the one guard that gives every record an outcome.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event,
        record_handler=partial(_settle, caller=caller, signing_key=signing_key, refusal=refusal),
        processor=processor,
        context=context,
    )
    _complete_pending_records(context, caller)
    if caller.results is not None:
        # Never raises, never changes the response: a lost event is logged and counted.
        caller.results.flush(context.get_remaining_time_in_millis)
    return response


def _settle(
    record: Any, lambda_context: LambdaContext, *, caller: Caller, signing_key: bytes | None, refusal: Failure | None
) -> str:
    """Powertools' record (a data class over Lambda's dict) through the journey; its outcome announced, and a retry
    raised so that Powertools lists it in batchItemFailures."""
    outcome = settle_record(record.raw_event, lambda_context, caller, signing_key=signing_key, refusal=refusal)
    if caller.results is not None:
        for event in events_for(outcome):
            caller.results.add(*event)
    if outcome.kind is OutcomeKind.RETRIED and outcome.failure is not None:
        raise RetryableRecordError(outcome.failure)
    return outcome.kind.value


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
    return Failure(FUNCTION_TIMEOUT_TOO_SHORT, message, permanent=False)


def _complete_pending_records(context: LambdaContext, caller: Caller) -> None:
    """Write the records of placed calls whose completion failed, before and after the batch, while time allows."""
    if caller.once.pending and context.get_remaining_time_in_millis() > PENDING_COMPLETION_RESERVE_MS:
        count_pending_records(caller.once.complete_pending())
