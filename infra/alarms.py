"""Alarms an operator needs: dead-lettered requests, a stalled queue, function errors and throttles."""

from __future__ import annotations

from collections.abc import Mapping

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

# SQS publishes queue metrics every 5 minutes; a shorter period only adds empty datapoints.
QUEUE_METRIC_PERIOD = Duration.minutes(5)
# Lambda metrics are per minute: one bad minute of errors or throttles is worth a look.
FUNCTION_METRIC_PERIOD = Duration.minutes(1)


class OperationalAlarms(Construct):
    """CloudWatch alarms on the queues and the function, optionally notifying an SNS topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        function: lambda_.IFunction,
        oldest_request_age_seconds: int,
        alarm_email: str | None,
        alarm_topic_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.alarms: list[cloudwatch.Alarm] = []
        for name, dead_letter_queue in dead_letter_queues.items():
            self._alarm(
                f"{name}NotEmpty",
                f"{name}: at least one call request was dead-lettered; find the ErrorCode attribute, fix, redrive",
                dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=QUEUE_METRIC_PERIOD, statistic="Maximum"
                ),
                threshold=0,
            )
        self._alarm(
            "OldestRequestTooOld",
            f"The oldest call request has waited more than {oldest_request_age_seconds} s: calls are not keeping up",
            queue.metric_approximate_age_of_oldest_message(period=QUEUE_METRIC_PERIOD, statistic="Maximum"),
            threshold=oldest_request_age_seconds,
        )
        self._alarm(
            "FunctionErrors",
            "The outbound caller failed whole invocations (record-level failures are not errors)",
            function.metric_errors(period=FUNCTION_METRIC_PERIOD, statistic="Sum"),
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
        if alarm_email is not None:
            self.topic = self._email_topic(alarm_email)
            topics.append(self.topic)
        if alarm_topic_arn is not None:
            topics.append(sns.Topic.from_topic_arn(self, "ExistingTopic", alarm_topic_arn))
        for topic in topics:
            action = cloudwatch_actions.SnsAction(topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)

    def _alarm(self, construct_id: str, description: str, metric: cloudwatch.IMetric, *, threshold: float) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
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
