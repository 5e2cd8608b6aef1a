"""The record of placed calls that makes a redelivered request return its contact instead of calling again."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.settings import PLACED_CALLS_PARTITION_KEY, PLACED_CALLS_TTL_ATTRIBUTE


class PlacedCallsTable(Construct):
    """An on-demand, encrypted table of placed calls by ClientToken, expiring through DynamoDB TTL."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PLACED_CALLS_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=PLACED_CALLS_TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # It only remembers what the stack's own queues delivered; it goes with them.
            removal_policy=RemovalPolicy.DESTROY,
        )
