"""GetCurrentMetricData on the local Connect: the agents of its staffed queues (local/connect_agents.py) as Connect
reports them, behind the operation's own quota, with a knob that makes it fail.

The answer has the shape botocore parses (MetricResults of Dimensions and Collections, DataSnapshotTime in epoch
seconds); only the agent metrics the local queues can know are served.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from local.connect_agents import AgentQueues
from local.connect_behaviour import DEFAULT_METRICS_BURST, DEFAULT_METRICS_PER_SECOND
from local.connect_errors import ConnectError, internal_error
from local.connect_rules import TokenBucket

AGENTS_AVAILABLE = "AGENTS_AVAILABLE"
AGENTS_ONLINE = "AGENTS_ONLINE"
AGENTS_ON_CONTACT = "AGENTS_ON_CONTACT"
SERVED_METRICS = (AGENTS_AVAILABLE, AGENTS_ONLINE, AGENTS_ON_CONTACT)
QUEUE_GROUPING = "QUEUE"
# The answers counted by CurrentMetricsService.answers besides the error codes.
ANSWERED_METRICS = "Answered"


class CurrentMetricsService:
    """Answers GetCurrentMetricData from the queues; the instance calls it under its own lock."""

    def __init__(
        self,
        queues: AgentQueues,
        *,
        instance_arn: str,
        per_second: float = DEFAULT_METRICS_PER_SECOND,
        burst: int = DEFAULT_METRICS_BURST,
        failure_rate: float = 0.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queues = queues
        self._instance_arn = instance_arn
        self._bucket = TokenBucket(per_second, burst, clock)
        self._failure_rate = failure_rate
        # Its own random source: reading the metrics never shifts the draws of the calls' lengths and outcomes.
        self._random = random.Random(seed)
        self._clock = clock
        self.answers: Counter[str] = Counter()  # ANSWERED_METRICS or the error code answered

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """GetCurrentMetricData's answer, or ConnectError: ThrottlingException beyond the quota, an injected
        InternalServiceException, InvalidParameterException for a request the local queues cannot answer."""
        try:
            result = self._answer(request)
        except ConnectError as error:
            self.answers[error.code] += 1
            raise
        self.answers[ANSWERED_METRICS] += 1
        return result

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        if not self._bucket.try_take():
            # The API model lists ThrottlingException (429) for this operation, as for the call quota.
            raise ConnectError("ThrottlingException", "Rate exceeded")
        if self._failure_rate and self._random.random() < self._failure_rate:
            raise internal_error()
        filters = request.get("Filters") or {}
        queue_ids = filters.get("Queues") if isinstance(filters, dict) else None
        if not isinstance(queue_ids, list) or not queue_ids:
            raise ConnectError("InvalidParameterException", "Filters must name at least one queue")
        metrics = request.get("CurrentMetrics")
        if not isinstance(metrics, list) or not metrics:
            raise ConnectError("InvalidParameterException", "CurrentMetrics must name at least one metric")
        names = [metric.get("Name") if isinstance(metric, dict) else None for metric in metrics]
        unserved = [name for name in names if name not in SERVED_METRICS]
        if unserved:
            raise ConnectError("InvalidParameterException", f"Metric not served locally: {unserved[0]}")
        now = self._clock()
        by_queue = QUEUE_GROUPING in (request.get("Groupings") or [])
        staffed = [queue_id for queue_id in queue_ids if self._queues.routes(queue_id)]
        results: list[dict[str, Any]] = []
        if by_queue:
            results = [
                {
                    "Dimensions": {"Queue": {"Id": queue_id, "Arn": f"{self._instance_arn}/queue/{queue_id}"}},
                    "Collections": self._collections(names, [queue_id], now),
                }
                for queue_id in staffed
            ]
        elif staffed:
            results = [{"Collections": self._collections(names, staffed, now)}]
        return {"MetricResults": results, "DataSnapshotTime": time.time(), "ApproximateTotalCount": len(results)}

    def _collections(self, names: list[Any], queue_ids: list[str], now: float) -> list[dict[str, Any]]:
        """Each metric asked for, summed over the queues."""
        online = sum(self._queues.online(queue_id) for queue_id in queue_ids)
        available = sum(self._queues.available(queue_id, now) for queue_id in queue_ids)
        values = {AGENTS_ONLINE: online, AGENTS_AVAILABLE: available, AGENTS_ON_CONTACT: online - available}
        return [{"Metric": {"Name": name, "Unit": "COUNT"}, "Value": float(values[name])} for name in names]
