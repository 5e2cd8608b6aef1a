"""Builds the CDK app from its context values; app.py and the infrastructure tests both start here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Tags

from infra.context_loading import settings_from_context
from infra.deployment import STACK_NAME
from infra.nag import enable_nag_checks
from infra.stack import OutboundCallerStack
from outbound_caller.names import DEFAULT_SERVICE_NAME


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> App:
    """An app with the outbound caller stack, validated settings and cdk-nag; raises InvalidDeploymentSettings."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    settings = settings_from_context(app.node.get_all_context())
    # Environment-agnostic: deploys to the account and region of the CLI's credentials; ARNs use pseudo parameters.
    stack = OutboundCallerStack(
        app,
        STACK_NAME,
        settings=settings,
        description="Amazon Connect outbound calls from an SQS queue and an EventBridge rule (connect-outbound-caller)",
    )
    Tags.of(stack).add("project", DEFAULT_SERVICE_NAME)
    enable_nag_checks(app)
    return app
