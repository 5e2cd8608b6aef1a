"""Deployment settings: the CDK context values, validated, and the numbers derived from them.

Pure pydantic (no aws_cdk import) so the local pipeline can share the same validation and derivations.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phonenumbers import NumberParseException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from infra.batch_timing import (
    MAX_BATCH_SIZE,
    MAX_BATCHING_WINDOW_SECONDS,
    MAX_FUNCTION_TIMEOUT_SECONDS,
    MAX_UNWINDOWED_BATCH_SIZE,
    PACING_HEADROOM_FACTOR,
    SLOW_RECORD_HEADROOM_SECONDS,
    InvocationPacing,
    visibility_timeout_seconds,
)
from infra.context_values import (
    ANY_COUNTRY,
    STACK_BLOCKED_NUMBER_TYPES,
    BlockedNumberTypes,
    ConnectId,
    ConnectIds,
    OptionalCallingHours,
    OptionalCallLimit,
    OptionalConnectId,
    OptionalE164Number,
    OptionalEmailAddress,
    OptionalEventBusName,
    OptionalEventBusNameOrArn,
    OptionalRegionCodes,
    OptionalSnsTopicArn,
    PatternValues,
    PhoneNumbers,
    Principals,
    SnsTopicArns,
)
from infra.function_check import (
    PLACEHOLDER_QUEUE_URL,
    PLACEHOLDER_SECRET_ARN,
    PLACEHOLDER_TABLE_NAME,
    function_refusals,
)
from infra.function_environment import FunctionConfiguration, StackResources
from outbound_caller.config.destinations import (
    caller_id_region,
)
from outbound_caller.config.settings import (
    DEFAULT_CALLS_BURST,
    DEFAULT_CALLS_PER_SECOND,
    DEFAULT_CONCURRENT_CALLS_LIMIT,
    DEFAULT_MAX_DEFERRAL_SECONDS,
    MAX_MAX_CONCURRENCY,
    MAX_MAX_RECEIVE_COUNT,
    MIN_MAX_CONCURRENCY,
)
from outbound_caller.names import (
    COMPLETED_EVENT,
    DEFERRED_EVENT,
    PLACED_EVENT,
    REJECTED_EVENT,
    RESULT_SOURCE,
)
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON_PATH = REPO_ROOT / "cdk.json"

DEFAULT_MAX_CONCURRENCY = MIN_MAX_CONCURRENCY
# Lambda SQS event source default batch size.
DEFAULT_BATCH_SIZE = 10
DEFAULT_MAX_RECEIVE_COUNT = 5
DEFAULT_EVENT_DETAIL_TYPE = "Outbound Call Requested"
# A call request waiting longer than this is stale for an outbound call: alarm on it.
DEFAULT_OLDEST_REQUEST_AGE_ALARM_SECONDS = 900

# The result events' detail-types, which the intake rule must not match when both share a bus.
RESULT_EVENT_DETAIL_TYPES = frozenset({PLACED_EVENT, REJECTED_EVENT, DEFERRED_EVENT, COMPLETED_EVENT})

# The obviously-fake instance ID committed in cdk.json so `make synth` works before any configuration.
PLACEHOLDER_INSTANCE_ID = "00000000-0000-0000-0000-000000000000"

# The CloudFormation stack the app deploys; `python -m preflight` looks it up by this name.
STACK_NAME = "ConnectOutboundCaller"


class InvalidDeploymentSettings(ValueError):  # noqa: N818 - the name local/ and app.py import
    """A context value is missing or invalid; the message names the context key."""


class DeploymentSettings(BaseModel):
    """Everything a deployment can be configured with; field aliases are the CDK context keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    instance_id: ConnectId = Field(alias="connectInstanceId")
    contact_flow_id: ConnectId = Field(alias="connectContactFlowId")
    allowed_contact_flow_ids: ConnectIds = Field(default=(), alias="allowedContactFlowIds")
    source_phone_number: OptionalE164Number = Field(default=None, alias="sourcePhoneNumber")
    queue_id: OptionalConnectId = Field(default=None, alias="connectQueueId")
    allowed_source_phone_numbers: PhoneNumbers = Field(default=(), alias="allowedSourcePhoneNumbers")
    allowed_queue_ids: ConnectIds = Field(default=(), alias="allowedQueueIds")
    allow_related_contact: bool = Field(default=False, alias="allowRelatedContact")
    calls_per_second: float = Field(default=DEFAULT_CALLS_PER_SECOND, alias="callsPerSecond", gt=0, allow_inf_nan=False)
    # The share of the quota's burst, summed over concurrent invocations like callsPerSecond. Its range, like those of
    # the other values only the function reads (concurrentCallsLimit, maxDeferralSeconds, allowedSourcePhoneNumbers),
    # is the function's own check, run on the environment built from them (settings_from_context).
    calls_burst: float = Field(default=DEFAULT_CALLS_BURST, alias="callsBurst")
    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY, alias="maxConcurrency", ge=MIN_MAX_CONCURRENCY, le=MAX_MAX_CONCURRENCY
    )
    # The instance's "concurrent active calls" quota, which the function waits on when the instance is full.
    concurrent_calls_limit: int = Field(default=DEFAULT_CONCURRENT_CALLS_LIMIT, alias="concurrentCallsLimit")
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, alias="batchSize", ge=1, le=MAX_BATCH_SIZE)
    batching_window_seconds: int = Field(default=0, alias="batchingWindowSeconds", ge=0, le=MAX_BATCHING_WINDOW_SECONDS)
    max_receive_count: int = Field(
        default=DEFAULT_MAX_RECEIVE_COUNT, alias="maxReceiveCount", ge=1, le=MAX_MAX_RECEIVE_COUNT
    )
    # How long a request may keep being deferred from its first arrival (its ExpiresAt aside); capped because the
    # placed-calls ledger must outlive the longest deferral (outbound_caller.retention); the function checks the cap.
    max_deferral_seconds: int = Field(default=DEFAULT_MAX_DEFERRAL_SECONDS, alias="maxDeferralSeconds")
    event_bus_name: OptionalEventBusName = Field(default=None, alias="eventBusName")
    event_detail_types: PatternValues = Field(default=(DEFAULT_EVENT_DETAIL_TYPE,), alias="eventDetailTypes")
    event_sources: PatternValues = Field(default=(), alias="eventSources")
    # Who may put events on the bus the stack creates (unset: this account only), who may send to the queue directly
    # (unset: whoever IAM allows; set: nobody else), and the topics whose notifications the queue takes.
    event_bus_producer_principals: Principals = Field(default=(), alias="eventBusProducerPrincipals")
    queue_producer_principals: Principals = Field(default=(), alias="queueProducerPrincipals")
    # Who may send to the dead-letter queues besides the stack's own senders, and to the source queue when
    # queueProducerPrincipals restricts it (a redrive sends with the rights of whoever starts it). Unset: nobody else.
    operator_principals: Principals = Field(default=(), alias="operatorPrincipals")
    sns_topic_arns: SnsTopicArns = Field(default=(), alias="snsTopicArns")
    alarm_email: OptionalEmailAddress = Field(default=None, alias="alarmEmail")
    alarm_topic_arn: OptionalSnsTopicArn = Field(default=None, alias="alarmTopicArn")
    oldest_request_age_alarm_seconds: int = Field(
        default=DEFAULT_OLDEST_REQUEST_AGE_ALARM_SECONDS, alias="oldestRequestAgeAlarmSeconds", ge=60
    )
    # Calling safety, validated with the function's own parsers. Unset countries: the caller ID's country only
    # (ANY_COUNTRY opens them all); the others as the contract's defaults.
    allowed_destination_countries: OptionalRegionCodes = Field(default=None, alias="allowedDestinationCountries")
    blocked_number_types: BlockedNumberTypes = Field(default=STACK_BLOCKED_NUMBER_TYPES, alias="blockedNumberTypes")
    calling_hours: OptionalCallingHours = Field(default=None, alias="callingHours")
    destination_call_limit: OptionalCallLimit = Field(default=None, alias="destinationCallLimit")
    # Result events: on by default, to a bus the stack creates; resultEventBusName names an existing bus instead.
    result_events: bool = Field(default=True, alias="resultEvents")
    result_event_bus_name: OptionalEventBusNameOrArn = Field(default=None, alias="resultEventBusName")

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentSettings:
        if self.source_phone_number is None and self.queue_id is None:
            raise ValueError("set sourcePhoneNumber or connectQueueId (or both): Connect needs one of them to call")
        if self.batch_size > MAX_UNWINDOWED_BATCH_SIZE and self.batching_window_seconds < 1:
            raise ValueError(
                f"batchSize={self.batch_size} is above {MAX_UNWINDOWED_BATCH_SIZE}, which SQS event sources only allow"
                " with batchingWindowSeconds >= 1"
            )
        if self.allowed_destination_countries is None and self.source_phone_number is None:
            raise ValueError(
                'set allowedDestinationCountries (region codes like ["GB"], or "*" for any): by default calls'
                " may only go to the caller ID's country, and there is no sourcePhoneNumber to take it from"
            )
        if not self.result_events and self.result_event_bus_name is not None:
            raise ValueError(
                f"resultEvents is false but resultEventBusName is {self.result_event_bus_name!r}: set one or the other"
            )
        if self._intake_rule_matches_result_events:
            raise ValueError(
                f"resultEventBusName {self.result_event_bus_name!r} is the bus the intake rule listens on, and the rule"
                f" (eventSources {list(self.event_sources)}, eventDetailTypes {list(self.event_detail_types)}) would"
                " match result events: each would come back as a call request. Use another bus, or narrow the rule"
            )
        if self.allowed_destination_countries is None and self.source_phone_number is not None:
            try:
                caller_id_region(self.source_phone_number)
            except (ValueError, NumberParseException):
                raise ValueError(
                    f"sourcePhoneNumber {self.source_phone_number!r} belongs to no country, so calls cannot default to"
                    ' its country: set allowedDestinationCountries (region codes like ["GB"], or "*" for any)'
                ) from None
        if not self.event_detail_types and not self.event_sources:
            raise ValueError("eventDetailTypes and eventSources are both empty: the rule would have no event pattern")
        if self.event_bus_name is not None and not self.event_sources:
            raise ValueError(
                f"eventBusName={self.event_bus_name!r} is an existing bus that others may put events on: set"
                " eventSources to the sources allowed to request calls, or unset eventBusName to let the stack"
                " create a bus of its own"
            )
        if self.event_bus_name is not None and self.event_bus_producer_principals:
            raise ValueError(
                f"eventBusProducerPrincipals applies to the bus the stack creates; eventBusName={self.event_bus_name!r}"
                " is an existing bus whose policy is its owner's: unset one of them"
            )
        pacing = self.pacing
        needed = pacing.function_timeout_seconds(self.batch_size)
        if needed > MAX_FUNCTION_TIMEOUT_SECONDS:
            largest = pacing.max_batch_size
            remedy = (
                f"lower batchSize to at most {largest} or raise callsPerSecond"
                if largest >= 1
                else "raise callsPerSecond or lower maxConcurrency: not even a batch of 1 fits"
            )
            raise ValueError(
                f"a full batch (batchSize={self.batch_size}) at callsPerSecond={self.calls_per_second:g} /"
                f" maxConcurrency={self.max_concurrency} = {pacing.calls_per_second:g} calls/s per"
                f" invocation needs a {needed} s function timeout ({PACING_HEADROOM_FACTOR} x"
                f" {pacing.pacing_seconds(self.batch_size):g} s of pacing, {SLOW_RECORD_HEADROOM_SECONDS} s for one"
                f" slow record and {RECORD_TIME_RESERVE_SECONDS} s reserved for the last), above Lambda's"
                f" {MAX_FUNCTION_TIMEOUT_SECONDS} s; {remedy}"
            )
        return self

    @property
    def _intake_rule_matches_result_events(self) -> bool:
        """Whether result events would land on the intake bus and match its rule (a loop of call requests)."""
        if not self.result_events or self.result_event_bus_name is None:
            return False
        # Unset eventBusName: the intake rule is on a bus the stack creates, which a name given here cannot be.
        if self.event_bus_name is None or self.result_event_bus_name.split(":event-bus/")[-1] != self.event_bus_name:
            return False
        sources_match = not self.event_sources or RESULT_SOURCE in self.event_sources
        types_match = not self.event_detail_types or bool(RESULT_EVENT_DETAIL_TYPES & set(self.event_detail_types))
        return sources_match and types_match

    @property
    def destination_countries(self) -> tuple[str, ...] | None:
        """The regions calls may go to (None: any): as set, else the caller ID's country."""
        if self.allowed_destination_countries == (ANY_COUNTRY,):
            return None
        if self.allowed_destination_countries is not None:
            return self.allowed_destination_countries
        if self.source_phone_number is None:  # _consistent refuses this; said again for the type checker
            raise ValueError("allowedDestinationCountries is unset and there is no sourcePhoneNumber")
        return (caller_id_region(self.source_phone_number),)

    @property
    def destination_countries_defaulted(self) -> bool:
        """Whether the countries are the caller ID's by default, not the operator's choice (said at synth)."""
        return self.allowed_destination_countries is None

    @property
    def pacing(self) -> InvocationPacing:
        """One concurrent invocation's share of callsPerSecond, and the time a batch takes at it."""
        return InvocationPacing.share_of(self.calls_per_second, self.max_concurrency)

    @property
    def function_timeout_seconds(self) -> int:
        """Function timeout: a full batch at the per-invocation rate, with headroom, plus one slow record's reserve."""
        return self.pacing.function_timeout_seconds(self.batch_size)

    @property
    def visibility_timeout_seconds(self) -> int:
        """Source queue visibility timeout: 6 x the function timeout plus the batching window (SQS guidance)."""
        return visibility_timeout_seconds(self.function_timeout_seconds, self.batching_window_seconds)

    @property
    def function_configuration(self) -> FunctionConfiguration:
        """What these settings configure the function with (the caller construct's environment comes from it)."""
        return FunctionConfiguration(
            instance_id=self.instance_id,
            contact_flow_id=self.contact_flow_id,
            allowed_contact_flow_ids=self.allowed_contact_flow_ids,
            source_phone_number=self.source_phone_number,
            queue_id=self.queue_id,
            allowed_source_phone_numbers=self.allowed_source_phone_numbers,
            allowed_queue_ids=self.allowed_queue_ids,
            allow_related_contact=self.allow_related_contact,
            calls_per_second=self.calls_per_second,
            calls_burst=self.calls_burst,
            max_concurrency=self.max_concurrency,
            concurrent_calls_limit=self.concurrent_calls_limit,
            max_receive_count=self.max_receive_count,
            max_deferral_seconds=self.max_deferral_seconds,
            blocked_number_types=self.blocked_number_types,
            destination_countries=self.destination_countries,
            calling_hours=self.calling_hours,
            destination_call_limit=self.destination_call_limit,
        )

    def function_environment(
        self,
        dead_letter_queue_url: str,
        idempotency_table_name: str,
        *,
        source_queue_url: str,
        message_signing_key_secret_id: str,
        destination_calls_table_name: str | None = None,
        result_event_bus_name: str | None = None,
    ) -> dict[str, str]:
        """The function's environment variables with these resources (the local pipeline's function gets these)."""
        return self.function_configuration.environment(
            StackResources(
                dead_letter_queue_url=dead_letter_queue_url,
                source_queue_url=source_queue_url,
                idempotency_table_name=idempotency_table_name,
                message_signing_key_secret_id=message_signing_key_secret_id,
                destination_calls_table_name=destination_calls_table_name,
                result_event_bus_name=result_event_bus_name,
            )
        )


CONTEXT_KEYS: tuple[str, ...] = tuple(
    field.alias for field in DeploymentSettings.model_fields.values() if field.alias is not None
)


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    if error["type"] == "missing":
        return f"context value {location!r} is required: set it in cdk.json or with -c {location}=..."
    if error["type"] == "extra_forbidden":
        return f"context key {location!r} is not a setting of this app"
    message = message[0].lower() + message[1:]
    return f"context value {location!r}: {message}" + ("" if "got " in message else f" (got {error.get('input')!r})")


def _misspelt_keys(context: Mapping[str, Any]) -> list[str]:
    """Context keys that are not settings but look like a typo of one (CDK's own keys contain ':' or '@')."""
    problems = []
    for key in context:
        if key in CONTEXT_KEYS or ":" in key or key.startswith("@"):
            continue
        close = difflib.get_close_matches(key, CONTEXT_KEYS, n=1, cutoff=0.85)
        if close:
            problems.append(f"context key {key!r} is not a setting; did you mean {close[0]!r}?")
    return problems


def settings_from_context(context: Mapping[str, Any]) -> DeploymentSettings:
    """Validate the app's context values; raise InvalidDeploymentSettings naming each bad key."""
    problems = _misspelt_keys(context)
    settings = None
    try:
        settings = DeploymentSettings.model_validate({key: context[key] for key in CONTEXT_KEYS if key in context})
    except ValidationError as error:
        problems.extend(_describe(detail) for detail in error.errors())
    if settings is not None:
        # The function's own check, on the environment the stack would give it: what it would refuse at every cold
        # start fails synth instead, naming the context key.
        environment = settings.function_environment(
            PLACEHOLDER_QUEUE_URL,
            PLACEHOLDER_TABLE_NAME,
            source_queue_url=PLACEHOLDER_QUEUE_URL,
            message_signing_key_secret_id=PLACEHOLDER_SECRET_ARN,
            destination_calls_table_name=PLACEHOLDER_TABLE_NAME,
            # A bus the stack creates is its own ARN; a named one is the context value, checked as the function does.
            result_event_bus_name=settings.result_event_bus_name if settings.result_events else None,
        )
        problems.extend(function_refusals(environment))
    if problems or settings is None:
        raise InvalidDeploymentSettings("Invalid deployment settings:\n  - " + "\n  - ".join(problems))
    return settings


def load_cdk_json_settings(path: Path = CDK_JSON_PATH) -> DeploymentSettings:
    """Read and validate the context values committed in cdk.json."""
    return settings_from_context(json.loads(path.read_text(encoding="utf-8")).get("context", {}))
