"""How long a batch of call requests may take: the function's timeout from the batch's pacing, and the source queue's
visibility timeout from that.

Pure arithmetic (no aws_cdk import): the settings check it at synth, the local pipeline runs with the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS

# Lambda's event source mapping limits for standard SQS queues: batch size 1..10,000, batching window 0..300 s;
# a batch size above 10 requires a batching window of at least 1 s.
MAX_BATCH_SIZE = 10_000
MAX_UNWINDOWED_BATCH_SIZE = 10
MAX_BATCHING_WINDOW_SECONDS = 300

# A full batch is budgeted twice the time its pacing alone needs, so Connect latency and cold starts fit.
PACING_HEADROOM_FACTOR = 2
# And one slow record on top: a record may spend its whole reserve (its Connect call, its ledger writes and a
# dead-letter send, each through every timeout and backoff), not just its call, and that must not eat into the
# reserve the next healthy records need, or they would be handed back unplaced.
SLOW_RECORD_HEADROOM_SECONDS = RECORD_TIME_RESERVE_SECONDS
# Floor for the function timeout: a cold start plus one slow call must always fit.
MIN_FUNCTION_TIMEOUT_SECONDS = 60
# Lambda's maximum function timeout (Lambda quotas: "Function timeout 900 seconds (15 minutes)").
MAX_FUNCTION_TIMEOUT_SECONDS = 900
# SQS guidance for Lambda event sources: visibility timeout >= 6 x function timeout + batching window.
VISIBILITY_TIMEOUT_FACTOR = 6


@dataclass(frozen=True)
class InvocationPacing:
    """The calls per second one concurrent invocation may place, and the time a batch takes at that pace."""

    calls_per_second: float

    @classmethod
    def share_of(cls, calls_per_second: float, max_concurrency: int) -> InvocationPacing:
        """One invocation's share of the deployment's rate, which every concurrent invocation paces to."""
        return cls(calls_per_second / max_concurrency)

    def pacing_seconds(self, batch_size: int) -> float:
        """The time pacing alone spends on a batch."""
        return batch_size / self.calls_per_second

    def function_timeout_seconds(self, batch_size: int) -> int:
        """A full batch's pacing with headroom, plus one slow record's reserve and the last record's."""
        paced_batch = math.ceil(self.pacing_seconds(batch_size) * PACING_HEADROOM_FACTOR)
        return max(
            MIN_FUNCTION_TIMEOUT_SECONDS, paced_batch + SLOW_RECORD_HEADROOM_SECONDS + RECORD_TIME_RESERVE_SECONDS
        )

    @property
    def max_batch_size(self) -> int:
        """The largest batch that fits in Lambda's maximum timeout at this pace."""
        spare = MAX_FUNCTION_TIMEOUT_SECONDS - RECORD_TIME_RESERVE_SECONDS - SLOW_RECORD_HEADROOM_SECONDS
        budget = spare / PACING_HEADROOM_FACTOR
        return max(0, min(MAX_BATCH_SIZE, math.floor(budget * self.calls_per_second)))


def visibility_timeout_seconds(function_timeout_seconds: int, batching_window_seconds: int) -> int:
    """The source queue's visibility timeout: 6 x the function timeout plus the batching window (SQS guidance)."""
    return VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds + batching_window_seconds


def oversized_batch_refusal(batch_size: int, calls_per_second: float, max_concurrency: int) -> str | None:
    """Why a full batch at this rate cannot fit in Lambda's maximum timeout, naming the context keys (None: it fits)."""
    pacing = InvocationPacing.share_of(calls_per_second, max_concurrency)
    needed = pacing.function_timeout_seconds(batch_size)
    if needed <= MAX_FUNCTION_TIMEOUT_SECONDS:
        return None
    largest = pacing.max_batch_size
    remedy = (
        f"lower batchSize to at most {largest} or raise callsPerSecond"
        if largest >= 1
        else "raise callsPerSecond or lower maxConcurrency: not even a batch of 1 fits"
    )
    return (
        f"a full batch (batchSize={batch_size}) at callsPerSecond={calls_per_second:g} /"
        f" maxConcurrency={max_concurrency} = {pacing.calls_per_second:g} calls/s per"
        f" invocation needs a {needed} s function timeout ({PACING_HEADROOM_FACTOR} x"
        f" {pacing.pacing_seconds(batch_size):g} s of pacing, {SLOW_RECORD_HEADROOM_SECONDS} s for one"
        f" slow record and {RECORD_TIME_RESERVE_SECONDS} s reserved for the last), above Lambda's"
        f" {MAX_FUNCTION_TIMEOUT_SECONDS} s; {remedy}"
    )
