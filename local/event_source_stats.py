"""What the local event source observed: its invocations and their outcomes, in counts of records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from local.function_container import CRASHED


@dataclass
class EventSourceStats:
    """What the runner observed: invocations and what each one answered."""

    invocations: int = 0
    records_delivered: int = 0
    redeliveries: int = 0  # records delivered with ApproximateReceiveCount > 1
    records_deleted: int = 0  # delete entries SQS accepted; deleting a duplicate's message again counts again
    batch_item_failures: int = 0  # records the function listed in batchItemFailures
    records_in_failed_invocations: int = 0  # records of invocations that errored, timed out or crashed
    outcomes: Counter[str] = field(default_factory=Counter)  # invocation outcome -> count
    cold_starts: int = 0
    in_flight: int = 0  # invocations running right now
    max_in_flight: int = 0
    duplicates_delivered: int = 0  # records delivered a second time by DeliveryFaults.duplicate_rate
    duplicates_pending: int = 0  # duplicates whose invocation has not started; a run has not settled until 0
    workers_killed: int = 0  # busy containers killed by DeliveryFaults.kill_busy_worker_interval_seconds

    @property
    def retried(self) -> int:
        """Records left on the queue for redelivery, whichever way the invocation failed them."""
        return self.batch_item_failures + self.records_in_failed_invocations

    @property
    def crashed_invocations(self) -> int:
        """Invocations whose container died under them: injected deaths, random kills, any other crash."""
        return self.outcomes[CRASHED]
