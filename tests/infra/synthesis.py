"""Builds the app the way `cdk synth` does: cdk.json's context plus `-c` overrides."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Set before aws_cdk starts its Node process: if anything ever fell back to Docker bundling it would fail loudly.
os.environ["CDK_DOCKER"] = "docker-must-not-be-used"

from aws_cdk import App, Stack

from infra.application import build_app
from infra.deployment import STACK_NAME
from infra.repository import CDK_JSON_PATH

# CDK skips asset bundling for the stacks listed here; an empty list skips it for all (the asset keeps a hash).
SKIP_BUNDLING: Mapping[str, Any] = {"aws:cdk:bundling-stacks": []}


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` gets from cdk.json: the deployment settings and the feature flags."""
    context: dict[str, Any] = json.loads(CDK_JSON_PATH.read_text(encoding="utf-8"))["context"]
    return context


def app_with(overrides: Mapping[str, Any] | None = None, *, bundle: bool = False, outdir: Path | None = None) -> App:
    """The app as `cdk synth -c key=value ...` would build it; Lambda bundling skipped unless asked for."""
    context = cdk_json_context() | dict(overrides or {}) | ({} if bundle else dict(SKIP_BUNDLING))
    return build_app(context, outdir=str(outdir) if outdir else None)


def stack_of(app: App) -> Stack:
    """The outbound caller stack of an app built by app_with."""
    stack = app.node.find_child(STACK_NAME)
    assert isinstance(stack, Stack)
    return stack
