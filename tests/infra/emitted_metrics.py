"""What the function really emits: its metric code run with the deployed environment, its EMF lines parsed.

The code runs in a child process: the function reads its namespace and service name when its observability
module is imported, and this test run has already imported it with the tests' own environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk.assertions import Template

from infra.repository import REPO_ROOT
from tests.infra.scopes import under

# Every way the function counts an outcome, as settlement, the record handler and the handler call them; and the
# opt-out function's own handler changing the list once (its collaborators stand-ins: no AWS call is made).
_EMIT = """
from outbound_caller import observability
from outbound_caller.names import CALLS_DEAD_LETTERED, CALLS_RETRIED
from outbound_caller.decisions import (
    IDEMPOTENCY_STORE_ERROR, INSTANCE_AT_CAPACITY, OUTCOME_UNKNOWN, RETRIES_EXHAUSTED, SUPPRESSION_LIST_UNAVAILABLE,
)
from outbound_caller.results.publisher import ResultEvents

observability.count_by_error_code(CALLS_DEAD_LETTERED, OUTCOME_UNKNOWN)
observability.count_by_error_code(CALLS_DEAD_LETTERED, RETRIES_EXHAUSTED)
observability.count_by_error_code(CALLS_RETRIED, IDEMPOTENCY_STORE_ERROR)
observability.count_by_error_code(CALLS_RETRIED, SUPPRESSION_LIST_UNAVAILABLE)
observability.count_deferred(INSTANCE_AT_CAPACITY)
observability.count_placed()
observability.count_suppressed()
observability.count_pending_records(1)
observability.count_function_timeout_too_short()
observability.count_parked()
observability.count_agent_metrics(read=True)
observability.count_agent_metrics(read=False)
# A result event the publisher must give up on (one it cannot serialize: no AWS call needed to lose it).
ResultEvents(None, "results").add("Outbound Call Placed", {"ContactId": object()})

from outbound_caller.optout.handler import change_list
from outbound_caller.optout.collaborators import OptOut

class Listed:
    def add(self, number, origin):
        return "hmac-sha256:00"

change_list({"Operation": "add", "PhoneNumbers": ["+442079460123"]}, None, OptOut(None, Listed(), None))
observability.metrics.flush_metrics()
"""
# What the opt-out handler's module needs to be imported (it builds its collaborators at import; none is called).
_OPT_OUT_IMPORT_ENVIRONMENT = {
    "SUPPRESSION_TABLE_NAME": "suppression-list",
    "SUPPRESSION_KEY_SECRET_ID": "suppression-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class EmittedMetric:
    """One metric of an EMF line: its namespace, name and dimensions with their values."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]


def function_environment(template: Template) -> dict[str, str]:
    """The function's environment variables that are plain strings in the template."""
    (function,) = under(template, "AWS::Lambda::Function", "Caller").values()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def emitted_metrics(template: Template) -> list[EmittedMetric]:
    """Run the function's metric code with the template's Powertools settings; return every metric it printed."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("POWERTOOLS_")}
    deployed = function_environment(template)
    environment |= {name: value for name, value in deployed.items() if name.startswith("POWERTOOLS_")}
    environment |= _OPT_OUT_IMPORT_ENVIRONMENT | {"PYTHONPATH": str(REPO_ROOT / "lambda")}
    run = subprocess.run(
        [sys.executable, "-c", _EMIT], env=environment, capture_output=True, text=True, check=True, timeout=60
    )
    metrics = []
    for line in run.stdout.splitlines():
        document = json.loads(line)
        if "_aws" not in document:
            continue  # a log line
        for directive in document["_aws"]["CloudWatchMetrics"]:
            (dimension_names,) = directive["Dimensions"]
            dimensions = {name: document[name] for name in dimension_names}
            metrics += [
                EmittedMetric(directive["Namespace"], metric["Name"], dimensions) for metric in directive["Metrics"]
            ]
    return metrics


def resolve_join(value: Any) -> str:
    """A template string with its Fn::Join flattened; references shown as ${Ref:Id} or ${Id.Attribute}."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve_join(part) for part in parts)
    if "Ref" in value:
        return f"${{Ref:{value['Ref']}}}"
    if "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"${{{resource}.{attribute}}}"
    raise AssertionError(f"unexpected intrinsic in a string: {value}")
