"""The roles granted access to a resource until synthesis, as one list its policy reads: a Deny that exempts them,
written when the resource is built, before every role that will be granted exists."""

from __future__ import annotations

from typing import cast

import jsii
from aws_cdk import IListProducer, IResolveContext, Lazy
from aws_cdk import aws_iam as iam


@jsii.implements(IListProducer)
class GrantedRoles:
    """Roles added until synthesis; their ARNs resolved only then."""

    def __init__(self) -> None:
        self.roles: list[iam.IRole] = []

    def add(self, role: iam.IRole) -> None:
        """Exempt one more role."""
        self.roles.append(role)

    @jsii.member(jsii_name="produce")
    def produce(self, context: IResolveContext) -> list[str] | None:
        """The roles' ARNs (tokens CloudFormation resolves), in the order they were granted."""
        return [role.role_arn for role in self.roles]

    def arns(self) -> list[str]:
        """The ARNs as a list token, for a policy condition written now and resolved at synthesis."""
        return Lazy.uncached_list(cast(IListProducer, self))
