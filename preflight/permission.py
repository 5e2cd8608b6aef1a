"""Check of the deployed function's permission: may its role start calls on the instance (IAM policy simulator)?"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from preflight.result import CheckResult, error_code, fail, ok, refused, skip
from preflight.target import Clients, Target

PERMISSION = "permission"
ACTION = "connect:StartOutboundVoiceContact"
# The stack's output naming the function (infra/stack.py), whose configuration names its role.
FUNCTION_NAME_OUTPUT = "FunctionName"
ALLOWED = "allowed"
# CloudFormation answers DescribeStacks for a stack that does not exist with this code and message.
MISSING_STACK_CODE = "ValidationError"
MISSING_STACK_MESSAGE = "does not exist"


def check_permission(clients: Clients, target: Target) -> list[CheckResult]:
    """The deployed function's role may call StartOutboundVoiceContact on the instance's contacts."""
    stack = f"stack {target.stack_name}"
    try:
        stacks = clients.cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"]
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if error_code(error) == MISSING_STACK_CODE and MISSING_STACK_MESSAGE in message:
            return [
                skip(
                    PERMISSION,
                    f"{stack} is not deployed in account {target.account}, Region {target.region} yet: run make deploy,"
                    " then make preflight again to check the function's permission",
                )
            ]
        return [refused(PERMISSION, error, "cloudformation:DescribeStacks", stack)]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    function_name = outputs.get(FUNCTION_NAME_OUTPUT)
    if function_name is None:
        return [
            fail(
                PERMISSION,
                f"{stack} has no {FUNCTION_NAME_OUTPUT} output (status {stacks[0].get('StackStatus')}):"
                " run make deploy",
            )
        ]
    try:
        role_arn = str(clients.lambda_.get_function_configuration(FunctionName=function_name)["Role"])
    except ClientError as error:
        return [refused(PERMISSION, error, "lambda:GetFunctionConfiguration", f"function {function_name}")]
    resources = _resources(target)
    try:
        evaluations = clients.iam.simulate_principal_policy(
            PolicySourceArn=role_arn, ActionNames=[ACTION], ResourceArns=resources
        )["EvaluationResults"]
    except ClientError as error:
        return [refused(PERMISSION, error, "iam:SimulatePrincipalPolicy", f"role {role_arn}")]
    denied = {resource: decision for resource, decision in _decisions(evaluations) if decision != ALLOWED}
    if denied or not evaluations:
        shown = ", ".join(f"{resource} ({decision})" for resource, decision in denied.items()) or "every resource"
        return [
            fail(
                PERMISSION,
                f"role {role_arn} may not call {ACTION} on {shown}: run make deploy with these settings (the stack"
                " grants exactly the configured instance's contacts), and check for a permissions boundary or SCP",
            )
        ]
    return [ok(PERMISSION, f"role {role_arn} may call {ACTION} on the instance's contacts")]


def _resources(target: Target) -> list[str]:
    """What the stack grants: the instance's contacts, the one resource type the action is authorized on.

    Flows, queues and phone numbers are not asked about: IAM does not authorize the action on them (the function's
    allow-lists decide which a call may use), so a simulated "allowed" on them would prove nothing.
    """
    return [target.connect_arn(f"instance/{target.settings.instance_id}/contact/*")]


def _decisions(evaluations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(resource, decision) pairs: per resource when the simulator answers per resource, else per evaluation."""
    pairs = []
    for evaluation in evaluations:
        specific = evaluation.get("ResourceSpecificResults") or []
        if specific:
            pairs += [(str(result["EvalResourceName"]), str(result["EvalResourceDecision"])) for result in specific]
        else:
            pairs.append((str(evaluation.get("EvalResourceName", "*")), str(evaluation["EvalDecision"])))
    return pairs
