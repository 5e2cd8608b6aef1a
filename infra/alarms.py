"""Alarms an operator needs: each new dead-letter (and the worrying kinds), retries, placed-calls table errors, a
suppression list out of reach, a stalled queue, function errors and throttles (the opt-out function's errors too), a
function timeout too short for one record.

Every alarm watches what happened in its period, not a level that stays up: it returns to OK once nothing new
happens, so the next occurrence notifies again. CloudWatch notifies on state changes only, so a burst within
one alarm period is one notification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.function_metrics import FunctionMetrics
from outbound_caller.decisions import (
    IDEMPOTENCY_STORE_ERROR,
    OUTCOME_UNKNOWN,
    RETRIES_EXHAUSTED,
    SUPPRESSION_LIST_UNAVAILABLE,
)
from outbound_caller.names import AGENT_METRICS_UNAVAILABLE, CALLS_DEAD_LETTERED, CALLS_RETRIED, RESULT_EVENTS_FAILED

# SQS publishes queue metrics every 5 minutes; a shorter period only adds empty datapoints.
QUEUE_METRIC_PERIOD = Duration.minutes(5)
# Lambda metrics are per minute: one bad minute of errors or throttles is worth a look.
FUNCTION_METRIC_PERIOD = Duration.minutes(1)
# The function's counted outcomes: a burst of dead-letters or retries within 5 minutes is one notification.
OUTCOME_METRIC_PERIOD = Duration.minutes(5)
# A dead-letter queue's arrivals are a difference of two periods' message counts (DIFF), so its alarm looks at
# two periods and fires on either: an arrival keeps it in ALARM for at most 10 minutes, then it is OK again.
ARRIVAL_EVALUATION_PERIODS = 2
ARRIVAL_DATAPOINTS_TO_ALARM = 1


@dataclass(frozen=True)
class OperationalAlarmsProps:
    """What the alarms watch, how old a waiting request may get, and whom they notify."""

    queue: sqs.IQueue
    # Each dead-letter queue by the name its alarm takes.
    dead_letter_queues: Mapping[str, sqs.IQueue]
    function: lambda_.IFunction
    # A waiting request older than this alarms: calls are not keeping up.
    oldest_request_age_seconds: int
    # An email subscribed to a topic the alarms create, and an existing topic to notify; neither: no notification.
    alarm_email: str | None = None
    alarm_topic_arn: str | None = None
    # Whether the functions publish result events, so that failing to is worth an alarm.
    result_events: bool = False
    # Only with the suppression list: the function that changes it (the caller then checks it before every call).
    opt_out_function: lambda_.IFunction | None = None
    # Only with the waiting room: its queue, whose oldest request is watched like the source queue's.
    waiting_room: sqs.IQueue | None = None
    # Whether the caller reads the queues' available agents, so that failing to is worth an alarm.
    agent_pacing: bool = False
    function_metrics: FunctionMetrics = field(default_factory=FunctionMetrics)


class OperationalAlarms(Construct):
    """CloudWatch alarms on the queues and the function, optionally notifying an SNS topic."""

    def __init__(self, scope: Construct, construct_id: str, props: OperationalAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        function_metrics, function = props.function_metrics, props.function

        self.alarms: list[cloudwatch.Alarm] = []
        for name, dead_letter_queue in props.dead_letter_queues.items():
            self._alarm(
                f"{name}NewMessages",
                f"{name}: messages arrived in the last 10 minutes; their attributes say why (docs/deploy.md,"
                " Alarms). Fix the cause, then redrive",
                _arrivals(dead_letter_queue),
                threshold=0,
                evaluation_periods=ARRIVAL_EVALUATION_PERIODS,
                datapoints_to_alarm=ARRIVAL_DATAPOINTS_TO_ALARM,
            )
        self._alarm(
            "OutcomeUnknownDeadLetters",
            "Requests were dead-lettered OutcomeUnknown: Connect may have placed their calls. Check whether each"
            " customer was called before redriving any",
            function_metrics.by_error_code(CALLS_DEAD_LETTERED, OUTCOME_UNKNOWN, period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        self._alarm(
            "RetriesExhaustedDeadLetters",
            "Requests were dead-lettered RetriesExhausted: a transient failure lasted all their receives. The"
            " ErrorMessage names the last error; fix it, then redrive",
            function_metrics.by_error_code(CALLS_DEAD_LETTERED, RETRIES_EXHAUSTED, period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        self._alarm(
            "CallsRetried",
            "Records failed transiently and were left for SQS to deliver again (the log's error_code says why);"
            " those still failing on their last receive are dead-lettered RetriesExhausted",
            function_metrics.sum_over_error_codes(CALLS_RETRIED, period=OUTCOME_METRIC_PERIOD, label="Calls retried"),
            threshold=0,
        )
        self._alarm(
            "IdempotencyStoreErrors",
            "The placed-calls table could not be read or written: no call is made while it cannot be, the records"
            " are retried. Check DynamoDB (throttling, the table, the function's permissions)",
            function_metrics.by_error_code(CALLS_RETRIED, IDEMPOTENCY_STORE_ERROR, period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        self._alarm(
            "PlacedCallRecordsPending",
            "Calls were placed but the placed-calls table could not record them yet; they are never dialled again"
            " meanwhile, and the function keeps trying. Check DynamoDB",
            function_metrics.records_pending(period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        if props.opt_out_function is not None:
            self._suppression_alarms(props.opt_out_function, function_metrics)
        if props.result_events:
            self._alarm(
                "ResultEventsFailed",
                "Result events could not be published (both functions retry within their time): producers missed"
                " outcomes. The log names each lost event, tokens masked. Check the result bus, its policy and the"
                " functions' events:PutEvents permission",
                function_metrics.metric(RESULT_EVENTS_FAILED, period=OUTCOME_METRIC_PERIOD),
                threshold=0,
            )
        oldest_seconds = props.oldest_request_age_seconds
        self._alarm(
            "OldestRequestTooOld",
            f"The oldest call request has waited more than {oldest_seconds} s: calls are not keeping up",
            props.queue.metric_approximate_age_of_oldest_message(period=QUEUE_METRIC_PERIOD, statistic="Maximum"),
            threshold=oldest_seconds,
        )
        if props.waiting_room is not None:
            self._alarm(
                "WaitingRoomOldestRequestTooOld",
                f"A request has waited in the waiting room more than {oldest_seconds} s for a slot of the full Connect"
                " instance: its calls do not end (or their contact events do not reach the completion function), or"
                " other traffic fills it. The completion function's minute tick draws the room when the instance"
                " opens; check its errors and the instance's concurrent calls",
                props.waiting_room.metric_approximate_age_of_oldest_message(
                    period=QUEUE_METRIC_PERIOD, statistic="Maximum"
                ),
                threshold=oldest_seconds,
            )
        if props.agent_pacing:
            self._alarm(
                "AgentMetricsUnavailable",
                "The queues' available agents could not be read (GetCurrentMetricData throttled or refused): calls"
                " routed to them wait (NoAgentAvailable) once the last reading is stale. Check the caller's"
                " connect:GetCurrentMetricData permission and the API's quota",
                function_metrics.metric(AGENT_METRICS_UNAVAILABLE, period=OUTCOME_METRIC_PERIOD),
                threshold=0,
            )
        self._alarm(
            "FunctionErrors",
            "The outbound caller failed whole invocations (record-level failures are not errors)",
            function.metric_errors(period=FUNCTION_METRIC_PERIOD, statistic="Sum"),
            threshold=0,
        )
        self._alarm(
            "FunctionTimeoutTooShort",
            "The outbound caller's timeout cannot hold one record's time reserve: every record is handed back, none is"
            " called. It was edited by hand or by another tool: set it back to the stack's value (make deploy)",
            function_metrics.timeout_too_short(period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        self._alarm(
            "FunctionThrottles",
            "The outbound caller was throttled: account concurrency is short of the event source's maximum",
            function.metric_throttles(period=FUNCTION_METRIC_PERIOD, statistic="Sum"),
            threshold=0,
        )

        self.topic: sns.ITopic | None = None
        topics: list[sns.ITopic] = []
        if props.alarm_email is not None:
            self.topic = self._email_topic(props.alarm_email)
            topics.append(self.topic)
        if props.alarm_topic_arn is not None:
            topics.append(sns.Topic.from_topic_arn(self, "ExistingTopic", props.alarm_topic_arn))
        for topic in topics:
            action = cloudwatch_actions.SnsAction(topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)

    def _suppression_alarms(self, opt_out_function: lambda_.IFunction, function_metrics: FunctionMetrics) -> None:
        """The list out of the caller's reach (no call meanwhile), and opt-outs the function failed to apply."""
        self._alarm(
            "SuppressionListUnavailable",
            "The suppression list (its table or its HMAC key) could not be read: no call is made while it cannot be,"
            " the records are retried. Check the table, the key's secret and its policy, the function's permissions",
            function_metrics.by_error_code(CALLS_RETRIED, SUPPRESSION_LIST_UNAVAILABLE, period=OUTCOME_METRIC_PERIOD),
            threshold=0,
        )
        self._alarm(
            "OptOutFunctionErrors",
            "The opt-out function failed: a number may not have been added to the suppression list (a contact flow"
            " took its Error branch, an event was retried). Read its log; failed events reach its dead-letter queue",
            opt_out_function.metric_errors(period=FUNCTION_METRIC_PERIOD, statistic="Sum"),
            threshold=0,
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
    ) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                # No datapoints means no traffic, not trouble.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _email_topic(self, email: str) -> sns.Topic:
        """An encrypted topic with the email subscribed; CloudWatch may use its key, nobody else."""
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the outbound caller's alarm notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key, hence a key of our own, which
        # only this account's alarms may use (the confused-deputy conditions AWS recommends for service principals).
        stack = Stack.of(self)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )
        topic = sns.Topic(self, "Topic", display_name="Outbound caller alarms", master_key=key, enforce_ssl=True)
        topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic


def _arrivals(dead_letter_queue: sqs.IQueue) -> cloudwatch.MathExpression:
    """Messages that arrived in a dead-letter queue in the period, however they got there.

    NumberOfMessagesSent counts what was sent with SendMessage (the function's dead-letters, EventBridge's
    undeliverable events) but not what SQS itself moves there by the redrive policy after maxReceiveCount
    (SQS Developer Guide, dead-letter queues: "NumberOfMessagesSent"). Those show only as a rise in the visible
    count, hence the larger of the two. Missing visible datapoints (an idle, empty queue publishes none) count
    as 0, so a first message into an idle queue is a rise too. The price: when SQS resumes publishing for a
    non-empty queue it had stopped publishing for (idle for hours, then read), that looks like a rise once; a
    missed dead-letter would be worse. A redrive in the same period can hide a move, never a send.
    """
    return cloudwatch.MathExpression(
        expression="MAX([FILL(sent, 0), DIFF(FILL(visible, 0))])",
        using_metrics={
            "sent": dead_letter_queue.metric_number_of_messages_sent(period=QUEUE_METRIC_PERIOD, statistic="Sum"),
            "visible": dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=QUEUE_METRIC_PERIOD, statistic="Maximum"
            ),
        },
        period=QUEUE_METRIC_PERIOD,
        label="Messages arrived",
    )
