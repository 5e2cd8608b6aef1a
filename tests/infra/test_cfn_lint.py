"""The synthesized template passes cfn-lint (CloudFormation's resource specifications) with no errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cfnlint.api import lint
from cfnlint.rules import Match

from tests.infra.conftest import Synth

# cfn-lint's rule IDs start with their severity: E (error), W (warning), I (informational).
ERROR_PREFIX = "E"
# CloudFormation's own resource limits and types are the same in every commercial Region; cfn-lint's primary Region
# is where it is most complete. Linting more Regions multiplies the test's time for no finding.
LINT_REGIONS = ["us-east-1"]


def _describe(match: Match) -> str:
    return f"{match.rule.id} {'/'.join(str(part) for part in match.path)}: {match.message}"


def _errors(template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """cfn-lint's errors and, for the failure message, everything else it said about the template."""
    matches = lint(json.dumps(template), regions=LINT_REGIONS)
    errors = [_describe(match) for match in matches if match.rule.id.startswith(ERROR_PREFIX)]
    others = [_describe(match) for match in matches if not match.rule.id.startswith(ERROR_PREFIX)]
    return errors, others


def test_the_linter_reports_an_invalid_resource_as_an_error() -> None:
    # Given a template whose queue keeps messages longer than SQS allows (14 days) under a misspelt property
    template = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"MessageRetentionPeriod": 99_999_999, "VisibilityTimout": 30},
            }
        }
    }
    # When it is linted
    errors, _ = _errors(template)
    # Then both are errors: the check below can fail
    assert any("MessageRetentionPeriod" in error for error in errors), errors
    assert any("VisibilityTimout" in error for error in errors), errors


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="cdk-json"),
        # The optional resources: the per-number call counter's table (cached: test_calling_safety synthesizes it).
        pytest.param({"destinationCallLimit": "3/24h"}, id="call-limit"),
        # The dead-letter queues' denials with operators exempt (cached: test_dead_letter_access synthesizes it).
        pytest.param(
            {"operatorPrincipals": ["210987654321", "arn:aws:iam::123456789012:role/operations"]}, id="operators"
        ),
        # Agent pacing's grant and rule (cached: test_agent_pacing synthesizes it).
        pytest.param(
            {"agentPacing": True, "connectQueueId": "22222222-2222-2222-2222-222222222222"}, id="agent-pacing"
        ),
    ],
)
def test_the_synthesized_template_has_no_cfn_lint_errors(synth: Synth, overrides: dict[str, Any]) -> None:
    # Given the stack's template
    template: Template = synth(**overrides)
    # When cfn-lint checks it against CloudFormation's specifications
    errors, others = _errors(template.to_json())
    # Then it finds no error (its warnings are listed should this fail, for context)
    assert errors == [], "\n".join(["cfn-lint errors:", *errors, "other findings:", *others])
