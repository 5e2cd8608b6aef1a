"""One local Connect instance answering requests by its rules (local/connect_rules.py), faults after create included,
with its record of a run: the contacts it created, its counts, its timeline.

The timeline (local/connect_timeline.py) says when each request was answered, for charts of a run; the counts
(ConnectStats) say how often, for reports and assertions.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.connect_agents import QueueRecord
from local.connect_behaviour import (
    DROP_AFTER_CREATE,
    DROPPED_CONNECTION_FAULTS,
    READ_TIMEOUT_AFTER_CREATE,
    SERVER_ERROR_AFTER_CREATE,
    ConnectBehaviour,
)
from local.connect_errors import ERROR_STATUS, ConnectError, DroppedConnectionError, internal_error
from local.connect_metrics import CurrentMetricsService
from local.connect_rules import PLACED, ConnectRules, PlacedCall
from local.connect_timeline import DROPPED, Answer, Timeline

# The HTTP status of a throttled answer, whichever error names it.
THROTTLED_STATUS = 429


@dataclass
class ConnectStats:
    """What the local instance saw, for reports and assertions."""

    # Answers written, by PLACED, IDEMPOTENT_REPLAY or error code; a contact answered with an error counts
    # under the error, and a slow answer under the 200 it finally was. Dropped connections wrote none.
    responses: Counter[str] = field(default_factory=Counter)
    max_active_calls: int = 0
    first_request_at: float | None = None
    last_placed_at: float | None = None
    contacts_created: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # injected fault name -> count, e.g. DROP_AFTER_CREATE

    @property
    def requests(self) -> int:
        """All StartOutboundVoiceContact requests received, SDK retries and dropped connections included."""
        return sum(self.responses.values()) + sum(self.faults[name] for name in DROPPED_CONNECTION_FAULTS)

    @property
    def throttled(self) -> int:
        """Answers with HTTP status 429."""
        return sum(count for code, count in self.responses.items() if ERROR_STATUS.get(code) == THROTTLED_STATUS)


class LocalConnectInstance:
    """The state of one Connect instance: quota, active calls, idempotency tokens, placed calls."""

    def __init__(self, behaviour: ConnectBehaviour) -> None:
        self.behaviour = behaviour
        self._lock = threading.Lock()
        self._rules = ConnectRules(behaviour)
        self._placed: list[PlacedCall] = []
        self._by_contact_id: dict[str, PlacedCall] = {}
        self._stats = ConnectStats()
        self._timeline = Timeline()
        self._metrics = CurrentMetricsService(
            self._rules.agents,
            instance_arn=instance_arn(behaviour.instance_id or "local"),
            per_second=behaviour.metrics_per_second,
            burst=behaviour.metrics_burst,
            failure_rate=behaviour.metrics_failure_rate,
            seed=behaviour.seed,
        )

    @property
    def placed_calls(self) -> list[PlacedCall]:
        """Every contact created, in order."""
        with self._lock:
            return list(self._placed)

    @property
    def placed_count(self) -> int:
        """How many contacts were created."""
        with self._lock:
            return len(self._placed)

    def placed_since(self, count: int) -> list[PlacedCall]:
        """The contacts created after the first `count`, in order."""
        with self._lock:
            return self._placed[count:]

    @property
    def stats(self) -> ConnectStats:
        """A snapshot of what the instance has seen."""
        with self._lock:
            return ConnectStats(
                responses=Counter(self._stats.responses),
                max_active_calls=self._stats.max_active_calls,
                first_request_at=self._stats.first_request_at,
                last_placed_at=self._stats.last_placed_at,
                contacts_created=self._stats.contacts_created,
                faults=Counter(self._stats.faults),
            )

    def queue_records(self) -> dict[str, QueueRecord]:
        """Each staffed queue's record: calls connected to an agent or abandoned, and its agents' busy time."""
        with self._lock:
            return self._rules.agents.records()

    def metrics_answers(self) -> Counter[str]:
        """GetCurrentMetricData's answers so far: ANSWERED_METRICS or the error code."""
        with self._lock:
            return Counter(self._metrics.answers)

    def get_current_metric_data(self, instance_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """GetCurrentMetricData's answer for this instance's queues (local/connect_metrics.py)."""
        if self.behaviour.instance_id is not None and instance_id != self.behaviour.instance_id:
            raise ConnectError("ResourceNotFoundException", "Instance not found")
        with self._lock:
            return self._metrics.answer(request)

    def active_calls(self) -> int:
        """Calls still in progress."""
        with self._lock:
            return self._rules.active_calls(time.monotonic())

    def timeline(self) -> list[Answer]:
        """Every request received so far, in order: when, its outcome, and the calls then in progress."""
        with self._lock:
            return self._timeline.answers()

    def describe_contact(self, instance_id: str, contact_id: str) -> dict[str, Any]:
        """DescribeContact's answer for a contact this instance created: what Connect keeps of it, as far as the call
        has got (its disconnect facts only once it has ended); ResourceNotFoundException for any other."""
        with self._lock:
            call = self._by_contact_id.get(contact_id)
        if call is None or (self.behaviour.instance_id is not None and instance_id != self.behaviour.instance_id):
            raise ConnectError("ResourceNotFoundException", "Contact not found")
        return {"Contact": described_contact(call, ended=call.ends_at <= time.monotonic())}

    def start_outbound_voice_contact(self, request: dict[str, Any]) -> str:
        """Answer one request with a ContactId, or raise ConnectError or DroppedConnectionError as configured."""
        if self.behaviour.latency_seconds:
            time.sleep(self.behaviour.latency_seconds)
        with self._lock:
            if self._stats.first_request_at is None:
                self._stats.first_request_at = time.time()
            try:
                call, code = self._rules.decide(request)
            except ConnectError as error:
                self._answer(error.code)
                raise
            except DroppedConnectionError as error:
                self._stats.faults[error.fault] += 1
                self._note(DROPPED)
                raise
            created = call if code == PLACED else None
            if created is not None:
                self._record(created)
            fault = self._rules.fault_after_create()
            if fault is not None:
                self._stats.faults[fault] += 1
            if fault == SERVER_ERROR_AFTER_CREATE:
                self._answer("InternalServiceException", created)
                raise internal_error()
            if fault == DROP_AFTER_CREATE:
                self._note(DROPPED, created)
                raise DroppedConnectionError(fault)
            self._answer(code, created)
        if fault == READ_TIMEOUT_AFTER_CREATE:
            # Outside the lock: the instance keeps answering other requests while this answer is held.
            time.sleep(self.behaviour.slow_answer_seconds)
        return call.contact_id

    def _record(self, call: PlacedCall) -> None:
        """Keep a contact just created and count it. Caller holds the lock."""
        self._placed.append(call)
        self._by_contact_id[call.contact_id] = call
        self._stats.contacts_created += 1
        self._stats.max_active_calls = max(self._stats.max_active_calls, self._rules.calls_in_progress)
        self._stats.last_placed_at = call.placed_at

    def _answer(self, code: str, created: PlacedCall | None = None) -> None:
        """Count an answer and put it on the timeline. Caller holds the lock."""
        self._stats.responses[code] += 1
        self._note(code, created)

    def _note(self, outcome: str, created: PlacedCall | None = None) -> None:
        """Put a request decided now on the timeline, with the contact it created if any. Caller holds the lock."""
        ends_at = None if created is None else created.placed_at + created.duration_seconds
        self._timeline.record(Answer(time.time(), outcome, self._rules.active_calls(time.monotonic()), ends_at))


def described_contact(call: PlacedCall, *, ended: bool) -> dict[str, Any]:
    """The contact as DescribeContact renders it (timestamps in epoch seconds, as the REST-JSON protocol sends them);
    never the customer's number, which DescribeContact does not return either."""
    contact: dict[str, Any] = {
        "Id": call.contact_id,
        "InitialContactId": call.contact_id,
        "InitiationMethod": "API",
        "Channel": "VOICE",
        "InitiationTimestamp": call.placed_at,
    }
    story = call.story
    if story.connected:
        contact["ConnectedToSystemTimestamp"] = call.placed_at
    if story.detection_status is not None and (story.connected or ended):
        contact["AnsweringMachineDetectionStatus"] = story.detection_status
    queue = call.queue
    if queue is not None:
        contact["QueueInfo"] = {"Id": queue.queue_id, "EnqueueTimestamp": call.placed_at}
        connected_at = call.connected_to_agent_at
        if connected_at is not None and (ended or connected_at <= time.time()):
            contact["AgentInfo"] = {"ConnectedToAgentTimestamp": connected_at}
    if ended:
        contact["DisconnectTimestamp"] = call.placed_at + call.duration_seconds
        contact["DisconnectReason"] = story.disconnect_reason
    return contact


def instance_arn(instance_id: str) -> str:
    """The instance's ARN in the local account and Region."""
    return f"arn:aws:connect:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:instance/{instance_id}"
