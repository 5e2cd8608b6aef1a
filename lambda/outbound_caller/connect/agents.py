"""Agent pacing (AGENT_PACING): a call routed to a queue is placed only while the queue has an available agent that
none of the deployment's other placed, not-yet-connected calls is counting on.

A call the callee answers waits in its queue for an agent; with none free, the callee hangs up (an abandoned call).
So each queue's available agents are read from Connect (GetCurrentMetricData, AGENTS_AVAILABLE), at most once per
AGENT_METRICS_TTL_SECONDS for the whole deployment, and kept in one item per queue of the ledger's table beside the
calls counting on them (a claim per call, by its token's hash). A call may be placed while its queue's claims are
fewer than its available agents times AGENT_PACING_RATIO; it claims one as it is placed (compare-and-set on the
item's version), and the claim ends when its contact connects to an agent or ends (the completion function), or
after CLAIM_SECONDS (a contact event lost). Otherwise the request is deferred (NoAgentAvailable) until the next read.

Fail closed: agents that cannot be read (the metrics API throttles, or fails) count as the last reading while it is
recent, then as none; the request waits rather than ring a callee nobody can talk to.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.connect.agents_store import AgentsStore, AgentsUnavailableError, QueueAgents
from outbound_caller.decisions import NO_AGENT_AVAILABLE, Deferral, DeferralRequired
from outbound_caller.observability import count_agent_metrics, logger
from outbound_caller.timeouts import AGENT_CLAIM_RACES

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

# How long a placed call counts on an agent unless its contact connects to one or ends sooner: its ring time (at most
# 60 s by default), the flow before the queue, and a short wait in it.
CLAIM_SECONDS = 180
# A reading older than this many TTLs (the metrics API failing since) counts no agent at all.
STALE_READING_TTLS = 6
_MS = 1000


def token_sha256(client_token: str) -> str:
    """A call's claim key: its token's SHA-256, as the ledger keys the call (the token itself is never stored)."""
    return hashlib.sha256(client_token.encode("utf-8", "surrogatepass")).hexdigest()


class AgentMetrics:
    """AGENTS_AVAILABLE of one queue, from GetCurrentMetricData."""

    def __init__(self, client: ConnectClient, instance_id: str) -> None:
        self.client = client
        self._instance_id = instance_id

    def available(self, queue_id: str) -> int:
        """Agents available for a voice contact in the queue now (none when Connect reports none)."""
        answer = self.client.get_current_metric_data(
            InstanceId=self._instance_id,
            Filters={"Queues": [queue_id], "Channels": ["VOICE"]},
            Groupings=["QUEUE"],
            CurrentMetrics=[{"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"}],
        )
        for result in answer.get("MetricResults", []):
            for collection in result.get("Collections", []):
                if collection.get("Metric", {}).get("Name") == "AGENTS_AVAILABLE":
                    return max(0, int(collection.get("Value") or 0))
        return 0


class AgentPacing:
    """The call guard of agent pacing: a claim on an agent of the call's queue, taken before Connect is called."""

    def __init__(
        self,
        store: AgentsStore,
        metrics: AgentMetrics,
        *,
        default_queue_id: str | None,
        ratio: float,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._default_queue = default_queue_id
        self._ratio = ratio
        self._ttl_ms = ttl_seconds * _MS
        self.clock = clock
        self._random = rng

    def queue_of(self, params: dict[str, Any]) -> str | None:
        """The queue the call is routed to (the request's, else the deployment's default); None: no queue to pace."""
        queue = params.get("QueueId") or self._default_queue
        return queue if isinstance(queue, str) else None

    def reserve(self, params: dict[str, Any]) -> None:
        """Claim an agent for the call of ``params``; raise DeferralRequired (NoAgentAvailable) when none is free."""
        queue = self.queue_of(params)
        if queue is None:
            return
        claim = token_sha256(params["ClientToken"])
        try:
            for _ in range(AGENT_CLAIM_RACES):
                now = self._now_ms()
                agents = self._fresh(queue, self.store.load(queue), now)
                live = {name: until for name, until in agents.claims.items() if until > now}
                if claim in live:
                    return  # this very call claimed already (a retry of it)
                if len(live) >= math.floor((self._available(agents, now)) * self._ratio):
                    raise DeferralRequired(Deferral(NO_AGENT_AVAILABLE, self._next_look_ms(agents, now)))
                live[claim] = now + CLAIM_SECONDS * _MS
                if self.store.write_claims(queue, live, agents.version, now):
                    return
        except AgentsUnavailableError as error:
            logger.warning("Queue's agents unavailable: the call waits", extra={"error": str(error)})
        now = self._now_ms()
        raise DeferralRequired(Deferral(NO_AGENT_AVAILABLE, now + self._jittered(self._ttl_ms)))

    def release(self, params: dict[str, Any]) -> None:
        """End the claim of the call of ``params``: Connect surely created no contact for it."""
        queue = self.queue_of(params)
        if queue is not None:
            self.release_claim(queue, token_sha256(params["ClientToken"]))

    def release_claim(self, queue_id: str, claim: str) -> None:
        """End one call's claim on its queue's agents (its contact connected to an agent, or ended)."""
        try:
            self.store.remove_claim(queue_id, claim, self._now_ms())
        except AgentsUnavailableError as error:
            logger.warning("Agent claim not ended: it lapses on its own", extra={"error": str(error)})

    def _fresh(self, queue: str, agents: QueueAgents, now: int) -> QueueAgents:
        """The queue's item with a reading no older than the TTL, read by this container if it wins the lease."""
        if agents.available is not None and now - agents.read_at_ms < self._ttl_ms:
            return agents
        if agents.refresh_until_ms > now or not self.store.lease_refresh(queue, now):
            return agents  # another container is reading: the last reading meanwhile
        try:
            available = self.metrics.available(queue)
        except (BotoCoreError, ClientError) as error:
            count_agent_metrics(read=False)
            logger.warning("Queue's available agents not read", extra={"error": type(error).__name__})
            return agents
        count_agent_metrics(read=True)
        self.store.write_reading(queue, available, now)
        return self.store.load(queue)

    def _available(self, agents: QueueAgents, now: int) -> int:
        """The agents to count: the last reading while it is recent enough, else none (fail closed)."""
        if agents.available is None or now - agents.read_at_ms > STALE_READING_TTLS * self._ttl_ms:
            return 0
        return agents.available

    def _next_look_ms(self, agents: QueueAgents, now: int) -> int:
        """When a waiting call looks again: once the next reading is due, spread over a TTL."""
        due = max(now, agents.read_at_ms + self._ttl_ms)
        return due + self._jittered(self._ttl_ms)

    def _jittered(self, span_ms: int) -> int:
        return round(span_ms * self._random())

    def _now_ms(self) -> int:
        return int(self.clock() * _MS)
