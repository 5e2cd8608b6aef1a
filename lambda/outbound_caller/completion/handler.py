"""Lambda entry point: one Amazon Connect DISCONNECTED contact event in, one `Outbound Call Completed` out.

EventBridge invokes it asynchronously: an invocation that raises (a malformed event, the ledger or the bus
unavailable) is retried by Lambda, then sent to the stack's dead-letter queue with the event, never dropped silently.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.completion.placed_call_lookup import PlacedCallLookup
from outbound_caller.completion.report import NotAContactEventError, completion_for
from outbound_caller.completion.settings import load_completion_settings
from outbound_caller.names import CALLS_COMPLETED, COMPLETED_EVENT, COMPLETIONS_WITHOUT_PLACED_CALL
from outbound_caller.observability import logger, metrics
from outbound_caller.results.publisher import ResultEvents, events_client

SETTINGS = load_completion_settings()
LOOKUP = PlacedCallLookup(SETTINGS.placed_calls_table_name)


__all__ = ["CompletionNotPublishedError", "NotAContactEventError", "lambda_handler"]


class CompletionNotPublishedError(RuntimeError):
    """The Completed event could not be published in time: the invocation fails, so that Lambda tries again."""


# Never log the event: a contact event carries the customer's phone number (customerEndpoint).
@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    """Publish the completion of the call a DISCONNECTED contact event reports; return the event's detail."""
    completion = completion_for(event, LOOKUP)
    if completion is None:
        # The stack's rule sends only voice DISCONNECTED events; anything else was routed here by mistake.
        logger.warning("Not a voice call's DISCONNECTED event: ignored")
        return None
    detail = completion.detail
    if not completion.found:
        logger.warning("Contact not found in the placed-calls ledger", extra={"contact_id": detail["ContactId"]})
        metrics.add_metric(name=COMPLETIONS_WITHOUT_PLACED_CALL, unit=MetricUnit.Count, value=1)
    events = ResultEvents(events_client(), SETTINGS.result_event_bus_name)
    events.add(COMPLETED_EVENT, detail)
    if events.flush(context.get_remaining_time_in_millis):
        raise CompletionNotPublishedError("the Outbound Call Completed event was not published (see the log above)")
    metrics.add_metric(name=CALLS_COMPLETED, unit=MetricUnit.Count, value=1)
    logger.info(
        "Call completed",
        extra={
            "contact_id": detail["ContactId"],
            "connected": detail["Connected"],
            "duration_seconds": detail["DurationSeconds"],
            "disconnect_reason": detail.get("DisconnectReason"),
        },
    )
    return detail
