"""The functions' own configuration checks on the environments the stack builds: synth fails where a cold start would.

Pure pydantic (no aws_cdk import), like infra/context_loading.py, which calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from outbound_caller.config.common import ConfigurationError
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.config.optout import load_optout_settings
from outbound_caller.config.settings import Settings, load_settings

# What only the deployed stack knows (its queues' URLs and tables' names are tokens at synth), shaped as the function
# expects them, so the check judges the context values alone.
PLACEHOLDER_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/placeholder"
PLACEHOLDER_FIFO_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/placeholder.fifo"
PLACEHOLDER_TABLE_NAME = "placeholder-table"
PLACEHOLDER_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:placeholder-AbCdEf"  # noqa: S105 - a name
PLACEHOLDER_BUS_ARN = "arn:aws:events:us-east-1:000000000000:event-bus/placeholder"

# The context key behind each variable of the function's environment, to name it when the function refuses its value.
CONTEXT_KEY_OF_VARIABLE: Mapping[str, str] = {
    "CONNECT_INSTANCE_ID": "connectInstanceId",
    "CONNECT_CONTACT_FLOW_ID": "connectContactFlowId",
    "CONNECT_ALLOWED_CONTACT_FLOW_IDS": "allowedContactFlowIds",
    "CONNECT_SOURCE_PHONE_NUMBER": "sourcePhoneNumber",
    "CONNECT_QUEUE_ID": "connectQueueId",
    "CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS": "allowedSourcePhoneNumbers",
    "CONNECT_ALLOWED_QUEUE_IDS": "allowedQueueIds",
    "ALLOW_RELATED_CONTACT": "allowRelatedContact",
    "CALLS_PER_SECOND": "callsPerSecond",
    "CALLS_BURST": "callsBurst",
    "MAX_CONCURRENCY": "maxConcurrency",
    "CONCURRENT_CALLS_LIMIT": "concurrentCallsLimit",
    "MAX_RECEIVE_COUNT": "maxReceiveCount",
    "MAX_DEFERRAL_SECONDS": "maxDeferralSeconds",
    "ALLOWED_DESTINATION_COUNTRIES": "allowedDestinationCountries",
    "BLOCKED_NUMBER_TYPES": "blockedNumberTypes",
    "CALLING_HOURS": "callingHours",
    "CALLING_HOLIDAYS": "callingHolidays",
    "CALLING_BLACKOUT_DATES": "callingBlackoutDates",
    "DESTINATION_CALL_LIMIT": "destinationCallLimit",
    "SOURCE_CALL_LIMIT": "sourceCallLimit",
    "REDIAL_ON": "redialOn",
    "REDIAL_MAX_ATTEMPTS": "redialMaxAttempts",
    "REDIAL_INTERVAL_SECONDS": "redialIntervalSeconds",
    "REDIAL_OUTCOME_WAIT_SECONDS": "redialOutcomeWaitSeconds",
    "RESULT_EVENT_BUS_NAME": "resultEventBusName",
    "AGENT_PACING": "agentPacing",
    "AGENT_PACING_RATIO": "agentPacingRatio",
    "AGENT_METRICS_TTL_SECONDS": "agentMetricsTtlSeconds",
}
# The variables that come from the stack's own resources or constants, never from a context value.
STACK_VARIABLES = frozenset(
    {
        "DEAD_LETTER_QUEUE_URL",
        "SOURCE_QUEUE_URL",
        "IDEMPOTENCY_TABLE_NAME",
        "MESSAGE_SIGNING_KEY_SECRET_ID",
        "DESTINATION_CALLS_TABLE_NAME",
        "SUPPRESSION_TABLE_NAME",
        "SUPPRESSION_KEY_SECRET_ID",
        "WAITING_ROOM_QUEUE_URL",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
)


def _variable_of(location: tuple[int | str, ...]) -> str | None:
    """The environment variable a pydantic error location names (by alias, or by field name), if any."""
    if not location:
        return None
    field = Settings.model_fields.get(str(location[0]))
    return (field.alias if field is not None else None) or str(location[0])


def _describe(error: Any, environment: Mapping[str, str]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    variable = _variable_of(tuple(error["loc"]))
    if variable is None:
        return f"the function would refuse its configuration at every cold start: {message}"
    key = CONTEXT_KEY_OF_VARIABLE.get(variable)
    subject = f"context value {key!r}" if key else f"the function's {variable}"
    return (
        f"{subject}: {message} (got {environment.get(variable)!r}; the function reads it as {variable} and would"
        " refuse it at every cold start)"
    )


def function_refusals(environment: Mapping[str, str]) -> list[str]:
    """What the function's load_settings refuses in this environment, each naming its context key; [] if it starts."""
    try:
        load_settings(environment)
    except ConfigurationError as refused:
        try:  # load_settings' own message names variables only: itemize it again, by context key
            Settings.model_validate(dict(environment))
        except ValidationError as error:
            return [_describe(detail, environment) for detail in error.errors(include_url=False)]
        return [str(refused)]
    return []


def stack_function_refusals(completion: Mapping[str, str] | None, optout: Mapping[str, str] | None) -> list[str]:
    """What the completion and opt-out functions would refuse in the environments the stack gives them (None: the
    stack has no such function); [] if both start. Their variables are all the stack's own: a refusal is the stack's
    bug, caught at synth instead of at every cold start."""
    problems = []
    for function, load, environment in (
        ("completion", load_completion_settings, completion),
        ("opt-out", load_optout_settings, optout),
    ):
        if environment is None:
            continue
        try:
            load(environment)
        except ConfigurationError as refused:
            problems.append(
                f"the {function} function would refuse the stack's environment at every cold start: {refused}"
            )
    return problems
