"""Lambda entry point: SQS batch of call requests in, partial batch response out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.batch import handle_batch
from outbound_caller.config.settings import load_settings
from outbound_caller.observability import logger, metrics, tracer
from outbound_caller.wiring import Caller, build_caller

Handler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def handler_for(caller: Caller) -> Handler:
    """The Lambda handler over these collaborators: Powertools' decorators around one call into the batch."""

    # Never log the event: its bodies hold phone numbers and attribute values, whatever the environment says.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        """Place a call for each record; list the records to retry in batchItemFailures."""
        return handle_batch(event, context, caller)

    return cast(Handler, lambda_handler)  # the tracer's decorator is typed loosely


# Built once per container: a missing or malformed variable fails the function at start, naming it.
lambda_handler = handler_for(build_caller(load_settings()))
