"""Resources of the stack outside the call-completion, opt-out, suppression-list and waiting-room constructs, for tests
about the caller and its intake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Template

# The CallCompletion, OptOut, SuppressionList and WaitingRoom constructs' IDs in the stack: CDK starts their resources'
# logical IDs with them.
COMPLETION_CONSTRUCT_ID = "Completion"
OPT_OUT_CONSTRUCT_ID = "OptOut"
SUPPRESSION_CONSTRUCT_ID = "SuppressionList"
WAITING_ROOM_CONSTRUCT_ID = "WaitingRoom"
_ASIDE = (COMPLETION_CONSTRUCT_ID, OPT_OUT_CONSTRUCT_ID, SUPPRESSION_CONSTRUCT_ID, WAITING_ROOM_CONSTRUCT_ID)


def find(template: Template, resource_type: str, props: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Template.find_resources, leaving out the call completion's, the opt-out function's, the suppression list's and
    the waiting room's resources (tests/infra/test_completion.py, test_optout.py, test_suppression.py,
    test_waiting_room.py)."""
    found = (
        template.find_resources(resource_type, props) if props is not None else template.find_resources(resource_type)
    )
    return {key: value for key, value in found.items() if not key.startswith(_ASIDE)}


def under(template: Template, resource_type: str, construct_id: str) -> dict[str, Any]:
    """The resources of one type that a construct of the stack holds (CDK starts their logical IDs with its ID)."""
    found: dict[str, Any] = dict(template.find_resources(resource_type))
    return {key: value for key, value in found.items() if key.startswith(construct_id)}
