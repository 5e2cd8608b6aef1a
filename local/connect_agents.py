"""The agents of the local Connect's queues: a call routed to a staffed queue that the callee answers waits there
(QUEUED) for a free agent, talks with it for a handle time (CONNECTED_TO_AGENT), then ends; a callee kept waiting
longer than their patience hangs up (an abandoned call: answered, never connected to an agent).

Queues serve first come, first served, and each call's handle time is drawn as it enters the queue, so the whole of
a call's life is known the moment it is placed: the instance holds its slot for the wait and the talk together. The
queue's record (connected, abandoned, agent busy seconds) lets a run compute abandonment and occupancy;
GetCurrentMetricData's AGENTS_AVAILABLE is the agents online and not on a contact at that instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Connect's reason for a contact the customer hung up on, waiting in queue or talking (DisconnectReason).
CUSTOMER_DISCONNECT = "CUSTOMER_DISCONNECT"


@dataclass(frozen=True)
class QueueStaffing:
    """One queue's agents: how many are online, how long each contact takes them, how long a callee waits for one."""

    queue_id: str
    agents: int
    handle_seconds: tuple[float, float]  # each contact's handle time, uniformly between the two
    patience_seconds: float  # a callee waiting longer than this in the queue hangs up

    def __post_init__(self) -> None:
        """Reject staffing that describes no possible queue."""
        if self.agents < 0:
            raise ValueError("agents must not be negative")
        low, high = self.handle_seconds
        if low < 0 or high < low:
            raise ValueError("handle_seconds must be two non-negative bounds, the shorter first")
        if self.patience_seconds < 0:
            raise ValueError("patience_seconds must not be negative")


@dataclass(frozen=True)
class QueueLeg:
    """What became of an answered call in its queue: how long it waited, and whether an agent took it."""

    queue_id: str
    wait_seconds: float  # from entering the queue to an agent's connection, or to the callee hanging up
    handle_seconds: float  # 0 for an abandoned call
    agent: int = -1  # the index of the queue's agent who took it; -1 for an abandoned call

    @property
    def connected(self) -> bool:
        """An agent took the call (CONNECTED_TO_AGENT); otherwise the callee hung up waiting (abandoned)."""
        return self.handle_seconds > 0

    @property
    def seconds(self) -> float:
        """How long the call stays on the instance from entering the queue: the wait, then the talk."""
        return self.wait_seconds + self.handle_seconds


def agent_id(queue_id: str, agent: int) -> str:
    """A stable made-up ID for the queue's agent of this index (Connect's user IDs are UUIDs; these need not be)."""
    return f"agent-{agent}-of-{queue_id}"


@dataclass
class QueueRecord:
    """What one queue saw in a run: its answered calls connected or abandoned, and its agents' busy time."""

    agents: int
    connected: int = 0
    abandoned: int = 0
    busy_seconds: float = 0.0  # the handle times of the contacts its agents took (past and scheduled)
    longest_wait_seconds: float = 0.0


@dataclass
class _Agent:
    free_at: float = 0.0  # time.monotonic() when its last contact ends
    contacts: list[tuple[float, float]] = field(default_factory=list)  # (connected, ended) of each, in order


class AgentQueues:
    """The staffed queues of one instance; the instance calls it under its own lock, with its seeded random source."""

    def __init__(self, staffing: tuple[QueueStaffing, ...], draw: random.Random) -> None:
        self._staffing = {queue.queue_id: queue for queue in staffing}
        self._agents = {queue.queue_id: [_Agent() for _ in range(queue.agents)] for queue in staffing}
        self._records = {queue.queue_id: QueueRecord(queue.agents) for queue in staffing}
        self._random = draw

    def routes(self, queue_id: object) -> bool:
        """Whether calls to this queue wait for its agents (a queue with no staffing set behaves as before)."""
        return isinstance(queue_id, str) and queue_id in self._staffing

    def enqueue(self, queue_id: str, now: float) -> QueueLeg:
        """An answered call enters the queue at ``now`` (time.monotonic()): the agent it gets and when, or its
        hang-up."""
        staffing, record = self._staffing[queue_id], self._records[queue_id]
        # Drawn for every call, abandoned or not, so that the sequence of draws does not depend on the agents.
        handle = self._random.uniform(*staffing.handle_seconds)
        agents = self._agents[queue_id]
        agent = min(agents, key=lambda candidate: candidate.free_at) if agents else None
        wait = float("inf") if agent is None else max(0.0, agent.free_at - now)
        if agent is None or wait > staffing.patience_seconds:
            record.abandoned += 1
            record.longest_wait_seconds = max(record.longest_wait_seconds, staffing.patience_seconds)
            return QueueLeg(queue_id, staffing.patience_seconds, 0.0)
        connected = now + wait
        agent.free_at = connected + handle
        agent.contacts.append((connected, agent.free_at))
        record.connected += 1
        record.busy_seconds += handle
        record.longest_wait_seconds = max(record.longest_wait_seconds, wait)
        return QueueLeg(queue_id, wait, handle, agents.index(agent))

    def online(self, queue_id: str) -> int:
        """AGENTS_ONLINE: the queue's agents (0 for an unknown queue)."""
        return len(self._agents.get(queue_id, []))

    def available(self, queue_id: str, now: float) -> int:
        """AGENTS_AVAILABLE at ``now``: the queue's agents online and not on a contact (0 for an unknown queue)."""
        return sum(
            1
            for agent in self._agents.get(queue_id, [])
            if not any(connected <= now < ended for connected, ended in agent.contacts)
        )

    def records(self) -> dict[str, QueueRecord]:
        """A snapshot of each queue's record."""
        return {
            queue_id: QueueRecord(
                record.agents, record.connected, record.abandoned, record.busy_seconds, record.longest_wait_seconds
            )
            for queue_id, record in self._records.items()
        }
