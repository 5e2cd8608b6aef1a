"""Where a run stands while its requests settle: a snapshot of the queue, the event source, the local Connect, taken at
each look; whether the run has settled.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.connect_instance import ConnectStats
from local.event_source_stats import EventSourceStats


@dataclass(frozen=True)
class Progress:
    """A snapshot while requests settle."""

    elapsed_seconds: float
    requests: int
    placed: int
    dead_lettered: int
    queue: dict[str, int]
    event_source: EventSourceStats
    connect: ConnectStats
    active_calls: int
    waiting: int = 0  # requests deferred to a time after the run (their messages stay on the queue, delayed)
    sent: int = 0  # requests the producers have sent so far
    # Requests parked in the waiting room (any state): not settled, since the completion draws them back to the queue.
    waiting_room: int = 0

    @property
    def unsettled_on_queue(self) -> int:
        """Messages of requests still to settle: visible, in flight or delayed, but for the waiting requests'."""
        return max(0, sum(self.queue.values()) - self.waiting) + self.waiting_room

    @property
    def backlog(self) -> int:
        """Messages waiting for a poller to receive them: neither in flight nor delayed."""
        return self.queue.get("visible", 0)

    @property
    def settled_requests(self) -> int:
        """Requests sent that have left the source queue for good (each has one message there until then), or wait
        beyond the run; about, since a deferral sends its new message just before it deletes the old one."""
        return min(self.requests, max(0, self.sent - self.unsettled_on_queue))

    @property
    def settled(self) -> bool:
        """Nothing left on the source queue but the requests waiting beyond the run, nothing in the waiting room, no
        invocation running and no duplicate delivery still to come."""
        source = self.event_source
        return (
            sum(self.queue.values()) == self.waiting
            and self.waiting_room == 0
            and source.in_flight == 0
            and source.duplicates_pending == 0
        )


# SQS's counts are approximate, and moto works each one out on its own: a message whose visibility timeout ends
# between the counts of visible and of in-flight messages is in neither, and one look can find a busy queue empty.
# A message changes state at most once between two looks (it becomes visible, or is received and then held by a
# poller), so a queue seen quiet twice in a row is quiet.
SETTLED_LOOKS = 2


class SettledWatch:
    """Whether a run has settled for good: settled at SETTLED_LOOKS consecutive looks."""

    def __init__(self, looks: int = SETTLED_LOOKS) -> None:
        self.looks = looks
        self._streak = 0

    def look(self, settled: bool) -> bool:
        """Count one look; True once the last `looks` looks were all settled."""
        self._streak = self._streak + 1 if settled else 0
        return self.settled

    @property
    def settled(self) -> bool:
        return self._streak >= self.looks
