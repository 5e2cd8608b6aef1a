"""The count of calls per destination that DESTINATION_CALL_LIMIT is checked against; only when the limit is on."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.settings import DESTINATION_CALLS_PARTITION_KEY, DESTINATION_CALLS_TTL_ATTRIBUTE


class DestinationCallsTable(Construct):
    """An on-demand, encrypted table of recent calls by a hash of each number, expiring through DynamoDB TTL."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=DESTINATION_CALLS_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=DESTINATION_CALLS_TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # The count is what stands between a customer and a fourth call today: restorable like the ledger.
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Counts of the last window only; they go with the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
