"""Lambda entry point of the opt-out function: a number joins or leaves the suppression list, announced by its hash.

Invoked three ways (changes.py): by EventBridge (an opt-out or opt-in event on the intake bus), by a contact flow
(the callee presses a key), and by the operators' command line (add, remove or check numbers). The list's writes are
idempotent (listing twice is one item), so an event Lambda retries changes nothing twice; its announcement may come
twice (at least once, like every result event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import phonenumbers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.config.optout import load_optout_settings
from outbound_caller.names import SUPPRESSION_CHANGES
from outbound_caller.observability import logger, metrics
from outbound_caller.optout.changes import (
    CHECK,
    FROM_CONTACT_FLOW,
    FROM_EVENT,
    OPT_OUT,
    Changes,
    NotAListChangeError,
    announced_as,
    changes_of,
)
from outbound_caller.optout.collaborators import OptOut, build_optout

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# A number's outcome in a direct invocation's answer (by its position: the answer never repeats a number).
LISTED, NOT_LISTED, REMOVED, INVALID = "listed", "not-listed", "removed", "invalid"


class ChangesNotAnnouncedError(RuntimeError):
    """An event's change was made but its announcement not published: the invocation fails, so Lambda tries again."""


def handler_for(optout: OptOut) -> Handler:
    """The Lambda handler over these collaborators: Powertools' decorators around one call."""

    # Never log the event: it carries the phone number.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Change the suppression list as the event asks; answer as its caller expects."""
        return change_list(event, context, optout)

    return cast(Handler, lambda_handler)


def change_list(event: Any, context: LambdaContext, optout: OptOut) -> dict[str, Any]:
    """Apply the change an event asks for and announce it; the answer its kind of caller reads."""
    try:
        changes = changes_of(event)
    except NotAListChangeError as error:
        logger.warning("Not a suppression-list change: ignored", extra={"error": str(error)})
        return {"Error": str(error)}
    statuses = [_apply(changes, number, optout) for number in changes.numbers]
    unannounced = optout.results.flush(context.get_remaining_time_in_millis) if optout.results is not None else 0
    counts = {status: statuses.count(status) for status in set(statuses)}
    logger.info("Suppression list changed", extra={"origin": changes.origin, "operation": changes.operation, **counts})
    if changes.origin == FROM_CONTACT_FLOW:
        # Connect reads a flat map of strings; the flow can branch on it.
        done = statuses == [LISTED if changes.operation == OPT_OUT else REMOVED]
        return {"OptedOut" if changes.operation == OPT_OUT else "OptedIn": "true" if done else "false"}
    if changes.origin == FROM_EVENT and unannounced:
        raise ChangesNotAnnouncedError("the change was made but not announced (see the log above)")
    return {"Statuses": statuses, "Unannounced": unannounced}


def _apply(changes: Changes, number: str, optout: OptOut) -> str:
    if not _possible(number):
        return INVALID
    if changes.operation == CHECK:
        return LISTED if optout.suppression.is_listed(number) else NOT_LISTED
    if changes.operation == OPT_OUT:
        key, status = optout.suppression.add(number, changes.origin), LISTED
    else:
        key, status = optout.suppression.remove(number), REMOVED
    metrics.add_metric(name=SUPPRESSION_CHANGES, unit=MetricUnit.Count, value=1)
    if optout.results is not None:
        optout.results.add(announced_as(changes.operation), {"PhoneNumberHash": key, "Origin": changes.origin})
    return status


def _possible(number: str) -> bool:
    """Whether the text is a phone number libphonenumber can place (with its country code: +...)."""
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


# Built once per container: a missing or malformed variable fails the function at start, naming it.
lambda_handler = handler_for(build_optout(load_optout_settings()))
