"""Benchmarks run with the test environment and fixtures: moto SQS, Connect behind the real botocore client."""

from __future__ import annotations

import tests.conftest  # noqa: F401 - sets the function's environment before it is imported
from tests.integration.conftest import aws, connect, dead_letters, invoke, no_backoff  # noqa: F401
