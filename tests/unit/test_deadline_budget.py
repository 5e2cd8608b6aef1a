"""The function's deadline reserve and the stack's derived timeout agree, so a full batch always fits."""

from __future__ import annotations

import pytest

from infra.settings import WORST_CASE_CALL_SECONDS, settings_from_context
from outbound_caller.calls import WORST_CASE_CALL_SECONDS as FUNCTION_WORST_CASE_CALL_SECONDS
from outbound_caller.record_handler import REQUIRED_REMAINING_MS

BASE_CONTEXT = {
    "connectInstanceId": "11111111-2222-4333-8444-555555555555",
    "connectContactFlowId": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    "sourcePhoneNumber": "+15550100000",
}


def test_the_stack_reserves_at_least_what_the_function_keeps_back() -> None:
    # Given the function's worst-case call and the time it keeps back before each record
    # Then the stack budgets at least that much for the last call of a batch
    assert WORST_CASE_CALL_SECONDS >= FUNCTION_WORST_CASE_CALL_SECONDS
    assert WORST_CASE_CALL_SECONDS * 1000 >= REQUIRED_REMAINING_MS


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
    # Then every call starts before the function's deadline reserve kicks in
    assert pacing_seconds + REQUIRED_REMAINING_MS / 1000 <= settings.function_timeout_seconds
