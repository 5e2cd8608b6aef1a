"""What the operator documents promise about the stack's guards: every setting documented, every permission that
amounts to the right to dial named, and no claim the stack does not keep."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.context_loading import CONTEXT_KEYS, settings_from_context
from infra.repository import REPO_ROOT
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS
from tests.infra.contexts import MINIMAL

README = REPO_ROOT / "README.md"
DEPLOY_GUIDE = REPO_ROOT / "docs" / "deploy.md"
# Each goes around every policy of the stack: it is the right to dial, or to forge the attributes that steer a
# request (the caller function's code, configuration and invocation; the source queue; the message-signing key).
DIAL_EQUIVALENT_PERMISSIONS = (
    "lambda:InvokeFunction",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "sqs:SendMessage",
    "secretsmanager:GetSecretValue",
)
# Who may redrive: the setting that names them.
REDRIVERS = "operatorPrincipals"


def _section(path: Path, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"^(#+) {re.escape(heading)}\n", text, flags=re.MULTILINE)
    assert found is not None, f"{path.name} has no section {heading!r}"
    level = len(found.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", flags=re.MULTILINE).search(text, found.end())
    return text[found.end() : end.start() if end else len(text)]


@pytest.mark.parametrize(
    ("path", "heading"),
    [(README, "Security: who can make it dial"), (DEPLOY_GUIDE, "Who can make it dial")],
    ids=["readme", "deploy-guide"],
)
def test_the_security_sections_name_every_permission_that_amounts_to_the_right_to_dial(
    path: Path, heading: str
) -> None:
    # Given the README's and the deploy guide's security sections
    section = _section(path, heading)
    # When the permissions they name are looked for
    missing = [permission for permission in DIAL_EQUIVALENT_PERMISSIONS if f"`{permission}`" not in section]
    # Then each one that goes around the stack's policies is there, and who may redrive
    assert missing == []
    assert f"`{REDRIVERS}`" in section


def test_every_context_key_is_in_the_deploy_guides_table() -> None:
    # Given the deploy guide's table of context values
    table = _section(DEPLOY_GUIDE, "Context values")
    # When the settings' keys are looked for as the table's first column
    missing = [key for key in CONTEXT_KEYS if f"| `{key}` |" not in table]
    # Then every one is documented, with its default
    assert missing == []


def test_no_document_claims_that_iam_scopes_flows_queues_or_caller_ids() -> None:
    # Given the README and the deploy guide
    text = README.read_text(encoding="utf-8") + DEPLOY_GUIDE.read_text(encoding="utf-8")
    # When grants on flows, queues or phone numbers are looked for
    # Then there are none: IAM authorizes StartOutboundVoiceContact on the instance's contacts alone, and the
    # function's allow-lists are what decide the flow, queue and caller ID
    assert "phone-number/*" not in text
    assert "scoped to your instance's contacts, flows" not in text
    assert "allowed to start these and no others" not in text


def test_the_deploy_guide_says_both_the_rule_and_the_function_refuse_archive_replays() -> None:
    # Given the deploy guide's security choices
    section = _section(DEPLOY_GUIDE, "Security choices")
    # When its word on archive replays is read
    (sentence,) = [paragraph for paragraph in section.split("\n- ") if "replay-name" in paragraph]
    # Then it names the rule's pattern and the function's refusal, and how the function refuses one
    assert '"replay-name": [{"exists": false}]' in sentence
    assert "the function refuses" in sentence
    assert "`ValidationError`" in sentence


def test_the_deploy_guide_gives_the_derived_timeouts_the_stack_computes() -> None:
    # Given the deploy guide's derived values, and the settings a deployment gets by default
    section = _section(DEPLOY_GUIDE, "Context values")
    defaults = settings_from_context(MINIMAL)
    reserve = RECORD_TIME_RESERVE_SECONDS
    # When the figures it gives are looked for
    # Then they are the code's: one record's reserve (in the formula and its breakdown), the function timeout and the
    # source queue's visibility timeout with the defaults (each change to the reserve must reach the guide)
    assert f"+ {reserve} s + {reserve} s`" in section
    assert f"({reserve} s:" in section
    assert f"With the defaults: {defaults.function_timeout_seconds:,} s." in section
    assert f"With the defaults: {defaults.visibility_timeout_seconds:,} s." in section
