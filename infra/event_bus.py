"""The event bus call requests arrive on: one the stack creates and whose policy it owns, or a named shared one."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.producers import split_principals

PUT_EVENTS = "events:PutEvents"


@dataclass(frozen=True)
class CallRequestBusProps:
    """A bus of the stack's own by default, admitting this account only; or an existing bus others share."""

    # Unset: the stack creates the bus and owns its policy. Set: an existing bus by name, routed from, not owned.
    shared_bus_name: str | None = None
    # Who may put events on the stack's own bus (account IDs or IAM principal ARNs); unset: this account only.
    producer_principals: tuple[str, ...] = ()


class CallRequestBus(Construct):
    """A dedicated bus admitting only the named producers (default: this account), or an existing bus by name.

    Why a bus of our own: the default bus takes events from every principal of the account allowed events:PutEvents
    (often on "*"), and its resource policy is the account's, shared with everything else on it: a stack cannot own
    it. On a bus of its own the stack writes the whole policy, and producers in other accounts are admitted there.
    """

    def __init__(self, scope: Construct, construct_id: str, props: CallRequestBusProps) -> None:
        super().__init__(scope, construct_id)
        self.bus: events.IEventBus
        if props.shared_bus_name is not None:
            # Routed from, not owned: the rule must then name the sources it accepts (settings refuse it otherwise).
            self.bus = events.EventBus.from_event_bus_name(self, "Shared", props.shared_bus_name)
            return
        bus = events.EventBus(self, "Bus", description="Outbound call requests, from the producers named in its policy")
        self.bus = bus
        accounts, arns = split_principals(props.producer_principals)
        if not props.producer_principals:
            accounts = [Stack.of(self).account]
        principals: list[iam.IPrincipal] = [
            *(iam.AccountPrincipal(account) for account in accounts),
            *(iam.ArnPrincipal(arn) for arn in arns),
        ]
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NamedProducersMayPutEvents",
                actions=[PUT_EVENTS],
                resources=[bus.event_bus_arn],
                principals=principals,
            )
        )
        # An Allow alone would not stop the account's own principals: in one account an identity policy suffices.
        # So everybody not named is denied, whatever their IAM policy says.
        not_named: dict[str, dict[str, list[str]]] = {}
        if accounts:
            not_named["StringNotEquals"] = {"aws:PrincipalAccount": accounts}
        if arns:
            not_named["ArnNotEquals"] = {"aws:PrincipalArn": arns}
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NobodyElseMayPutEvents",
                effect=iam.Effect.DENY,
                actions=[PUT_EVENTS],
                resources=[bus.event_bus_arn],
                principals=[iam.AnyPrincipal()],
                conditions=not_named,
            )
        )
