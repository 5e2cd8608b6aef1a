"""The function's per-record time reserve holds botocore's real worst case, and the stack's timeout fits a batch."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.retries.standard import ExponentialBackoff, RetryContext

from infra.context_loading import settings_from_context
from outbound_caller.clients import client_config
from outbound_caller.timeouts import (
    CONNECT_CONNECT_TIMEOUT_SECONDS,
    CONNECT_READ_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    MAX_TOTAL_BACKOFF_SECONDS,
    RECORD_TIME_RESERVE_SECONDS,
    WORST_CASE_CALL_SECONDS,
)

BASE_CONTEXT = {
    "connectInstanceId": "11111111-2222-4333-8444-555555555555",
    "connectContactFlowId": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    "sourcePhoneNumber": "+15550100000",
}
# An x-amz-retry-after far beyond anything botocore accepts: the backoff's own cap decides.
ENORMOUS_RETRY_AFTER_MS = str(3_600_000)


class _AlwaysThrottled:
    """botocore's throttling detector, answering 'throttled': the slowest backoff scale (1 s, not 50 ms)."""

    def is_throttling_error_from_context(self, context: Any) -> bool:
        return True


def _botocore_worst_backoff(service_name: str) -> float:
    """Sum botocore's own standard-mode delays between MAX_ATTEMPTS attempts at their longest."""
    backoff = ExponentialBackoff(random=lambda: 1.0, service_name=service_name, throttling_detector=_AlwaysThrottled())
    response = AWSResponse("https://example.com", 429, {"x-amz-retry-after": ENORMOUS_RETRY_AFTER_MS}, None)
    return sum(
        backoff.delay_amount(RetryContext(attempt_number=attempt, http_response=response))
        for attempt in range(1, MAX_ATTEMPTS)
    )


@pytest.mark.parametrize("service_name", ["connect", "dynamodb", "sqs"])
def test_the_backoff_budget_is_botocores_real_worst_case(service_name: str) -> None:
    # Given botocore's standard backoff, every retry throttled with an x-amz-retry-after header asking for an hour
    # When its delays between the function's attempts are summed
    worst = _botocore_worst_backoff(service_name)
    # Then the function's budget is exactly that (a tighter one would be overrun, a looser one wastes the batch)
    assert worst == pytest.approx(MAX_TOTAL_BACKOFF_SECONDS)


def test_the_clients_retry_as_many_times_as_the_budget_assumes() -> None:
    # Given the botocore configuration every client of the function is built with
    config: Config = client_config(CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS)
    # Then standard mode with the budget's attempts, and the Connect call's timeouts are the budget's
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}  # type: ignore[attr-defined]
    assert (
        MAX_ATTEMPTS
        * (
            config.connect_timeout + config.read_timeout  # type: ignore[attr-defined]
        )
        + _botocore_worst_backoff("connect")
        == WORST_CASE_CALL_SECONDS
    )


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
