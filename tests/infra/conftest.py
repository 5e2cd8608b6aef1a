"""Templates of the stack synthesized from cdk.json's context plus per-test overrides, bundling skipped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.emitted_metrics import EmittedMetric, emitted_metrics
from tests.infra.synthesis import app_with, stack_of

Synth = Callable[..., Template]


@pytest.fixture(scope="session")
def synth() -> Synth:
    """Template of the stack synthesized with cdk.json's context and the given overrides (cached per overrides)."""
    cache: dict[str, Template] = {}

    def _synth(**overrides: Any) -> Template:
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            cache[key] = Template.from_stack(stack_of(app_with(overrides)))
        return cache[key]

    return _synth


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    """Template of the stack with cdk.json's (placeholder) values."""
    return synth()


@pytest.fixture(scope="session")
def emitted(template: Template) -> list[EmittedMetric]:
    """Every metric the function's code prints when run with the stack's function environment (run once)."""
    return emitted_metrics(template)
