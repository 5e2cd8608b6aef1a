"""The result event bus: where the function publishes each request's outcome (Placed, Rejected, Deferred)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

# The contract's source of every result event (the function's own constant, so the two cannot drift).
from infra.settings import RESULT_EVENT_SOURCE


class ResultEventBus(Construct):
    """A bus of the stack's own, or an existing one named by name or ARN; publishers get PutEvents on it alone."""

    def __init__(self, scope: Construct, construct_id: str, *, existing_bus: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.bus: events.IEventBus
        if existing_bus is None:
            self.bus = events.EventBus(
                self, "Bus", description="connect-outbound-caller result events: Placed, Rejected, Deferred"
            )
        elif existing_bus.startswith("arn:"):
            self.bus = events.EventBus.from_event_bus_arn(self, "Bus", existing_bus)
        else:
            self.bus = events.EventBus.from_event_bus_name(self, "Bus", existing_bus)

    def grant_publish(self, role: iam.IRole, sid: str = "PublishResultEvents") -> None:
        """Let ``role`` put events on this bus only, and only with the contract's source."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=sid,
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
                # EventBridge's events:source condition key: the role cannot impersonate another producer on the bus.
                conditions={"StringEquals": {"events:source": RESULT_EVENT_SOURCE}},
            )
        )
