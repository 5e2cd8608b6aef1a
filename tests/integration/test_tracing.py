"""Tracing must not copy AWS error messages (Connect's may quote the destination) into X-Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"

PROBE = """
import aws_xray_sdk.core.patcher as patcher
import outbound_caller.handler
print(sorted(patcher._PATCHED_MODULES))
"""


def test_botocore_is_not_patched_when_tracing_is_on() -> None:
    # Given the function starting with active tracing, as deployed
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(LAMBDA_ROOT),  # Powertools only traces inside Lambda
        "PYTHONPATH": str(LAMBDA_ROOT),
    }
    # When its handler module is imported
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    # Then X-Ray has patched nothing: its botocore patch would record Connect's raw error messages
    assert result.stdout.strip() == "[]"
