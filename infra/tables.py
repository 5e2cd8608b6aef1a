"""The function's DynamoDB tables: the placed-calls ledger, and the calls per destination when a limit is set."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from outbound_caller.names import CONTACT_ID_ATTRIBUTE, CONTACT_ID_INDEX_NAME, PARTITION_KEY, TTL_ATTRIBUTE


@dataclass(frozen=True)
class ExpiringTableProps:
    """What differs between the function's tables: whether the completion handler looks items up by ContactId."""

    contact_id_index: bool = False


class ExpiringTable(Construct):
    """An on-demand, encrypted, restorable table keyed by one hash, its items expiring through DynamoDB TTL.

    Both tables have this layout (the function's call limit writes the placed-calls ledger's key and TTL names):
    the ledger records each call by a hash of its ClientToken, the call limit each number's recent calls by a hash
    of the number. Either is what stands between a customer and a second or a fourth call, so both can be restored;
    both only remember what the stack's own queues delivered, so they go with it.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ExpiringTableProps) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        if props.contact_id_index:
            # The placed-calls ledger's: the completion handler finds a contact's call by its ContactId. Sparse (only
            # PLACED items hold one) and KEYS_ONLY: the key is the token's hash, all a completion needs, so the index
            # holds no fingerprint and costs little.
            self.table.add_global_secondary_index(
                index_name=CONTACT_ID_INDEX_NAME,
                partition_key=dynamodb.Attribute(name=CONTACT_ID_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
