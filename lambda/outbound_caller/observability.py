"""The function's logger, tracer and metrics, shared by its modules."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from outbound_caller.names import (
    AGENT_METRICS_READ,
    AGENT_METRICS_UNAVAILABLE,
    CALLS_DEFERRED,
    CALLS_PARKED,
    CALLS_PLACED,
    CALLS_SUPPRESSED,
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE_NAME,
    ERROR_CODE_DIMENSION,
    FUNCTION_TIMEOUT_TOO_SHORT,
    PLACED_CALL_RECORDS_PENDING,
    REASON_DIMENSION,
    SERVICE_DIMENSION,
)

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE

logger = Logger(service=SERVICE)
# No automatic patching: the X-Ray SDK's botocore patch records each AWS error's raw message in the
# trace, and Connect's messages can quote the destination number. Records are traced one by one instead.
tracer = Tracer(service=SERVICE, auto_patch=False)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# At DEBUG, botocore logs whole requests (phone numbers, attribute values): keep it quiet whatever the
# function's own log level is.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def count_suppressed() -> None:
    """Count a request whose destination is on the suppression list."""
    metrics.add_metric(name=CALLS_SUPPRESSED, unit=MetricUnit.Count, value=1)


def count_agent_metrics(*, read: bool) -> None:
    """One read of a queue's available agents, or one that failed."""
    metrics.add_metric(name=AGENT_METRICS_READ if read else AGENT_METRICS_UNAVAILABLE, unit=MetricUnit.Count, value=1)


def count_parked() -> None:
    """One request more waits in the waiting room for a slot of the full instance."""
    metrics.add_metric(name=CALLS_PARKED, unit=MetricUnit.Count, value=1)


def count_placed() -> None:
    """Count a placed call in the invocation's metric set."""
    metrics.add_metric(name=CALLS_PLACED, unit=MetricUnit.Count, value=1)


def count_by_error_code(metric_name: str, error_code: str) -> None:
    """Count a dead-lettered or retried record under its ErrorCode, a small, fixed set of values."""
    _count_by(metric_name, ERROR_CODE_DIMENSION, error_code)


def count_deferred(reason: str) -> None:
    """Count a deferred record under its reason, a small, fixed set of values."""
    _count_by(CALLS_DEFERRED, REASON_DIMENSION, reason)


def _count_by(metric_name: str, dimension: str, value: str) -> None:
    with single_metric(
        name=metric_name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={SERVICE_DIMENSION: SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


def count_function_timeout_too_short() -> None:
    """Count an invocation whose function timeout cannot hold one record's time reserve (every record handed back)."""
    metrics.add_metric(name=FUNCTION_TIMEOUT_TOO_SHORT, unit=MetricUnit.Count, value=1)


def count_pending_records(pending: int) -> None:
    """Report how many placed calls still wait for their record to be completed in this container."""
    metrics.add_metric(name=PLACED_CALL_RECORDS_PENDING, unit=MetricUnit.Count, value=pending)
    if pending:
        logger.error("Placed-call records still to be completed", extra={"pending_records": pending})
