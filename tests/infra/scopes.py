"""Resources of the stack outside the call-completion construct, for tests about the caller and its intake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Template

# The CallCompletion construct's ID in the stack: CDK starts its resources' logical IDs with it.
COMPLETION_CONSTRUCT_ID = "Completion"


def find(template: Template, resource_type: str, props: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Template.find_resources, leaving out the call completion's resources (tests/infra/test_completion.py)."""
    found = (
        template.find_resources(resource_type, props) if props is not None else template.find_resources(resource_type)
    )
    return {key: value for key, value in found.items() if not key.startswith(COMPLETION_CONSTRUCT_ID)}


def under(template: Template, resource_type: str, construct_id: str) -> dict[str, Any]:
    """The resources of one type that a construct of the stack holds (CDK starts their logical IDs with its ID)."""
    found: dict[str, Any] = dict(template.find_resources(resource_type))
    return {key: value for key, value in found.items() if key.startswith(construct_id)}
