"""The outbound caller function: its code, event source, logs and least-privilege role."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.bundling import function_code
from infra.results import ResultEventBus
from infra.settings import DeploymentSettings

# The newest Python runtime this aws-cdk-lib offers; lambda/requirements.txt has cp314 aarch64 wheels for it.
RUNTIME = lambda_.Runtime.PYTHON_3_14
HANDLER = "outbound_caller.handler.lambda_handler"
# The function waits on pacing and on Connect, not on CPU: 256 MB is ample for boto3 + Powertools + pydantic.
MEMORY_SIZE_MB = 256
# Logs carry no phone numbers or attribute values (see the contract); a month covers incident follow-up.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# How cdk-nag spells the phone-number ARN of connect_resource_arns in its finding ID.
PHONE_NUMBERS_ARN_FINDING = "arn:<AWS::Partition>:connect:<AWS::Region>:<AWS::AccountId>:phone-number/*"
# And the contact ARN of connect_resource_arns (the instance's contacts).
CONTACTS_ARN_FINDING = "arn:<AWS::Partition>:connect:<AWS::Region>:<AWS::AccountId>:instance/{instance}/contact/*"


class OutboundCaller(Construct):
    """The function that places calls, fed by the source queue and allowed only what it needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        placed_calls: dynamodb.ITable,
        destination_calls: dynamodb.ITable | None = None,
        result_event_bus: ResultEventBus | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        # A role of our own instead of AWSLambdaBasicExecutionRole, so logging is scoped to this log group.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Outbound caller: read call requests, place calls on one Connect instance, defer, dead-letter",
        )
        self.log_group.grant_write(self.role)

        # Public, so that the stack's other function (the completion handler) ships this same asset, bundled once.
        self.code = function_code(RUNTIME)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Places Amazon Connect outbound calls for queued call requests",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=self.code,
            memory_size=MEMORY_SIZE_MB,
            timeout=Duration.seconds(settings.function_timeout_seconds),
            environment=settings.function_environment(
                dead_letter_queue.queue_url,
                placed_calls.table_name,
                source_queue_url=queue.queue_url,
                destination_calls_table_name=destination_calls.table_name if destination_calls is not None else None,
                # The ARN: PutEvents takes it as EventBusName, and it names an imported bus wherever it lives.
                result_event_bus_name=result_event_bus.bus.event_bus_arn if result_event_bus is not None else None,
            ),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=settings.batch_size,
                max_batching_window=(
                    Duration.seconds(settings.batching_window_seconds) if settings.batching_window_seconds else None
                ),
                report_batch_item_failures=True,
                max_concurrency=settings.max_concurrency,
            )
        )

        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PlaceCallsOnTheConfiguredInstanceOnly",
                actions=["connect:StartOutboundVoiceContact"],
                resources=connect_resource_arns(Stack.of(self), settings),
            )
        )
        # Only SendMessage, and one statement per queue so each grant says what it is for: the function knows both
        # URLs from its environment. The queues use SQS-managed encryption, so sending needs no KMS permission.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterPermanentFailures",
                actions=["sqs:SendMessage"],
                resources=[dead_letter_queue.queue_arn],
            )
        )
        # A request that cannot be placed yet (instance full, throttled, out of time) is sent back to the queue the
        # event source reads, with a delay, so that it spends none of its redrive budget.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DeferToTheSourceQueue",
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
            )
        )
        # The placed-calls ledger changes items only by conditional UpdateItem (claim, take over, complete, mark,
        # release; the busy-instance state item too) and reads through a failed condition's old item; GetItem is
        # only for reading the busy-instance state. No PutItem, DeleteItem, batch operations, scan or query.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RecordPlacedCallsAndInstanceState",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[placed_calls.table_arn],
            )
        )
        if destination_calls is not None:
            # The per-destination call limit: read the count (consistent GetItem), change it by conditional UpdateItem.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="CountCallsPerDestination",
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    resources=[destination_calls.table_arn],
                )
            )
        if result_event_bus is not None:
            # Each settled request's outcome (results/): PutEvents on the result bus only.
            result_event_bus.grant_publish(self.role)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level"
                " permissions, so CDK's tracing grant must name '*'",
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{CONTACTS_ARN_FINDING.format(instance=settings.instance_id)}]",
                reason="StartOutboundVoiceContact is authorized on the contact it creates, whose ID only exists once"
                " the call is placed: the configured instance's contacts are the narrowest resource IAM can name",
            )
        )
        if settings.source_phone_number is not None:
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{PHONE_NUMBERS_ARN_FINDING}]",
                    reason="Connect authorizes the caller ID's phone-number resource, whose ARN holds an ID, not the"
                    " E.164 number configured; scoped to this account and region, and Connect itself only dials from"
                    " numbers claimed to the instance",
                )
            )


def connect_resource_arns(stack: Stack, settings: DeploymentSettings) -> list[str]:
    """The resources StartOutboundVoiceContact is authorized on: the instance's contacts, the instance, its allowed
    flows, queue and number."""

    def instance_arn(resource_path: str = "") -> str:
        return stack.format_arn(
            service="connect",
            resource="instance",
            resource_name=f"{settings.instance_id}{resource_path}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    flows = dict.fromkeys((settings.contact_flow_id, *settings.allowed_contact_flow_ids))
    # The Service Authorization Reference lists one resource type for the action: `contact`,
    # instance/${InstanceId}/contact/*. A call's contact does not exist before the call, so its ID cannot be named:
    # the instance's contacts are the tightest scope. Without it every call is answered AccessDeniedException.
    arns = [instance_arn("/contact/*"), instance_arn(), *(instance_arn(f"/contact-flow/{flow}") for flow in flows)]
    if settings.queue_id is not None:
        arns.append(instance_arn(f"/queue/{settings.queue_id}"))
    if settings.source_phone_number is not None:
        # Phone-number ARNs are keyed by an ID Connect assigns when the number is claimed, not by the E.164 number
        # the function is configured with, so the tightest expressible scope is this account's numbers here.
        arns.append(
            stack.format_arn(
                service="connect", resource="phone-number", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )
        )
    return arns
