"""The opt-out function: numbers join or leave the suppression list, asked three ways, each change announced.

- An EventBridge event on the intake bus (`Outbound Call Opt Out` / `Opt In`), from the producers the bus admits and
  the intake rule's sources: a rule of its own, retried and dead-lettered like call requests.
- A contact flow of the Connect instance ("press 9 to not be called again"): Connect may invoke it for this instance
  only, and the stack associates it with the instance so that flows can name it.
- The operators' command line (`outbound_caller.cli suppress`), invoking it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import Duration, Stack
from aws_cdk import aws_connect as connect
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.caller import LOG_RETENTION, RUNTIME, instance_arn
from infra.function_environment import optout_environment
from infra.intake import RULE_TARGET_MAX_EVENT_AGE_HOURS, RULE_TARGET_RETRY_ATTEMPTS, dead_letter_queue_of
from infra.producers import ACCOUNT_ID_PATTERN, OPT_OUT_DETAIL_TYPES, opt_out_event_pattern
from infra.queue_senders import deny_other_iam_senders
from infra.results import ResultEventBus
from infra.suppression import SuppressionList

HANDLER = "outbound_caller.optout.handler.lambda_handler"
INVOKE_FUNCTION = "lambda:InvokeFunction"
CONNECT_SERVICE_PRINCIPAL = "connect.amazonaws.com"
# The integration type an AWS::Connect::IntegrationAssociation gives a Lambda function a flow may invoke.
LAMBDA_INTEGRATION = "LAMBDA_FUNCTION"
# A callee waits on the line while a flow invokes it (Connect's "Invoke AWS Lambda function" block waits 8 s at
# most): 256 MB for a quicker cold start, as Lambda gives CPU in proportion to memory.
MEMORY_SIZE_MB = 256
# The largest invocation is the command line's: MAX_NUMBERS_PER_INVOCATION (500) numbers, each a DynamoDB write of
# tens of milliseconds, and their announcements, take seconds. A minute leaves room, and stays within the command's
# Lambda read timeout (botocore's 60 s default), past which it would invoke again.
TIMEOUT_SECONDS = 60
# Lambda's default for asynchronous invocations (the rule's): a failed one is tried twice more, then dead-lettered.
ASYNC_RETRY_ATTEMPTS = 2


@dataclass(frozen=True)
class OptOutProps:
    """The code to run, the list it changes, where its events come from and its changes go, who may invoke it."""

    # The caller's own asset (outbound_caller.optout is in it), bundled once.
    code: lambda_.Code
    suppression_list: SuppressionList
    # The intake bus, and the sources its call-request rule accepts (empty: any, on the stack's own bus).
    event_bus: events.IEventBus
    event_sources: tuple[str, ...]
    # The Connect instance whose flows may invoke it, and whether the stack associates it with the instance.
    instance_id: str
    associate_with_instance: bool
    # Only with result events on: where each change is announced.
    result_event_bus: ResultEventBus | None = None
    # Who may invoke it directly (the command line) and send to its dead-letter queue (to send a failed event back).
    operator_principals: tuple[str, ...] = ()


class OptOut(Construct):
    """The opt-out function, its rule on the intake bus with a dead-letter queue, and who else may invoke it."""

    def __init__(self, scope: Construct, construct_id: str, props: OptOutProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # Opt-out events EventBridge could not deliver, or the function failed on three times: each holds a number
        # that asked not to be called, so it is kept, alarmed on, and sent back to the function once fixed.
        self.dead_letter_queue = dead_letter_queue_of(
            self,
            "DeadLetterQueue",
            whose="the opt-out rule target's DeadLetterConfig and the function's asynchronous-invocation one",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Opt-out: add numbers to the suppression list, remove and check them, announce each change",
        )
        self.log_group.grant_write(self.role)
        result_bus = props.result_event_bus
        self.function = lambda_.Function(
            self,
            "Function",
            description="Adds numbers to the outbound caller's suppression list, removes and checks them",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=props.code,
            memory_size=MEMORY_SIZE_MB,
            timeout=Duration.seconds(TIMEOUT_SECONDS),
            environment=optout_environment(
                props.suppression_list.table.table_name,
                props.suppression_list.key.secret_arn,
                # The ARN, as the other functions get it.
                result_bus.bus.event_bus_arn if result_bus is not None else None,
            ),
            log_group=self.log_group,
            role=self.role,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
        )
        props.suppression_list.grant_change(self.role)
        if result_bus is not None:
            # PutEvents on the result bus alone, with the contract's source alone; exempt from the bus's deny.
            result_bus.grant_publish(self.role, sid="AnnounceSuppressionListChanges")

        # On the intake bus: only the producers its policy admits put events there, and only the call-request rule's
        # sources are taken, as for call requests. Never a replay.
        self.rule = events.Rule(
            self,
            "OptOutRule",
            description="Routes opt-out and opt-in events to the outbound caller's opt-out function",
            event_bus=props.event_bus,
            # Replaced below by the whole pattern (EventPattern has no field for replay-name).
            event_pattern=events.EventPattern(detail_type=list(OPT_OUT_DETAIL_TYPES)),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    max_event_age=Duration.hours(RULE_TARGET_MAX_EVENT_AGE_HOURS),
                    retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
                )
            ],
        )
        rule_resource = cast(events.CfnRule, self.rule.node.default_child)
        rule_resource.add_property_override("EventPattern", opt_out_event_pattern(props.event_sources))
        deny_other_iam_senders(
            self.dead_letter_queue,
            sid="OnlyTheOptOutAndOperatorsMayDeadLetter",
            principals=props.operator_principals,
            roles=[self.role],
            on_behalf_of=[self.rule.rule_arn],
        )

        if props.associate_with_instance:
            self._invoked_by_flows_of(instance_arn(stack, props.instance_id), stack.account)
        # The command line: each operator named may invoke it (in another account, this is what lets them).
        for index, principal in enumerate(props.operator_principals):
            self.function.add_permission(
                f"OperatorMayInvoke{index}",
                principal=(
                    iam.AccountPrincipal(principal)
                    if ACCOUNT_ID_PATTERN.fullmatch(principal)
                    else iam.ArnPrincipal(principal)
                ),
                action=INVOKE_FUNCTION,
            )

    def _invoked_by_flows_of(self, instance: str, account: str) -> None:
        """Let the instance's contact flows invoke the function, and associate it with the instance so they can name
        it. Connect only, on behalf of this instance only (aws:SourceArn, which no caller can set), in this account."""
        self.function.add_permission(
            "ConnectInstanceMayInvoke",
            principal=iam.ServicePrincipal(CONNECT_SERVICE_PRINCIPAL),
            action=INVOKE_FUNCTION,
            source_account=account,
            source_arn=instance,
        )
        connect.CfnIntegrationAssociation(
            self,
            "InstanceAssociation",
            instance_id=instance,
            integration_arn=self.function.function_arn,
            integration_type=LAMBDA_INTEGRATION,
        )
