"""Lambda's SQS event as the local event source builds it and reads the function's answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from local.function_container import (
    SUCCEEDED,
)
from local.sqs_event import failed_message_ids
from tests.support.event_source_harness import (
    VISIBILITY_TIMEOUT_SECONDS,
    Harness,
    event_source_harness,
    wait_for,
)


@pytest.fixture
def harness(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Queues as the stack configures them, with maxReceiveCount 2 and a 2 s visibility timeout.

    A test can ask for another visibility timeout with @pytest.mark.parametrize("harness", [seconds], indirect=True).
    """
    with event_source_harness(tmp_path, getattr(request, "param", VISIBILITY_TIMEOUT_SECONDS)) as harness:
        yield harness


def test_records_are_the_sqs_event_lambda_would_send(harness: Harness) -> None:
    # Given two messages on the queue, one with a message attribute
    harness.send({"do": "ok"}, {"do": "ok"}, Source="crm")
    # When the runner invokes the function
    runner = harness.start(timeout=10)
    wait_for(harness.queue_is_empty)
    # Then the event parses as Powertools' model of a Lambda SQS event and carries the queue's details
    [invocation] = harness.invocations()
    event = SqsModel.model_validate(invocation["event"])
    assert len(event.Records) == 2
    record = event.Records[0]
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == harness.intake.queue_arn
    assert record.attributes.ApproximateReceiveCount == "1"
    assert record.messageAttributes["Source"].stringValue == "crm"
    # And the context counts down from the function timeout
    assert 0 < invocation["remaining_ms"] <= 10_000
    # And both records were deleted after success
    stats = runner.stats
    assert (stats.invocations, stats.records_deleted, stats.outcomes[SUCCEEDED]) == (1, 2, 1)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": "a"}, None),
        ("a", None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(response: Any, expected: set[str] | None) -> None:
    # Given a batch of messages a and b / When the function answers / Then these records are retried (None: all)
    assert failed_message_ids(response, {"a", "b"}) == expected
