"""Test-wide environment: fake AWS credentials and the function's configuration, set before it is imported."""

from __future__ import annotations

import os

# moto must be imported before any boto3 client is created, so that its request interception is
# registered on the function's module-level clients too.
import moto  # noqa: F401

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
