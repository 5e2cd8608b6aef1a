"""The CloudWatch metrics the function emits (Powertools EMF) and Amazon Connect's, as the stack's alarms and
dashboard read them.

The function's metrics carry Powertools' `service` dimension on every datapoint (plus `ErrorCode` or `Reason` on
the counted outcomes): a metric asked for with other dimensions is another metric, which never has data.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from outbound_caller.names import (
    CALLS_PLACED,
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE_NAME,
    ERROR_CODE_DIMENSION,
    FUNCTION_TIMEOUT_TOO_SHORT,
    PLACED_CALL_RECORDS_PENDING,
    REASON_DIMENSION,
    SERVICE_DIMENSION,
)

# Amazon Connect's instance metrics, sent every minute (Connect Administrator Guide, "Monitoring your instance
# using CloudWatch"): voice-call metrics carry the dimensions InstanceId and MetricGroup=VoiceCalls.
CONNECT_NAMESPACE = "AWS/Connect"
CONNECT_VOICE_CALLS_METRIC_GROUP = "VoiceCalls"
# Calls Connect rejected because the instance's call rate was over its quota, and calls over the concurrent
# active calls quota: both mean the function's pacing (callsPerSecond, concurrentCallsLimit) is above the instance's.
CONNECT_THROTTLED_CALLS = "ThrottledCalls"
CONNECT_CALLS_BREACHING_CONCURRENCY_QUOTA = "CallsBreachingConcurrencyQuota"
# Concurrent active voice calls on the instance, as a count and as a percentage of its quota.
CONNECT_CONCURRENT_CALLS = "ConcurrentCalls"
CONNECT_CONCURRENT_CALLS_PERCENTAGE = "ConcurrentCallsPercentage"


class FunctionMetrics:
    """The function's own metrics, in its namespace and under its service name."""

    def __init__(self, namespace: str = DEFAULT_METRICS_NAMESPACE, service: str = DEFAULT_SERVICE_NAME) -> None:
        self.namespace = namespace
        self.service = service

    def metric(self, name: str, *, period: Duration, statistic: str = "Sum", **dimensions: str) -> cloudwatch.Metric:
        """One of the function's metrics, with the service dimension Powertools adds and the given others."""
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={SERVICE_DIMENSION: self.service, **dimensions},
            statistic=statistic,
            period=period,
        )

    def by_error_code(self, name: str, error_code: str, *, period: Duration) -> cloudwatch.Metric:
        """CallsDeadLettered or CallsRetried for one ErrorCode."""
        return self.metric(name, period=period, **{ERROR_CODE_DIMENSION: error_code})

    def placed(self, *, period: Duration) -> cloudwatch.Metric:
        """Calls placed (Connect answered with a ContactId)."""
        return self.metric(CALLS_PLACED, period=period)

    def records_pending(self, *, period: Duration) -> cloudwatch.Metric:
        """The most placed calls one container still had to record in the placed-calls table."""
        return self.metric(PLACED_CALL_RECORDS_PENDING, period=period, statistic="Maximum")

    def timeout_too_short(self, *, period: Duration) -> cloudwatch.Metric:
        """Invocations whose function timeout could not hold one record's time reserve (every record handed back)."""
        return self.metric(FUNCTION_TIMEOUT_TOO_SHORT, period=period)

    def sum_over_error_codes(self, name: str, *, period: Duration, label: str) -> cloudwatch.MathExpression:
        """CallsDeadLettered or CallsRetried summed over every ErrorCode, as one series an alarm can watch.

        A Metrics Insights query: ErrorCode takes Connect's own error codes too, which no list here can name,
        and an alarm cannot use SEARCH.
        """
        # A CloudWatch Metrics Insights query from the stack's own names, not SQL and not anyone's input.
        schema = f'SCHEMA("{self.namespace}", {ERROR_CODE_DIMENSION}, {SERVICE_DIMENSION})'
        where = f"{SERVICE_DIMENSION} = '{self.service}'"
        query = f"SELECT SUM({name}) FROM {schema} WHERE {where}"  # noqa: S608
        return cloudwatch.MathExpression(expression=query, period=period, label=label)

    def search_by_error_code(self, name: str, *, period: Duration) -> cloudwatch.MathExpression:
        """One series per ErrorCode of CallsDeadLettered or CallsRetried, whichever codes have occurred."""
        return self._search(name, ERROR_CODE_DIMENSION, period=period)

    def search_by_reason(self, name: str, *, period: Duration) -> cloudwatch.MathExpression:
        """One series per reason CallsDeferred was counted under."""
        return self._search(name, REASON_DIMENSION, period=period)

    def _search(self, name: str, dimension: str, *, period: Duration) -> cloudwatch.MathExpression:
        schema = f"{{{self.namespace},{dimension},{SERVICE_DIMENSION}}}"
        return cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{schema} MetricName=\"{name}\" {SERVICE_DIMENSION}=\"{self.service}\"', 'Sum',"
                f" {int(period.to_seconds())})"
            ),
            period=period,
            # SEARCH labels each series with its dimension value when the expression's own label is empty.
            label="",
        )


def connect_metric(name: str, instance_id: str, *, statistic: str, period: Duration) -> cloudwatch.Metric:
    """One of Amazon Connect's voice-call metrics for the configured instance."""
    return cloudwatch.Metric(
        namespace=CONNECT_NAMESPACE,
        metric_name=name,
        dimensions_map={"InstanceId": instance_id, "MetricGroup": CONNECT_VOICE_CALLS_METRIC_GROUP},
        statistic=statistic,
        period=period,
    )
