"""How fast the function may call, and what the instance can take: the API quota's share, the invocations that share
it, and the instance's concurrent calls."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from outbound_caller.config.common import FROZEN, QUEUE_URL_PATTERN, blank_is_unset

# Connect's default StartOutboundVoiceContact quota is 2 requests/s with a burst of 5, per account and Region.
DEFAULT_CALLS_PER_SECOND = 2.0
DEFAULT_CALLS_BURST = 5.0
# Connect's default quota of concurrent active calls per instance.
DEFAULT_CONCURRENT_CALLS_LIMIT = 10
MAX_CONCURRENT_CALLS_LIMIT = 100_000
# Agent pacing: how many calls each available agent may be counted on for (1: one each), and how often the queues'
# available agents are read for the whole deployment (GetCurrentMetricData's own quota is 5 requests/s).
DEFAULT_AGENT_PACING_RATIO = 1.0
MAX_AGENT_PACING_RATIO = 10.0
DEFAULT_AGENT_METRICS_TTL_SECONDS = 5
MAX_AGENT_METRICS_TTL_SECONDS = 300
# An SQS event source mapping's maximum concurrency is 2 to 1,000 (Lambda ScalingConfig).
MIN_MAX_CONCURRENCY = 2
MAX_MAX_CONCURRENCY = 1000


class PacingFields(BaseModel):
    """The pacing side of the function's settings."""

    model_config = FROZEN

    calls_per_second: float = Field(
        alias="CALLS_PER_SECOND", default=DEFAULT_CALLS_PER_SECOND, gt=0, allow_inf_nan=False
    )
    # The share of the quota's burst, summed over concurrent invocations like calls_per_second.
    calls_burst: float = Field(alias="CALLS_BURST", default=DEFAULT_CALLS_BURST, ge=1, allow_inf_nan=False)
    max_concurrency: int = Field(
        alias="MAX_CONCURRENCY", default=MIN_MAX_CONCURRENCY, ge=MIN_MAX_CONCURRENCY, le=MAX_MAX_CONCURRENCY
    )
    # The instance's concurrent active calls quota: how many calls free up between two tries of a full instance.
    concurrent_calls_limit: int = Field(
        alias="CONCURRENT_CALLS_LIMIT", default=DEFAULT_CONCURRENT_CALLS_LIMIT, ge=1, le=MAX_CONCURRENT_CALLS_LIMIT
    )
    # The waiting room (settling/waiting_room.py): an SQS FIFO queue where requests wait for a slot of a full
    # instance, drawn as the deployment's calls end. Unset: they are deferred to the end of the instance's hold.
    waiting_room_queue_url: str | None = Field(alias="WAITING_ROOM_QUEUE_URL", default=None, pattern=QUEUE_URL_PATTERN)
    # Agent pacing (connect/agents.py): a call routed to a queue is placed only while an available agent of the queue
    # is not yet counted on by another of the deployment's calls; AGENT_PACING_RATIO scales the agents counted.
    agent_pacing: bool = Field(alias="AGENT_PACING", default=False)
    agent_pacing_ratio: float = Field(
        alias="AGENT_PACING_RATIO",
        default=DEFAULT_AGENT_PACING_RATIO,
        gt=0,
        le=MAX_AGENT_PACING_RATIO,
        allow_inf_nan=False,
    )
    agent_metrics_ttl_seconds: int = Field(
        alias="AGENT_METRICS_TTL_SECONDS",
        default=DEFAULT_AGENT_METRICS_TTL_SECONDS,
        ge=1,
        le=MAX_AGENT_METRICS_TTL_SECONDS,
    )

    @field_validator("waiting_room_queue_url", mode="before")
    @classmethod
    def _pacing_blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    @property
    def calls_per_second_per_invocation(self) -> float:
        """This invocation's share of the quota: the deployment's share split over concurrent invocations."""
        return self.calls_per_second / self.max_concurrency

    @property
    def calls_burst_per_invocation(self) -> float:
        """This invocation's share of the burst; at least one call, or it could never start one."""
        return max(1.0, self.calls_burst / self.max_concurrency)
