"""Who may send to a queue of the stack: a Deny on sqs:SendMessage for every sender but those named.

In one account an identity policy alone lets a principal send to any queue whose policy does not deny it, so a
queue that must take messages from a few senders only says so with a Deny; an Allow would change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from infra.producers import split_principals

SEND_MESSAGE = "sqs:SendMessage"

SenderConditions = dict[str, dict[str, list[str] | str]]


def not_named(
    principals: Sequence[str] = (), *, roles: Sequence[iam.IRole] = (), on_behalf_of: Sequence[str] = ()
) -> SenderConditions:
    """Conditions that hold for a sender that is none of those named: the principals (account IDs or IAM ARNs), the
    roles, and AWS services sending on behalf of the resources in ``on_behalf_of`` (their aws:SourceArn).

    Keys and operators are ANDed, values within one key ORed: a sender matching any name escapes a Deny with them.
    """
    accounts, arns = split_principals(dict.fromkeys(principals))
    arn_not_equals: dict[str, list[str] | str] = {}
    principal_arns = [*arns, *(role.role_arn for role in roles)]
    if principal_arns:
        arn_not_equals["aws:PrincipalArn"] = principal_arns
    if on_behalf_of:
        # A service sending on a resource's behalf names it in aws:SourceArn, which no caller can set.
        arn_not_equals["aws:SourceArn"] = list(on_behalf_of)
    conditions: SenderConditions = {}
    if arn_not_equals:
        conditions["ArnNotEquals"] = arn_not_equals
    if accounts:
        conditions["StringNotEquals"] = {"aws:PrincipalAccount": accounts}
    return conditions


def deny_other_iam_senders(
    queue: sqs.IQueue,
    *,
    sid: str,
    principals: Sequence[str] = (),
    roles: Sequence[iam.IRole] = (),
    on_behalf_of: Sequence[str] = (),
) -> None:
    """Deny sqs:SendMessage on ``queue`` to every IAM principal but the named ones (see not_named)."""
    conditions = not_named(principals, roles=roles, on_behalf_of=on_behalf_of)
    # Only requests an IAM principal makes. The operators above are all negated (ArnNotEquals, StringNotEquals), and a
    # negated operator also matches a request that lacks the key: alone, they would deny whatever reaches the queue
    # without an aws:PrincipalArn, such as SQS moving a message here itself under a redrive policy (maxReceiveCount).
    # "Null": false holds only when the request carries aws:PrincipalArn, i.e. was signed by a user or a role.
    conditions["Null"] = {"aws:PrincipalArn": "false"}
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            effect=iam.Effect.DENY,
            actions=[SEND_MESSAGE],
            resources=[queue.queue_arn],
            principals=[iam.AnyPrincipal()],
            conditions=conditions,
        )
    )
