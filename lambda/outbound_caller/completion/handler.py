"""Lambda entry point: one Amazon Connect DISCONNECTED contact event in, one `Outbound Call Completed` out.

EventBridge invokes it asynchronously: an invocation that raises (a malformed event, the ledger or the bus
unavailable) is retried by Lambda, then sent to the stack's dead-letter queue with the event, never dropped silently.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from outbound_caller.completion.completed import completed_detail
from outbound_caller.completion.contact_event import DISCONNECTED, ContactEvent
from outbound_caller.completion.placed_call_lookup import PlacedCallLookup
from outbound_caller.completion.settings import load_completion_settings
from outbound_caller.observability import logger, metrics
from outbound_caller.results.events import COMPLETED
from outbound_caller.results.publisher import ResultEvents, events_client

SETTINGS = load_completion_settings()
LOOKUP = PlacedCallLookup(SETTINGS.placed_calls_table_name)

# Metrics: completions published, and those whose contact the placed-calls ledger did not (yet) hold.
CALLS_COMPLETED = "CallsCompleted"
COMPLETIONS_WITHOUT_PLACED_CALL = "CompletionsWithoutPlacedCall"


class NotAContactEventError(ValueError):
    """The event is not an Amazon Connect contact event of the documented shape."""


class CompletionNotPublishedError(RuntimeError):
    """The Completed event could not be published in time: the invocation fails, so that Lambda tries again."""


# Never log the event: a contact event carries the customer's phone number (customerEndpoint).
@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    """Publish the completion of the call a DISCONNECTED contact event reports; return the event's detail."""
    detail = contact_event_detail(event)
    if detail.event_type != DISCONNECTED or not detail.is_voice:
        # The stack's rule sends only voice DISCONNECTED events; anything else was routed here by mistake.
        logger.warning("Not a voice call's DISCONNECTED event: ignored", extra={"event_type": detail.event_type})
        return None
    token_hash = LOOKUP.client_token_sha256(detail.contact_id)
    if token_hash is None:
        # Not placed by this deployment, or placed so recently that the index does not show it yet: still published
        # (a consumer matches by ContactId), without a ClientToken.
        logger.warning("Contact not found in the placed-calls ledger", extra={"contact_id": detail.contact_id})
        metrics.add_metric(name=COMPLETIONS_WITHOUT_PLACED_CALL, unit=MetricUnit.Count, value=1)
    completed = completed_detail(detail, token_hash)
    events = ResultEvents(events_client(), SETTINGS.result_event_bus_name)
    events.add(COMPLETED, completed)
    if events.flush(context.get_remaining_time_in_millis):
        raise CompletionNotPublishedError("the Outbound Call Completed event was not published (see the log above)")
    metrics.add_metric(name=CALLS_COMPLETED, unit=MetricUnit.Count, value=1)
    logger.info(
        "Call completed",
        extra={
            "contact_id": detail.contact_id,
            "connected": completed["Connected"],
            "duration_seconds": completed["DurationSeconds"],
            "disconnect_reason": completed.get("DisconnectReason"),
        },
    )
    return completed


def contact_event_detail(event: dict[str, Any]) -> Any:
    """The contact event's detail; NotAContactEventError naming the fields at fault (never their values)."""
    try:
        return parse(event=event, model=ContactEvent).detail
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in error.errors()})
        raise NotAContactEventError(
            f"Not an Amazon Connect contact event: bad or missing {', '.join(fields)}"
        ) from None
