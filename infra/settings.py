"""The deployment's settings: the CDK context values (cdk.json, `-c key=value`) each typed, checked together, with
the defaults a deployment gets and what the stack reads from them.

Each kind of value is read by infra/context_values.py, the timeouts come from infra/batch_timing.py, the function's
environment from infra/function_environment.py; infra/context_loading.py builds the settings from a context.
Pure pydantic (no aws_cdk import), so the local pipeline, the bench and preflight share them.
"""

from __future__ import annotations

from dataclasses import fields

from phonenumbers import NumberParseException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from infra.batch_timing import (
    MAX_BATCH_SIZE,
    MAX_BATCHING_WINDOW_SECONDS,
    MAX_UNWINDOWED_BATCH_SIZE,
    InvocationPacing,
    oversized_batch_refusal,
    visibility_timeout_seconds,
)
from infra.completion_needs import completion_needs_refusal
from infra.context_values import (
    ANY_COUNTRY,
    STACK_BLOCKED_NUMBER_TYPES,
    AgentMetricsTtlSeconds,
    AgentPacingRatio,
    BlackoutDates,
    BlockedNumberTypes,
    ConnectId,
    ConnectIds,
    OptionalCallingHours,
    OptionalCallLimits,
    OptionalConnectId,
    OptionalE164Number,
    OptionalEmailAddress,
    OptionalEventBusName,
    OptionalEventBusNameOrArn,
    OptionalHolidays,
    OptionalRegionCodes,
    OptionalSnsTopicArn,
    OptionalSwitch,
    PatternValues,
    PhoneNumbers,
    Principals,
    RedialAttempts,
    RedialIntervalSeconds,
    RedialOutcomes,
    RedialOutcomeWait,
    SnsTopicArns,
)
from infra.function_environment import FunctionConfiguration, StackResources, routed_queue_ids
from infra.producers import intake_settings_refusal
from outbound_caller.config.destinations import caller_id_region
from outbound_caller.config.pacing_fields import (
    DEFAULT_AGENT_METRICS_TTL_SECONDS,
    DEFAULT_AGENT_PACING_RATIO,
    DEFAULT_CALLS_BURST,
    DEFAULT_CALLS_PER_SECOND,
    DEFAULT_CONCURRENT_CALLS_LIMIT,
    MAX_MAX_CONCURRENCY,
    MIN_MAX_CONCURRENCY,
)
from outbound_caller.config.redial import DEFAULT_REDIAL_ATTEMPTS as DEFAULT_ATTEMPTS
from outbound_caller.config.redial import DEFAULT_REDIAL_INTERVAL_SECONDS as DEFAULT_INTERVAL
from outbound_caller.config.redial import DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS as DEFAULT_OUTCOME_WAIT
from outbound_caller.config.settings import DEFAULT_MAX_DEFERRAL_SECONDS, MAX_MAX_RECEIVE_COUNT

DEFAULT_MAX_CONCURRENCY = MIN_MAX_CONCURRENCY
# Lambda SQS event source default batch size.
DEFAULT_BATCH_SIZE = 10
DEFAULT_MAX_RECEIVE_COUNT = 5
DEFAULT_EVENT_DETAIL_TYPE = "Outbound Call Requested"
# A call request waiting longer than this is stale for an outbound call: alarm on it.
DEFAULT_OLDEST_REQUEST_AGE_ALARM_SECONDS = 900

# The obviously-fake instance ID committed in cdk.json so `make synth` works before any configuration.
PLACEHOLDER_INSTANCE_ID = "00000000-0000-0000-0000-000000000000"


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
    calling_holidays: OptionalHolidays = Field(default=None, alias="callingHolidays")
    calling_blackout_dates: BlackoutDates = Field(default=(), alias="callingBlackoutDates")
    destination_call_limit: OptionalCallLimits = Field(default=None, alias="destinationCallLimit")
    source_call_limit: OptionalCallLimits = Field(default=None, alias="sourceCallLimit")
    # The suppression (do-not-call) list and the opt-out function: on by default, as a deployment that cannot honour
    # "do not call me again" is the unsafe default (like the countries and number types above). The function is
    # associated with the Connect instance unless the instance's integrations are managed elsewhere.
    suppression_list: bool = Field(default=True, alias="suppressionList")
    associate_opt_out_function: bool = Field(default=True, alias="associateOptOutFunction")
    # The redial policy (a request may only narrow it), with the function's own bounds; off by default (one attempt).
    redial_on: RedialOutcomes = Field(default=(), alias="redialOn")
    redial_max_attempts: RedialAttempts = Field(default=DEFAULT_ATTEMPTS, alias="redialMaxAttempts")
    redial_interval_seconds: RedialIntervalSeconds = Field(default=DEFAULT_INTERVAL, alias="redialIntervalSeconds")
    redial_outcome_wait_seconds: RedialOutcomeWait = Field(
        default=DEFAULT_OUTCOME_WAIT, alias="redialOutcomeWaitSeconds"
    )
    # Result events: on by default, to a bus the stack creates; resultEventBusName names an existing bus instead.
    result_events: bool = Field(default=True, alias="resultEvents")
    result_event_bus_name: OptionalEventBusNameOrArn = Field(default=None, alias="resultEventBusName")
    # The waiting room (infra/waiting_room.py): requests wait there while the instance is full, and each of the
    # deployment's ended calls hands its slot to one. Unset: on exactly when result events are (the completion
    # function, which learns when calls end, runs only then).
    waiting_room: OptionalSwitch = Field(default=None, alias="waitingRoom")
    # Agent pacing: a call routed to a queue is placed only while the queue has an available agent for it; the
    # completion function ends each call's claim on one, so it needs result events, and a queue to pace.
    agent_pacing: bool = Field(default=False, alias="agentPacing")
    agent_pacing_ratio: AgentPacingRatio = Field(default=DEFAULT_AGENT_PACING_RATIO, alias="agentPacingRatio")
    agent_metrics_ttl_seconds: AgentMetricsTtlSeconds = Field(
        default=DEFAULT_AGENT_METRICS_TTL_SECONDS, alias="agentMetricsTtlSeconds"
    )

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
        refusal = completion_needs_refusal(
            result_events=self.result_events,
            result_event_bus_name=self.result_event_bus_name,
            redials=self.redials,
            waiting_room=self.waiting_room,
            agent_pacing=self.agent_pacing,
            agent_queue_ids=self.agent_queue_ids,
        )
        if refusal is not None:
            raise ValueError(refusal)
        refusal = intake_settings_refusal(
            self.event_detail_types,
            self.event_sources,
            event_bus_name=self.event_bus_name,
            event_bus_producer_principals=self.event_bus_producer_principals,
            result_bus_name=self.result_event_bus_name if self.result_events else None,
            opt_out_rule=self.suppression_list,
        )
        if refusal is not None:
            raise ValueError(refusal)
        if self.allowed_destination_countries is None and self.source_phone_number is not None:
            try:
                caller_id_region(self.source_phone_number)
            except (ValueError, NumberParseException):
                raise ValueError(
                    f"sourcePhoneNumber {self.source_phone_number!r} belongs to no country, so calls cannot default to"
                    ' its country: set allowedDestinationCountries (region codes like ["GB"], or "*" for any)'
                ) from None
        refusal = oversized_batch_refusal(self.batch_size, self.calls_per_second, self.max_concurrency)
        if refusal is not None:
            raise ValueError(refusal)
        return self

    @property
    def redials(self) -> bool:
        """Whether a call may be followed by another attempt: more than one attempt, and outcomes that earn one."""
        return self.redial_max_attempts > 1 and bool(self.redial_on)

    @property
    def has_waiting_room(self) -> bool:
        """Whether the stack deploys the waiting room and the completion's tick: as set, else with result events."""
        return self.result_events if self.waiting_room is None else self.waiting_room

    @property
    def agent_queue_ids(self) -> tuple[str, ...]:
        """The queues a call may be routed to (the default and the allowed ones): those agent pacing reads."""
        return routed_queue_ids(self.queue_id, self.allowed_queue_ids)

    @property
    def counts_calls(self) -> bool:
        """Whether a call limit is set (per number, per caller ID, or both): both count in one table."""
        return self.destination_call_limit is not None or self.source_call_limit is not None

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
        # The configuration's fields are named as the settings' own fields and properties (destination_countries).
        return FunctionConfiguration(
            **{field.name: getattr(self, field.name) for field in fields(FunctionConfiguration)}
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
        suppression_table_name: str | None = None,
        suppression_key_secret_id: str | None = None,
        waiting_room_queue_url: str | None = None,
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
                suppression_table_name=suppression_table_name,
                suppression_key_secret_id=suppression_key_secret_id,
                waiting_room_queue_url=waiting_room_queue_url,
            )
        )
