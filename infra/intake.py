"""Where call requests arrive: the source queue, its dead-letter queue, the bus and rule feeding it, SNS topics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.event_bus import CallRequestBus, CallRequestBusProps
from infra.producers import call_request_event_pattern, split_principals
from infra.queue_senders import SEND_MESSAGE, deny_other_iam_senders, not_named
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES
from outbound_caller.retention import DEAD_LETTER_QUEUE_RETENTION_DAYS, SOURCE_QUEUE_RETENTION_DAYS

# EventBridge's maximum retry policy: an undeliverable event is retried for up to 24 hours / 185 attempts before
# going to the rule's dead-letter queue. Staleness of a request is the producer's call (the request's ExpiresAt).
RULE_TARGET_MAX_EVENT_AGE_HOURS = 24
RULE_TARGET_RETRY_ATTEMPTS = 185
# A dead-letter queue takes SQS's largest message: what the function sends there is a body the source queue accepted
# (at most SOURCE_QUEUE_MAX_MESSAGE_BYTES) with the function's attributes, which message_size.py sizes to fit.
DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES = SQS_MAX_MESSAGE_BYTES


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention_period: Duration,
    max_message_size_bytes: int,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
    redrive_allow_policy: sqs.RedriveAllowPolicy | None = None,
    fifo: bool = False,
) -> sqs.Queue:
    """A queue (standard unless ``fifo``) with SQS-managed encryption stated explicitly and TLS enforced by its queue
    policy."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        max_message_size_bytes=max_message_size_bytes,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        redrive_allow_policy=redrive_allow_policy,
        fifo=fifo or None,
        # FIFO: high throughput, each message group on its own (its deduplication too), so that the groups a FIFO
        # queue's senders spread over are not held to one queue-wide quota.
        deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP if fifo else None,
        fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID if fifo else None,
    )


def dead_letter_queue_of(scope: Construct, construct_id: str, *, whose: str) -> sqs.Queue:
    """A secure queue kept as long as failed call requests, serving as ``whose`` dead-letter queue.

    cdk-nag's SQS3 (a queue without a dead-letter queue) is acknowledged: it only recognises SQS redrive policies,
    not a rule target's DeadLetterConfig nor a function's asynchronous-invocation one.
    """
    queue = secure_queue(
        scope,
        construct_id,
        retention_period=Duration.days(DEAD_LETTER_QUEUE_RETENTION_DAYS),
        max_message_size_bytes=DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
        # No SQS queue's redrive target: SQS's default lets any queue of the account name it as its dead-letter queue,
        # and SQS's own moves there carry no principal the queue policy could deny.
        redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.DENY_ALL),
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=f"This queue is itself a dead-letter queue: {whose}, which cdk-nag does not recognise (it only"
            " looks at SQS redrive policies)",
        )
    )
    return queue


@dataclass(frozen=True)
class CallRequestIntakeProps:
    """How call requests arrive: the queue's timing, the rule's pattern, the bus, topics, who else may send."""

    # As long as the function may hold a batch (infra/batch_timing.py).
    visibility_timeout: Duration
    # Receives before SQS moves a request to the dead-letter queue; the function dead-letters the last with a reason.
    max_receive_count: int
    # The intake rule's event pattern; an empty list matches any.
    event_detail_types: tuple[str, ...]
    event_sources: tuple[str, ...] = ()
    event_bus: CallRequestBusProps = field(default_factory=CallRequestBusProps)
    # Topics whose notifications the queue takes.
    sns_topic_arns: tuple[str, ...] = ()
    # Who may send to the source queue directly; unset: whoever IAM allows, set: nobody else (admit_only).
    queue_producer_principals: tuple[str, ...] = ()
    # Who may send to the dead-letter queues (and the source queue, when restricted) besides the stack's own senders.
    operator_principals: tuple[str, ...] = ()


class CallRequestIntake(Construct):
    """The source queue with redrive to the dead-letter queue, the bus and rule that target it, and SNS topics."""

    def __init__(self, scope: Construct, construct_id: str, props: CallRequestIntakeProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props

        self.dead_letter_queue = secure_queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(DEAD_LETTER_QUEUE_RETENTION_DAYS),
            max_message_size_bytes=DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
        )
        # Smaller than SQS's maximum by the most the function's attributes take: a body accepted here always fits
        # when the function defers it back here or dead-letters it, attributes and all (message_size.py).
        self.queue = secure_queue(
            self,
            "Queue",
            visibility_timeout=props.visibility_timeout,
            retention_period=Duration.days(SOURCE_QUEUE_RETENTION_DAYS),
            max_message_size_bytes=SOURCE_QUEUE_MAX_MESSAGE_BYTES,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=props.max_receive_count
            ),
        )

        self.event_bus = CallRequestBus(self, "EventBus", props.event_bus).bus
        # Events the rule could not deliver to the source queue after its retry policy.
        self.rule_dead_letter_queue = dead_letter_queue_of(
            self, "RuleDeadLetterQueue", whose="the EventBridge rule target's DeadLetterConfig"
        )
        self.rule = events.Rule(
            self,
            "CallRequestedRule",
            description="Routes outbound call requests to the outbound caller's queue",
            event_bus=self.event_bus,
            event_pattern=events.EventPattern(
                detail_type=list(props.event_detail_types) or None,
                source=list(props.event_sources) or None,
            ),
        )
        # EventPattern has no field for `replay-name`: the whole pattern is written from the one definition the local
        # pipeline uses too.
        rule_resource = cast(events.CfnRule, self.rule.node.default_child)
        rule_resource.add_property_override(
            "EventPattern", call_request_event_pattern(props.event_detail_types, props.event_sources)
        )
        # The target also writes the queue policy: events.amazonaws.com may send only with aws:SourceArn equal to
        # this rule's ARN (CDK adds that condition because the queue has no KMS key), and the same for the
        # rule's dead-letter queue.
        self.rule.add_target(
            targets.SqsQueue(
                self.queue,
                dead_letter_queue=self.rule_dead_letter_queue,
                max_event_age=Duration.hours(RULE_TARGET_MAX_EVENT_AGE_HOURS),
                retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
            )
        )

        # SNS to SQS without raw delivery: the function reads the notification's Message (CONTRACT.md). The
        # subscription also writes the queue policy: sns.amazonaws.com may send only with aws:SourceArn equal to the
        # topic. The queue's SQS-managed encryption needs no key policy for SNS, also from a KMS-encrypted topic.
        for index, topic_arn in enumerate(props.sns_topic_arns):
            topic = sns.Topic.from_topic_arn(self, f"Topic{index}", topic_arn)
            topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=False))

    def admit_only(self, own_senders: Sequence[iam.IRole]) -> None:
        """Let the named producers send to the queue and deny every other principal but the rule, the topics, the
        stack's own senders (the function sends deferrals back to the queue) and the operators (a redrive sends with
        the rights of whoever starts it). No producers named: the queue's policy leaves senders to IAM."""
        producer_principals = self._props.queue_producer_principals
        if not producer_principals:
            return
        accounts, arns = split_principals(producer_principals)
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NamedProducersMaySendCallRequests",
                actions=[SEND_MESSAGE],
                resources=[self.queue.queue_arn],
                principals=[
                    *(iam.AccountPrincipal(account) for account in accounts),
                    *(iam.ArnPrincipal(arn) for arn in arns),
                ],
            )
        )
        # No "Null" condition here, unlike the dead-letter queues': nothing may reach this queue without a principal
        # but the services named by aws:SourceArn, so a request without aws:PrincipalArn stays denied.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NobodyElseMaySendCallRequests",
                effect=iam.Effect.DENY,
                actions=[SEND_MESSAGE],
                resources=[self.queue.queue_arn],
                principals=[iam.AnyPrincipal()],
                conditions=not_named(
                    [*producer_principals, *self._props.operator_principals],
                    roles=own_senders,
                    on_behalf_of=[self.rule.rule_arn, *self._props.sns_topic_arns],
                ),
            )
        )

    def admit_dead_letters_only_from(self, dead_letterers: Sequence[iam.IRole]) -> None:
        """Deny sending to both dead-letter queues to every IAM principal but the roles that dead-letter requests and
        the operators; EventBridge still delivers on behalf of the rule. A request planted there would be redriven
        into the source queue with the operator's trust."""
        deny_other_iam_senders(
            self.dead_letter_queue,
            sid="OnlyTheCallerAndOperatorsMayDeadLetter",
            principals=self._props.operator_principals,
            roles=dead_letterers,
        )
        deny_other_iam_senders(
            self.rule_dead_letter_queue,
            sid="OnlyTheRuleAndOperatorsMayDeadLetter",
            principals=self._props.operator_principals,
            on_behalf_of=[self.rule.rule_arn],
        )
