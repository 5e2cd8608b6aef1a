"""The agents load's own figures: how many answered callees hung up waiting for an agent (abandoned), and how busy
the agents were (occupancy: their time on contacts over the agents times the span they were staffed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.scenarios import SideRun


def abandoned_share(abandoned: int, connected: int) -> float:
    """Abandoned calls over the answered calls that entered the queue (0 when none did)."""
    answered = abandoned + connected
    return abandoned / answered if answered else 0.0


def occupancy(busy_seconds: float, agents: int, staffed_seconds: float) -> float | None:
    """The agents' time on contacts over the time they were staffed; None when there was none."""
    available = agents * staffed_seconds
    return busy_seconds / available if available > 0 else None


@dataclass(frozen=True)
class AgentFigures:
    """What the staffed queue saw in a side's run."""

    agents: int
    connected: int
    abandoned: int
    busy_seconds: float
    staffed_seconds: float  # from the clock's start to the last call on the queue ended
    longest_queue_wait_seconds: float

    @property
    def abandoned_share(self) -> float:
        """Abandoned over answered."""
        return abandoned_share(self.abandoned, self.connected)

    @property
    def occupancy(self) -> float | None:
        """Busy over staffed."""
        return occupancy(self.busy_seconds, self.agents, self.staffed_seconds)

    def to_json(self) -> dict[str, Any]:
        """The figures as results.json holds them."""
        busy = self.occupancy
        return {
            "agents": self.agents,
            "connected_to_agent": self.connected,
            "abandoned": self.abandoned,
            "abandoned_share": round(self.abandoned_share, 4),
            "agent_busy_seconds": round(self.busy_seconds, 1),
            "staffed_seconds": round(self.staffed_seconds, 1),
            "occupancy": None if busy is None else round(busy, 3),
            "longest_queue_wait_seconds": round(self.longest_queue_wait_seconds, 2),
        }


def agent_figures(run: SideRun) -> AgentFigures | None:
    """The staffed queue's figures of a side's run; None for a load without one."""
    staffing = run.scenario.staffing
    if staffing is None:
        return None
    record = run.queue_records.get(staffing.queue_id)
    if record is None:
        return None
    ends = [call.placed_at + call.duration_seconds for call in run.placed_calls if call.queue is not None]
    return AgentFigures(
        agents=record.agents,
        connected=record.connected,
        abandoned=record.abandoned,
        busy_seconds=record.busy_seconds,
        staffed_seconds=max(ends, default=run.started_at) - run.started_at,
        longest_queue_wait_seconds=record.longest_wait_seconds,
    )
