"""The call-completion handler: Connect's DISCONNECTED contact events in, `Outbound Call Completed` out; with a waiting
room, each ended call's slot handed on and a tick every minute; with agent pacing, CONNECTED_TO_AGENT events too."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.caller import CONTACTS_ARN_FINDING, LOG_RETENTION, RUNTIME, connect_resource_arns, instance_arn
from infra.function_environment import SlotHandOverResources, completion_environment
from infra.intake import RULE_TARGET_MAX_EVENT_AGE_HOURS, RULE_TARGET_RETRY_ATTEMPTS, dead_letter_queue_of
from infra.queue_senders import deny_other_iam_senders
from infra.results import ResultEventBus
from infra.waiting_room import WaitingRoom
from outbound_caller.names import (
    API_INITIATED,
    CONNECTED_TO_AGENT,
    CONTACT_EVENT_DETAIL_TYPE,
    CONTACT_EVENT_SOURCE,
    CONTACT_ID_INDEX_NAME,
    DISCONNECTED,
    VOICE,
)
from outbound_caller.timeouts import (
    SETTLE_SECONDS,
    WORST_CASE_CALL_SECONDS,
    WORST_CASE_LEDGER_WRITE_SECONDS,
    WORST_CASE_PUT_EVENTS_SECONDS,
)

HANDLER = "outbound_caller.completion.handler.lambda_handler"
# A query, a DescribeContact, an outcome write and a PutEvents per invocation: the smallest memory is plenty.
MEMORY_SIZE_MB = 128
# Every one of them through all its retries and timeouts (timeouts.py: DescribeContact on the caller's Connect
# timeouts, the query and the write on DynamoDB's; the publisher keeps within the remaining time): 83 s. A timeout
# is retried by Lambda and then dead-lettered; only a hung call ever waits it out.
LEDGER_CALLS = 2
TIMEOUT_SECONDS = (
    WORST_CASE_CALL_SECONDS
    + LEDGER_CALLS * WORST_CASE_LEDGER_WRITE_SECONDS
    + WORST_CASE_PUT_EVENTS_SECONDS
    + SETTLE_SECONDS
)
# Lambda's default for asynchronous invocations: a failed one is tried twice more before the dead-letter queue.
ASYNC_RETRY_ATTEMPTS = 2
# The tick that draws the waiting room when no call has ended for a while (completion/hand_over.py): every minute.
TICK_MINUTES = 1
# A tick older than the next one is worth nothing: EventBridge tries it within its minute (its shortest maximum event
# age), then dead-letters it, so that a tick that cannot reach the function shows, instead of failing unseen.
TICK_MAX_EVENT_AGE = Duration.minutes(TICK_MINUTES)
TICK_RETRY_ATTEMPTS = 2


@dataclass(frozen=True)
class SlotHandOverProps:
    """With a waiting room: the room, the source queue it is drawn into, the key that marks a handed-over slot, and
    the instance's concurrent calls as the caller knows them."""

    waiting_room: WaitingRoom
    source_queue: sqs.IQueue
    signing_key: secretsmanager.ISecret
    concurrent_calls_limit: int


@dataclass(frozen=True)
class CallCompletionProps:
    """Whose contacts to follow, the code to run, where placed calls are found and completions published."""

    # The Connect instance whose contacts' ends the rule matches.
    instance_id: str
    # The caller's own asset (outbound_caller.completion is in it), bundled once.
    code: lambda_.Code
    placed_calls: dynamodb.ITable
    result_event_bus: ResultEventBus
    # Who may send to the dead-letter queue besides EventBridge and the function (a redrive sends as its starter).
    operator_principals: tuple[str, ...] = ()
    # Only with the waiting room: what an ended call's slot is handed on through.
    hand_over: SlotHandOverProps | None = None
    # Whether the caller paces calls to agents: the function then ends each call's claim as its contact connects.
    agent_pacing: bool = False


class CallCompletion(Construct):
    """A rule for this instance's API-started voice contacts ending, and the function that reports each one."""

    def __init__(self, scope: Construct, construct_id: str, props: CallCompletionProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # Contact events EventBridge could not deliver (its maximum retry policy, as for call requests) or the function
        # failed on three times, kept as long as failed call requests.
        self.dead_letter_queue = dead_letter_queue_of(
            self,
            "DeadLetterQueue",
            whose="the rule target's DeadLetterConfig and the function's asynchronous-invocation one",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Call completion: find a contact's placed call by ContactId, publish its completion",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Publishes Outbound Call Completed for Amazon Connect contacts the caller placed",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=props.code,
            memory_size=MEMORY_SIZE_MB,
            timeout=Duration.seconds(TIMEOUT_SECONDS),
            environment=completion_environment(
                props.instance_id,
                props.placed_calls.table_name,
                # The ARN, as the caller gets it: PutEvents takes it as EventBusName, and it names an imported bus too.
                props.result_event_bus.bus.event_bus_arn,
                hand_over=_hand_over_resources(props.hand_over),
                agent_pacing=props.agent_pacing,
            ),
            log_group=self.log_group,
            role=self.role,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
        )
        # Only the ContactId index, only Query: the index holds keys (token hashes) and ContactIds, no fingerprint.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="FindPlacedCallsByContactId",
                actions=["dynamodb:Query"],
                resources=[f"{props.placed_calls.table_arn}/index/{CONTACT_ID_INDEX_NAME}"],
            )
        )
        # The call's outcome, recorded once in its ledger item for the caller to redial by: a conditional UpdateItem,
        # whose failed condition returns the item already kept (a repeated or late event); and GetItem, the queue a
        # placed call was routed to, whose agent claim its end releases (agent pacing). The instance's state item (a
        # slot handed on or freed) and the queues' agent items (a claim ended) change by conditional UpdateItem too,
        # after a consistent GetItem. No PutItem, DeleteItem or scan.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RecordOutcomesInTheLedger",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[props.placed_calls.table_arn],
            )
        )
        # What Connect knows of the ended contact (answering-machine status, disconnect reason), which its event lacks:
        # DescribeContact on the instance's contacts, the one resource type it is authorized on.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeTheInstancesContacts",
                actions=["connect:DescribeContact"],
                resources=connect_resource_arns(stack, props.instance_id),
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{CONTACTS_ARN_FINDING.format(instance=props.instance_id)}]",
                reason="DescribeContact is authorized on a contact, and the contacts to describe are those of calls"
                " placed later, whose IDs the stack cannot know: the configured instance's contacts are the narrowest"
                " resource IAM can name",
            )
        )
        # PutEvents on the result bus alone, with the contract's source alone.
        props.result_event_bus.grant_publish(self.role, sid="PublishCompletedEvents")

        # On the default bus, where Connect publishes; only this instance's voice contacts started through the API.
        self.rule = events.Rule(
            self,
            "DisconnectedRule",
            description="Amazon Connect contacts of the configured instance, started by the API, that ended",
            event_pattern=events.EventPattern(
                source=[CONTACT_EVENT_SOURCE],
                detail_type=[CONTACT_EVENT_DETAIL_TYPE],
                detail={
                    # With agent pacing, also a contact connecting to an agent: the agent its call counted on is taken.
                    "eventType": [DISCONNECTED, CONNECTED_TO_AGENT] if props.agent_pacing else [DISCONNECTED],
                    "instanceArn": [instance_arn(stack, props.instance_id)],
                    "initiationMethod": [API_INITIATED],
                    # The documentation writes both "VOICE" and "Voice".
                    "channel": [{"equals-ignore-case": VOICE}],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    max_event_age=Duration.hours(RULE_TARGET_MAX_EVENT_AGE_HOURS),
                    retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
                )
            ],
        )
        rules = [self.rule.rule_arn]
        if props.hand_over is not None:
            rules.append(self._hand_over(props.hand_over))
        # Only EventBridge for these rules, the function's role (Lambda dead-letters a failed asynchronous event with
        # it) and the operators may send to the dead-letter queue: its messages are contact events someone may send
        # back.
        deny_other_iam_senders(
            self.dead_letter_queue,
            sid="OnlyTheCompletionAndOperatorsMayDeadLetter",
            principals=props.operator_principals,
            roles=[self.role],
            on_behalf_of=rules,
        )

    def _hand_over(self, hand_over: SlotHandOverProps) -> str:
        """Grant what handing a slot on takes, and tick every minute; return the tick rule's ARN."""
        # Receive a waiting request and delete it once it is in the source queue; the source queue's SendMessage;
        # the key that marks a handed-over slot (the AWS-managed key of Secrets Manager: no KMS grant). The instance's
        # state item is in the ledger's table, granted above.
        hand_over.waiting_room.grant_draw(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DrawIntoTheSourceQueue", actions=["sqs:SendMessage"], resources=[hand_over.source_queue.queue_arn]
            )
        )
        hand_over.signing_key.grant_read(self.role)
        # On the default bus: a schedule is no event anybody puts, and costs one invocation a minute.
        tick = events.Rule(
            self,
            "TickRule",
            description="Every minute: draw the waiting room as far as the Connect instance can take calls",
            schedule=events.Schedule.rate(Duration.minutes(TICK_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    max_event_age=TICK_MAX_EVENT_AGE,
                    retry_attempts=TICK_RETRY_ATTEMPTS,
                )
            ],
        )
        return tick.rule_arn


def _hand_over_resources(hand_over: SlotHandOverProps | None) -> SlotHandOverResources | None:
    if hand_over is None:
        return None
    return SlotHandOverResources(
        waiting_room_queue_url=hand_over.waiting_room.queue.queue_url,
        source_queue_url=hand_over.source_queue.queue_url,
        # The ARN: that exact secret, never a name another secret could answer to.
        message_signing_key_secret_id=hand_over.signing_key.secret_arn,
        concurrent_calls_limit=hand_over.concurrent_calls_limit,
    )
