"""Every request the local Connect received, in order: when, what it answered, and how busy the instance was.

Counts (ConnectStats) say how often; the timeline says when, which is what a chart of a run needs: calls in
progress against the concurrent-call limit, calls per second against the quota, and where the throttles fell.
"""

from __future__ import annotations

from dataclasses import dataclass

# The outcome recorded for a request whose connection closed without an answer.
DROPPED = "Dropped"


@dataclass(frozen=True)
class Answer:
    """One request: its outcome (PLACED, IDEMPOTENT_REPLAY, an error code, or DROPPED) and the instance's state."""

    at: float  # time.time() when the instance decided
    outcome: str
    active_calls: int  # calls in progress just after the decision, the one it created included
    call_ends_at: float | None = None  # for a created contact: time.time() when its call ends


class Timeline:
    """The answers in the order they were decided; the instance records them under its own lock."""

    def __init__(self) -> None:
        self._answers: list[Answer] = []

    def record(self, answer: Answer) -> None:
        """Append one answer."""
        self._answers.append(answer)

    def answers(self) -> list[Answer]:
        """A copy of every answer so far."""
        return list(self._answers)
