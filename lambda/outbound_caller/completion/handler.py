"""Lambda entry point: one Amazon Connect DISCONNECTED contact event in, one `Outbound Call Completed` out; and, with
a waiting room, the ended call's slot handed on (freed_slots.py), and a scheduled tick that draws the waiting room.

EventBridge invokes it asynchronously: an invocation that raises (a malformed event, the ledger or the bus
unavailable) is retried by Lambda, then sent to the stack's dead-letter queue with the event, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.completion.agent_claims import connected_to_agent, end_claim
from outbound_caller.completion.collaborators import Completion, build_completion
from outbound_caller.completion.freed_slots import hand_on, tick
from outbound_caller.completion.report import NotAContactEventError, completion_for, contact_event_detail
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.names import CALLS_COMPLETED, COMPLETED_EVENT, COMPLETIONS_WITHOUT_PLACED_CALL, CONNECTED_TO_AGENT
from outbound_caller.observability import logger, metrics
from outbound_caller.results.publisher import ResultEvents

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any] | None]

__all__ = ["CompletionNotPublishedError", "NotAContactEventError", "lambda_handler"]


class CompletionNotPublishedError(RuntimeError):
    """The Completed event could not be published in time: the invocation fails, so that Lambda tries again."""


def handler_for(completion: Completion) -> Handler:
    """The Lambda handler over these collaborators: Powertools' decorators around one call."""

    # Never log the event: a contact event carries the customer's phone number (customerEndpoint).
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
        """Publish the completion of the call a DISCONNECTED contact event reports; return the event's detail."""
        return complete(event, context, completion)

    return lambda_handler


# What EventBridge sends on a schedule (the stack's tick rule).
SCHEDULED_EVENT_SOURCE = "aws.events"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"


def complete(event: dict[str, Any], context: LambdaContext, completion: Completion) -> dict[str, Any] | None:
    """Publish the completion of the call a DISCONNECTED contact event reports; return the event's detail. A
    scheduled event draws the waiting room instead, and returns None."""
    if event.get("source") == SCHEDULED_EVENT_SOURCE and event.get("detail-type") == SCHEDULED_EVENT_DETAIL_TYPE:
        if completion.hand_over is not None:
            tick(completion.hand_over, completion.settings.concurrent_calls_limit, completion.now_ms())
        return None
    if completion.agents is not None:
        detail_of_event = contact_event_detail(event)
        if detail_of_event.event_type == CONNECTED_TO_AGENT:
            connected_to_agent(completion, detail_of_event)
            return None
    report = completion_for(event, completion.lookup, completion.contacts, completion.ends, now_ms=completion.now_ms())
    if report is None:
        # The stack's rule sends only voice DISCONNECTED events; anything else was routed here by mistake.
        logger.warning("Not a voice call's DISCONNECTED event: ignored")
        return None
    detail = report.detail
    end_claim(completion, report.token_sha256, report.agent_queue)
    if report.first and completion.hand_over is not None:
        # Once per call, before the publish (which Lambda may retry): its slot goes to a waiting request.
        hand_on(completion.hand_over, completion.now_ms())
    if not report.found:
        logger.warning("Contact not found in the placed-calls ledger", extra={"contact_id": detail["ContactId"]})
        metrics.add_metric(name=COMPLETIONS_WITHOUT_PLACED_CALL, unit=MetricUnit.Count, value=1)
    events = ResultEvents(completion.events, completion.settings.result_event_bus_name)
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
            "outcome": detail["Outcome"],
            "attempt": detail["Attempt"],
            "final": detail["Final"],
        },
    )
    return detail


# Built once per container: a missing or malformed variable fails the function at start, naming it.
lambda_handler = handler_for(build_completion(load_completion_settings()))
