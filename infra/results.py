"""The result event bus: where the stack's functions publish each request's outcome, and nobody else may."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.granted_roles import GrantedRoles

# The contract's source of every result event (the function's own constant, so the two cannot drift).
from outbound_caller.names import RESULT_SOURCE

PUT_EVENTS = "events:PutEvents"


@dataclass(frozen=True)
class ResultEventBusProps:
    """A bus of the stack's own by default, only the granted publishers may put events on; or an existing one."""

    # An existing bus's name or ARN, whose policy is its owner's.
    existing_bus: str | None = None


class ResultEventBus(Construct):
    """A bus of the stack's own, or an existing one named by name or ARN; publishers get PutEvents on it alone.

    On a bus of its own, its policy denies PutEvents to every IAM principal but the roles granted with grant_publish:
    consumers trust these events (an Outbound Call Completed, a Rejected ErrorCode), so no other principal of the
    account may put one there. An existing bus's policy is its owner's: the stack says so at synth.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ResultEventBusProps) -> None:
        super().__init__(scope, construct_id)
        existing_bus = props.existing_bus
        self.bus: events.IEventBus
        self.owned = existing_bus is None
        self._publishers = GrantedRoles()
        if existing_bus is None:
            bus = events.EventBus(
                self,
                "Bus",
                description="connect-outbound-caller result events: call outcomes, opt-outs and opt-ins",
            )
            self.bus = bus
            self._deny_other_publishers(bus)
        elif existing_bus.startswith("arn:"):
            self.bus = events.EventBus.from_event_bus_arn(self, "Bus", existing_bus)
        else:
            self.bus = events.EventBus.from_event_bus_name(self, "Bus", existing_bus)

    def grant_publish(self, role: iam.IRole, sid: str = "PublishResultEvents") -> None:
        """Let ``role`` put events on this bus only, and only with the contract's source; on a bus of the stack's own,
        exempt it from the policy that denies everyone else."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=sid,
                actions=[PUT_EVENTS],
                resources=[self.bus.event_bus_arn],
                # EventBridge's events:source condition key: the role cannot impersonate another producer on the bus.
                conditions={"StringEquals": {"events:source": RESULT_SOURCE}},
            )
        )
        self._publishers.add(role)

    def _deny_other_publishers(self, bus: events.EventBus) -> None:
        """Deny PutEvents to every IAM principal but the publishers granted (their list is read at synthesis)."""
        publisher_arns = self._publishers.arns()
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheStacksFunctionsMayPublish",
                effect=iam.Effect.DENY,
                actions=[PUT_EVENTS],
                resources=[bus.event_bus_arn],
                principals=[iam.AnyPrincipal()],
                conditions={
                    "ArnNotEquals": {"aws:PrincipalArn": publisher_arns},
                    # Only requests an IAM principal signed: ArnNotEquals alone also matches a request without the key
                    # (an AWS service acting on its own), which is not whom this policy is about.
                    "Null": {"aws:PrincipalArn": "false"},
                },
            )
        )
