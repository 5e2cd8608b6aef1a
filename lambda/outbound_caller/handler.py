"""Lambda entry point: SQS batch of call requests in, partial batch response out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller import record_handler
from outbound_caller.observability import count_pending_records, logger, metrics, tracer
from outbound_caller.record_handler import BACK_PRESSURE, ONCE, handle_record
from outbound_caller.request.envelopes import CallRequestRecord
from outbound_caller.timeouts import SETTLE_SECONDS, WORST_CASE_LEDGER_WRITE_SECONDS

# An all-failed batch still answers with its partial batch response (every record listed) instead of
# raising, so that records are never retried by anything but their own batchItemFailures entry.
processor = BatchProcessor(event_type=EventType.SQS, model=CallRequestRecord, raise_on_entire_batch_failure=False)
# Time one more write of the placed-calls table needs before the invocation must answer.
PENDING_COMPLETION_RESERVE_MS = (WORST_CASE_LEDGER_WRITE_SECONDS + SETTLE_SECONDS) * 1000


# Never log the event: its bodies hold phone numbers and attribute values, whatever the environment says.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Place a call for each record; list the records to retry in batchItemFailures."""
    _complete_pending_records(context)
    BACK_PRESSURE.begin()
    response = process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    _complete_pending_records(context)
    _publish_results(context)
    return response


def _complete_pending_records(context: LambdaContext) -> None:
    """Write the records of placed calls whose completion failed, before and after the batch, while time allows."""
    if ONCE.pending and context.get_remaining_time_in_millis() > PENDING_COMPLETION_RESERVE_MS:
        count_pending_records(ONCE.complete_pending())


def _publish_results(context: LambdaContext) -> None:
    """Publish the invocation's result events in the time left: never raises, never changes the response."""
    if record_handler.RESULTS is not None:
        record_handler.RESULTS.flush(context.get_remaining_time_in_millis)
