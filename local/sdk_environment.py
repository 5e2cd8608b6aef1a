"""The environment that points every boto3 client at the local endpoints, nowhere else (fake credentials, no profile,
no ~/.aws files, no instance metadata), applied to os.environ for a block, restored exactly after.

The function has no local-only code path: boto3 honours the standard endpoint variables by itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from local.account import LOCAL_REGION

# Variables that would point the SDK at real AWS or at a profile of the person running the demo.
_ISOLATED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def local_sdk_environment(
    aws_endpoint_url: str,
    connect_endpoint_url: str,
    work_dir: Path,
    dynamodb_endpoint_url: str | None = None,
    lambda_endpoint_url: str | None = None,
) -> dict[str, str | None]:
    """Environment that points every boto3 client at the local endpoints; None means 'unset'."""
    environment: dict[str, str | None] = dict.fromkeys(_ISOLATED_VARIABLES)
    environment |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        # No ~/.aws files and no instance metadata: the demo must not find real credentials or settings.
        "AWS_CONFIG_FILE": str(work_dir / "aws-config-not-used"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work_dir / "aws-credentials-not-used"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # boto3's standard endpoint variables (named after each service's serviceId); the catch-all sends
        # any other service to moto rather than to AWS.
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ENDPOINT_URL_SQS": aws_endpoint_url,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": aws_endpoint_url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint_url or aws_endpoint_url,
        "AWS_ENDPOINT_URL_CONNECT": connect_endpoint_url,
    }
    if lambda_endpoint_url is not None:
        # Lambda's Invoke of the local functions (local/lambda_endpoint.py): moto's Lambda would need Docker.
        environment["AWS_ENDPOINT_URL_LAMBDA"] = lambda_endpoint_url
    return environment


def apply_environment(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """Return base with changes applied (a None value removes the variable)."""
    result = dict(base)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@contextmanager
def scoped_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply changes to os.environ for the duration of the block, then restore it exactly."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(apply_environment(saved, changes))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
