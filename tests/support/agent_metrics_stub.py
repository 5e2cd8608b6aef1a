"""Amazon Connect's GetCurrentMetricData (AGENTS_AVAILABLE per queue) at the HTTP layer, behind the real botocore
client: the agents each queue has available now, as Connect would report them, and its own quota's throttling."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from tests.support.connect_stub import _RawBody


@dataclass
class AgentMetricsStub:
    """Answers GetCurrentMetricData for the queues it knows; counts every read."""

    available: dict[str, int] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    # While set, every read is throttled (HTTP 429 TooManyRequestsException), after botocore's own retries too.
    throttled: bool = False

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        body = json.loads(request.body or b"{}")
        [queue] = body["Filters"]["Queues"]
        assert body["Filters"]["Channels"] == ["VOICE"]
        assert body["CurrentMetrics"] == [{"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"}]
        self.reads.append(queue)
        if self.throttled:
            headers = {"x-amzn-ErrorType": "TooManyRequestsException:", "content-type": "application/json"}
            return AWSResponse(request.url, 429, headers, _RawBody(b'{"Message": "Rate exceeded"}'))
        results = []
        if queue in self.available:
            results.append(
                {
                    "Dimensions": {
                        "Queue": {"Id": queue, "Arn": f"arn:aws:connect:us-east-1:123456789012:queue/{queue}"}
                    },
                    "Collections": [
                        {"Metric": {"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"}, "Value": float(self.available[queue])}
                    ],
                }
            )
        payload = json.dumps({"MetricResults": results, "DataSnapshotTime": 1_795_000_000.0}).encode()
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, _RawBody(payload))

    def install(self, client: Any) -> None:
        """Answer the client's GetCurrentMetricData requests."""
        client.meta.events.register_first("before-send.connect.GetCurrentMetricData", self, unique_id="metrics-stub")
