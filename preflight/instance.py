"""Checks of the Connect instance itself and of the contact flows the function may start."""

from __future__ import annotations

from botocore.exceptions import ClientError

from infra.settings import PLACEHOLDER_INSTANCE_ID
from preflight.result import CheckResult, error_code, fail, ok, refused
from preflight.target import Clients, Target

INSTANCE = "instance"
FLOWS = "flows"
# Connect's values for a usable instance and a flow StartOutboundVoiceContact can run (DescribeInstance,
# DescribeContactFlow in the Connect API Reference).
ACTIVE_INSTANCE = "ACTIVE"
CONTACT_FLOW_TYPE = "CONTACT_FLOW"
ACTIVE_FLOW = "ACTIVE"
PUBLISHED_FLOW = "PUBLISHED"
NOT_FOUND = "ResourceNotFoundException"
NOT_PUBLISHED = "ContactFlowNotPublishedException"


def check_instance(clients: Clients, target: Target) -> list[CheckResult]:
    """The instance exists in this account and Region, is ACTIVE, and may place outbound calls."""
    instance_id = target.settings.instance_id
    if instance_id == PLACEHOLDER_INSTANCE_ID:
        return [
            fail(
                INSTANCE,
                f"connectInstanceId is still the placeholder {PLACEHOLDER_INSTANCE_ID}: set your instance's ID in"
                " cdk.json or with -c connectInstanceId=<ID> (aws connect list-instances)",
            )
        ]
    subject = f"instance {instance_id}"
    try:
        instance = clients.connect.describe_instance(InstanceId=instance_id)["Instance"]
    except ClientError as error:
        if error_code(error) == NOT_FOUND:
            return [
                fail(
                    INSTANCE,
                    f"{subject} not found in account {target.account}, Region {target.region}: check"
                    " connectInstanceId, and run with the instance's Region and account (aws connect list-instances)",
                )
            ]
        return [refused(INSTANCE, error, "connect:DescribeInstance", subject)]
    name = f"{subject} ({instance['InstanceAlias']})" if instance.get("InstanceAlias") else subject
    status = instance.get("InstanceStatus")
    if status != ACTIVE_INSTANCE:
        return [fail(INSTANCE, f"{name} is {status}, not {ACTIVE_INSTANCE}: wait until it is created, or use another")]
    if not instance.get("OutboundCallsEnabled"):
        return [
            fail(
                INSTANCE,
                f"{name} has outbound calls disabled: allow them in the Amazon Connect console (the instance →"
                " Telephony), or with aws connect update-instance-attribute --attribute-type OUTBOUND_CALLS"
                " --value true",
            )
        ]
    return [ok(INSTANCE, f"{name} is {ACTIVE_INSTANCE} with outbound calls enabled")]


def check_flows(clients: Clients, target: Target) -> list[CheckResult]:
    """The default flow and every allowed flow exist, are contact flows, active and published."""
    settings = target.settings
    flows = {settings.contact_flow_id: "connectContactFlowId"}
    flows |= {flow: "allowedContactFlowIds" for flow in settings.allowed_contact_flow_ids if flow not in flows}
    return [_check_flow(clients, target, flow, key) for flow, key in flows.items()]


def _check_flow(clients: Clients, target: Target, flow_id: str, key: str) -> CheckResult:
    subject = f"contact flow {flow_id} ({key})"
    try:
        flow = clients.connect.describe_contact_flow(InstanceId=target.settings.instance_id, ContactFlowId=flow_id)[
            "ContactFlow"
        ]
    except ClientError as error:
        if error_code(error) == NOT_FOUND:
            return fail(
                FLOWS,
                f"{subject} not found in instance {target.settings.instance_id}: check {key}"
                " (aws connect list-contact-flows --contact-flow-types CONTACT_FLOW)",
            )
        if error_code(error) == NOT_PUBLISHED:
            return fail(FLOWS, f"{subject} is not published: publish it in the flow designer")
        return refused(FLOWS, error, "connect:DescribeContactFlow", subject)
    name = f"{subject} '{flow['Name']}'" if flow.get("Name") else subject
    if flow.get("Type") != CONTACT_FLOW_TYPE:
        return fail(
            FLOWS,
            f"{name} is of type {flow.get('Type')}: StartOutboundVoiceContact needs a flow of type"
            f" {CONTACT_FLOW_TYPE} (Contact flow (inbound) in the designer)",
        )
    if flow.get("State") != ACTIVE_FLOW:
        return fail(FLOWS, f"{name} is {flow.get('State')}: restore it, or name an active flow in {key}")
    if flow.get("Status") != PUBLISHED_FLOW:
        return fail(FLOWS, f"{name} is {flow.get('Status')}, not published: publish it in the flow designer")
    return ok(FLOWS, f"{name} is an active, published contact flow")
