"""What a side's run cost per placed call, in the requests AWS bills: SQS requests on the deployment's queues, Lambda
invocations (the caller's and the completion function's), DynamoDB reads and writes, and Connect's metric reads.

Counted at local AWS (local/aws_requests.py) from the clock's start to the run's end: the load's own sends before it
and the harness's looks (queue depths, the result queue) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.scenarios import SideRun
from local.aws_requests import DYNAMODB_READS, DYNAMODB_WRITES, dynamodb_requests, sqs_requests

# The harness's own look at a queue's depth; the function never asks for it.
HARNESS_SQS_OPERATIONS = ("AmazonSQS.GetQueueAttributes",)


@dataclass(frozen=True)
class CostLine:
    """A run's billed requests, and the calls they placed."""

    calls_placed: int
    sqs_requests: int
    caller_invocations: int
    completion_invocations: int
    dynamodb_reads: int
    dynamodb_writes: int
    metrics_requests: int  # GetCurrentMetricData

    @property
    def lambda_invocations(self) -> int:
        """The caller's invocations and the completion function's."""
        return self.caller_invocations + self.completion_invocations

    def per_call(self, count: int) -> float | None:
        """``count`` per call placed; None when no call was."""
        return count / self.calls_placed if self.calls_placed else None

    def to_json(self) -> dict[str, Any]:
        """The totals and the figures per placed call, as results.json holds them."""
        totals = {
            "sqs_requests": self.sqs_requests,
            "lambda_invocations": self.lambda_invocations,
            "caller_invocations": self.caller_invocations,
            "completion_invocations": self.completion_invocations,
            "dynamodb_reads": self.dynamodb_reads,
            "dynamodb_writes": self.dynamodb_writes,
            "get_current_metric_data": self.metrics_requests,
        }
        per_call = {name: self.per_call(count) for name, count in totals.items()}
        return {
            "totals": totals,
            "per_placed_call": {name: None if value is None else round(value, 2) for name, value in per_call.items()},
        }


def cost_line(run: SideRun) -> CostLine:
    """The billed requests of a side's run."""
    counts = run.aws_requests
    sqs = sqs_requests(counts, run.deployment_queues) - sum(
        count
        for key, count in counts.items()
        if key.split(" ", 1)[0] in HARNESS_SQS_OPERATIONS and key.rsplit(" ", 1)[-1] in run.deployment_queues
    )
    return CostLine(
        calls_placed=len(run.placed_calls),
        sqs_requests=sqs,
        caller_invocations=run.result.event_source.invocations,
        completion_invocations=run.completion_invocations,
        dynamodb_reads=dynamodb_requests(counts, DYNAMODB_READS),
        dynamodb_writes=dynamodb_requests(counts, DYNAMODB_WRITES),
        metrics_requests=run.metrics_requests,
    )
