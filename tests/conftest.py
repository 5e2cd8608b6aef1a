"""Test-wide environment: fake AWS credentials and the function's configuration, set before it is imported."""

from __future__ import annotations

import os

# moto must be imported before any boto3 client is created, so that its request interception is
# registered on the function's module-level clients too.
import moto  # noqa: F401
from hypothesis import settings

from tests.support.environment import FUNCTION_ENVIRONMENT

os.environ.update(
    {
        # jsii prints an end-of-life banner for Node 20 on every CDK import.
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
        **FUNCTION_ENVIRONMENT,
    }
)
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CONNECT", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(name, None)

# Hypothesis profiles: `make test` runs "default" (every property test within the tier's time budget, examples
# reproducible across runs and machines); HYPOTHESIS_PROFILE=thorough runs ten times as many, for a search before a
# release or after a change to the journey. The property tests through the handler name no example count of their own.
settings.register_profile("default", max_examples=40, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=400, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
