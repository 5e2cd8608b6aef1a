"""The function's per-record time reserve and the stack's derived timeout agree, so a full batch fits."""

from __future__ import annotations

import pytest

from infra.settings import settings_from_context
from outbound_caller.timeouts import (
    RECORD_TIME_RESERVE_SECONDS,
    SETTLE_SECONDS,
    WORST_CASE_CALL_SECONDS,
    WORST_CASE_DEAD_LETTER_SECONDS,
    WORST_CASE_IDEMPOTENCY_SECONDS,
)

BASE_CONTEXT = {
    "connectInstanceId": "11111111-2222-4333-8444-555555555555",
    "connectContactFlowId": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    "sourcePhoneNumber": "+15550100000",
}


def test_the_reserve_covers_everything_one_record_may_do() -> None:
    # Given the worst case of each AWS call one record can make: the Connect call (3 x (2 + 5) + 3), two
    # idempotency writes (2 x (3 x (1 + 2) + 3)), a dead-letter send (3 x (1 + 2) + 3), and settling
    worst_cases = (WORST_CASE_CALL_SECONDS, WORST_CASE_IDEMPOTENCY_SECONDS, WORST_CASE_DEAD_LETTER_SECONDS)
    # Then the reserve kept before each record covers all of them
    assert (*worst_cases, SETTLE_SECONDS) == (24, 24, 12, 2)
    assert RECORD_TIME_RESERVE_SECONDS == 62


@pytest.mark.parametrize(
    ("batch_size", "calls_per_second", "max_concurrency", "window"),
    [(10, 2, 2, 0), (1, 2, 2, 0), (100, 2, 2, 5), (50, 10, 5, 1), (10, 0.5, 2, 0)],
)
def test_a_full_batch_is_paced_inside_the_function_timeout(
    batch_size: int, calls_per_second: float, max_concurrency: int, window: int
) -> None:
    # Given a deployment's batch size and quota share
    settings = settings_from_context(
        {
            **BASE_CONTEXT,
            "batchSize": batch_size,
            "callsPerSecond": calls_per_second,
            "maxConcurrency": max_concurrency,
            "batchingWindowSeconds": window,
        }
    )
    # When a full batch is paced at the per-invocation rate
    pacing_seconds = batch_size / (calls_per_second / max_concurrency)
    # Then every record starts before the function's per-record reserve kicks in
    assert pacing_seconds + RECORD_TIME_RESERVE_SECONDS <= settings.function_timeout_seconds
