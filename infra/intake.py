"""Where call requests arrive: the source queue, its dead-letter queue and the EventBridge rule feeding it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import DLQ_RETENTION_DAYS, SOURCE_RETENTION_DAYS

# EventBridge's maximum retry policy: an undeliverable event is retried for up to 24 hours / 185 attempts before
# going to the rule's dead-letter queue. Staleness of a request is the producer's call (the request's ExpiresAt).
RULE_TARGET_MAX_EVENT_AGE_HOURS = 24
RULE_TARGET_RETRY_ATTEMPTS = 185


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention_period: Duration,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """A standard queue with SQS-managed encryption stated explicitly and TLS enforced by its queue policy."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
    )


class CallRequestIntake(Construct):
    """The source queue with redrive to the dead-letter queue, and the EventBridge rule that targets it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        visibility_timeout: Duration,
        max_receive_count: int,
        event_bus_name: str | None,
        event_detail_types: Sequence[str],
        event_sources: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = secure_queue(
            self, "DeadLetterQueue", retention_period=Duration.days(DLQ_RETENTION_DAYS)
        )
        self.queue = secure_queue(
            self,
            "Queue",
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(SOURCE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )

        self.event_bus_name = event_bus_name or "default"
        # A named bus must already exist: this app routes from it, it does not own it.
        event_bus = events.EventBus.from_event_bus_name(self, "EventBus", event_bus_name) if event_bus_name else None
        # Events the rule could not deliver to the source queue after its retry policy.
        self.rule_dead_letter_queue = secure_queue(
            self, "RuleDeadLetterQueue", retention_period=Duration.days(DLQ_RETENTION_DAYS)
        )
        Validations.of(self.rule_dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself a dead-letter queue: the EventBridge rule target's DeadLetterConfig, which"
                " cdk-nag does not recognise (it only looks at SQS redrive policies)",
            )
        )
        self.rule = events.Rule(
            self,
            "CallRequestedRule",
            description="Routes outbound call requests to the outbound caller's queue",
            event_bus=event_bus,
            event_pattern=events.EventPattern(
                detail_type=list(event_detail_types) or None,
                source=list(event_sources) or None,
            ),
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
