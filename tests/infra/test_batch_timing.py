"""How long a batch may take: the function's timeout from a full batch's pacing, the queue's visibility timeout from
that, and the batches too slow for Lambda's 900 s refused."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.batch_timing import MAX_FUNCTION_TIMEOUT_SECONDS, VISIBILITY_TIMEOUT_FACTOR
from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS
from tests.infra.contexts import MINIMAL


def test_derived_timeouts_follow_batch_size_and_per_invocation_rate() -> None:
    # Given 100-record batches at 10 calls/s shared by 5 invocations (2 calls/s each)
    settings = settings_from_context(
        MINIMAL | {"batchSize": 100, "batchingWindowSeconds": 10, "callsPerSecond": 10, "maxConcurrency": 5}
    )
    # When the derived numbers are read
    # Then a batch's 50 s of pacing gets double headroom, plus the whole reserve of one slow record (the function's
    # own per-record reserve: call, ledger writes, dead-letter send) and that of the last record; SQS's 6x rule holds
    assert settings.pacing.calls_per_second == 2
    assert settings.function_timeout_seconds == 2 * 50 + 2 * RECORD_TIME_RESERVE_SECONDS
    assert settings.visibility_timeout_seconds == VISIBILITY_TIMEOUT_FACTOR * settings.function_timeout_seconds + 10


def test_a_slow_record_spending_its_whole_reserve_leaves_the_rest_of_the_batch_theirs() -> None:
    # Given the default batch of 10 at 1 call/s per invocation
    settings = settings_from_context(MINIMAL)
    pacing_seconds = 10 / 1
    # When one record spends all of its reserve, on top of the batch's doubled pacing
    after_slow_record = settings.function_timeout_seconds - 2 * pacing_seconds - RECORD_TIME_RESERVE_SECONDS
    # Then a full reserve is still left for the last record, so no healthy record is handed back unplaced
    assert after_slow_record >= RECORD_TIME_RESERVE_SECONDS


def test_largest_batch_that_fits_is_accepted_and_one_more_is_refused() -> None:
    # Given the largest batch the rate allows within Lambda's 900 s
    settings = settings_from_context(MINIMAL | {"batchSize": 20, "batchingWindowSeconds": 1})
    largest = settings.pacing.max_batch_size
    # When it and the next size up are validated
    fits = settings_from_context(MINIMAL | {"batchSize": largest, "batchingWindowSeconds": 1})
    # Then the first fits within 900 s and the second is refused, naming batchSize, callsPerSecond and the largest
    assert fits.function_timeout_seconds <= MAX_FUNCTION_TIMEOUT_SECONDS
    with pytest.raises(InvalidDeploymentSettings, match=r"batchSize=\d+.*callsPerSecond") as refused:
        settings_from_context(MINIMAL | {"batchSize": largest + 1, "batchingWindowSeconds": 1})
    assert f"lower batchSize to at most {largest} " in str(refused.value)
    assert f"{RECORD_TIME_RESERVE_SECONDS} s for one slow record" in str(refused.value)


def test_a_rate_too_low_for_even_one_record_is_refused_without_suggesting_batch_size_zero() -> None:
    # Given a per-invocation rate so low that one record's pacing alone outlasts Lambda's 900 s
    context = MINIMAL | {"callsPerSecond": 0.002, "maxConcurrency": 2, "batchSize": 1}
    # When it is validated
    with pytest.raises(InvalidDeploymentSettings) as refused:
        settings_from_context(context)
    # Then the message asks for a higher rate, not for a batch of 0
    assert "not even a batch of 1 fits" in str(refused.value)
    assert "at most 0" not in str(refused.value)


@given(
    calls_per_second=st.floats(min_value=0.01, max_value=1000, allow_nan=False),
    max_concurrency=st.integers(min_value=2, max_value=1000),
    batch_size=st.integers(min_value=1, max_value=10_000),
    batching_window_seconds=st.integers(min_value=1, max_value=300),
)
def test_any_accepted_settings_give_a_full_batch_time_within_lambdas_limit(
    calls_per_second: float, max_concurrency: int, batch_size: int, batching_window_seconds: int
) -> None:
    # Given any rate, concurrency, batch size and window
    context = MINIMAL | {
        "callsPerSecond": calls_per_second,
        "maxConcurrency": max_concurrency,
        "batchSize": batch_size,
        "batchingWindowSeconds": batching_window_seconds,
    }
    pacing_seconds = batch_size / (calls_per_second / max_concurrency)
    needed = math.ceil(pacing_seconds * 2) + 2 * RECORD_TIME_RESERVE_SECONDS
    if needed > MAX_FUNCTION_TIMEOUT_SECONDS:
        # When they are validated, Then a full batch that cannot fit in 900 s is refused, naming batchSize
        with pytest.raises(InvalidDeploymentSettings, match="batchSize"):
            settings_from_context(context)
        return
    # When they are validated
    settings = settings_from_context(context)
    # Then the derived timeouts fit a full batch with headroom (and one slow record's whole reserve, and the last
    # record's) and satisfy SQS's 6x rule
    needed_with_headroom = pacing_seconds * 2 + 2 * RECORD_TIME_RESERVE_SECONDS
    assert needed_with_headroom <= settings.function_timeout_seconds <= 900
    assert settings.visibility_timeout_seconds >= 6 * settings.function_timeout_seconds + batching_window_seconds
