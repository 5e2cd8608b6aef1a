"""Speed and memory targets of the function's own work, separate from Connect's and SQS's latency.

Targets (on the 2-core machine CI uses): validating a request well under a millisecond; the function's
overhead per placed call a small fraction of the 1 s a call waits for its quota turn at the default share;
a 10,000-record batch (the largest an SQS event source sends) handled in bounded memory, with its
placed-calls records written to moto's DynamoDB.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from outbound_caller.config import load_settings
from outbound_caller.envelopes import CallRequestRecord, parse_delivery
from tests.support.connect_stub import ConnectStub
from tests.support.environment import FUNCTION_ENVIRONMENT
from tests.support.lambda_events import eventbridge_body, sqs_record

# Budgets, in seconds and bytes.
VALIDATION_BUDGET_SECONDS = 0.0005
PER_CALL_OVERHEAD_BUDGET_SECONDS = 0.01
LARGEST_BATCH = 10_000
# tracemalloc sees the whole process, so this peak includes moto's in-process SQS and DynamoDB (about
# 22 MiB of stored items after a 10,000-record batch, against 0.6 MiB the function's own modules keep).
# Half of the 256 MB the stack gives the function leaves room for what the stand-ins hide.
LARGEST_BATCH_MEMORY_BUDGET_BYTES = 128 * 1024 * 1024

FULL_REQUEST = {
    "DestinationPhoneNumber": "+14155550123",
    "Attributes": {f"key{i}": "v" * 40 for i in range(20)},
    "References": {"order": {"Type": "URL", "Value": "https://orders.example.com/A-1042"}},
    "Name": "Delivery confirmation",
    "RingTimeoutInSeconds": 30,
    "TrafficType": "GENERAL",
}


def test_validating_an_eventbridge_request(benchmark: Any) -> None:
    # Given a full request inside an EventBridge event
    settings = load_settings(FUNCTION_ENVIRONMENT)
    record = CallRequestRecord.model_validate(sqs_record(eventbridge_body(FULL_REQUEST), message_id="m-1"))
    # When it is parsed and validated, many times
    delivery = benchmark(parse_delivery, record, settings)
    # Then it is valid, and the mean time is within budget
    assert delivery.request.TrafficType == "GENERAL"
    assert benchmark.stats.stats.mean < VALIDATION_BUDGET_SECONDS


def test_handler_overhead_per_placed_call(benchmark: Any, invoke: Any, connect: ConnectStub) -> None:
    # Given a batch of 10 valid requests and Connect answering at once
    records = [sqs_record(json.dumps(FULL_REQUEST), message_id=f"b-{i}") for i in range(10)]
    # When the handler runs it, many times
    response = benchmark(invoke, *records)
    # Then every call is placed and the function's own time per call is within budget
    assert response == {"batchItemFailures": []}
    assert benchmark.stats.stats.mean / len(records) < PER_CALL_OVERHEAD_BUDGET_SECONDS


@pytest.mark.benchmark(min_rounds=1, max_time=1)
def test_largest_batch_memory(invoke: Any, connect: ConnectStub) -> None:
    # Given the largest batch an SQS event source delivers, every record valid
    records = [sqs_record(json.dumps(FULL_REQUEST), message_id=f"big-{i}") for i in range(LARGEST_BATCH)]
    # When the handler runs it while memory is traced
    tracemalloc.start()
    response = invoke(*records)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Then every record is settled and the peak stays within budget
    assert response == {"batchItemFailures": []}
    assert len(connect.placed) == LARGEST_BATCH
    assert peak < LARGEST_BATCH_MEMORY_BUDGET_BYTES, f"peak {peak / 2**20:.1f} MiB"
