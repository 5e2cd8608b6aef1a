"""Call completion on one machine: each call the local Connect ended becomes the contact event Connect publishes, and
the completion function (the real handler, ``outbound_caller.completion.handler``, unmodified, in a function container
like the caller's) handles it while the run goes on, so that a redialled request finds its attempt's outcome in the
ledger, as in AWS.

The contact event is the one Connect publishes on the default bus when a call ends ("Amazon Connect contact events";
tests/support/contact_events/ has recorded samples), with its documented gaps: an API-started call's event carries
no disconnectReason (documented only for failed campaign contacts), and a call that never connected has no
connectedToSystemTimestamp. The completion function reads the rest with DescribeContact, from the local Connect.

With agent pacing, as the stack's rule, the relay also delivers the CONNECTED_TO_AGENT event of each call an agent
of a staffed queue took (local/connect_agents.py), as the agent takes it: the documented shape with agentInfo and
queueInfo, before the call's DISCONNECTED.

In AWS an EventBridge rule invokes the function asynchronously: Lambda retries a failed invocation twice, then hands
the event to the function's dead-letter queue. The relay plays Lambda's part, with the retries compressed.
"""

from __future__ import annotations

import heapq
import itertools
import multiprocessing
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.connect_instance import LocalConnectInstance
from local.connect_rules import PlacedCall
from local.contact_events import connected_to_agent_event, contact_event, event_timestamp
from local.function_container import SUCCEEDED, FunctionContainer, FunctionSpec
from outbound_caller.names import CONNECTED_TO_AGENT, DISCONNECTED

COMPLETION_FUNCTION_NAME = "connect-outbound-caller-completion"
COMPLETION_HANDLER = "outbound_caller.completion.handler.lambda_handler"
COMPLETION_LOG_NAME = "completion-function.log"
# As infra/completion.py deploys it.
COMPLETION_TIMEOUT_SECONDS = 30.0
# The relay wakes when the next call it knows of ends (as Connect publishes a contact event when the contact ends), and
# at least this often to learn of the calls placed since its last look.
POLL_SECONDS = 0.2
# The stack's tick (a rule on a schedule, rate(1 minute)) draws the waiting room when calls ended unseen, or other
# traffic left the instance; compressed here as the calls are.
TICK_SECONDS = 5.0
SCHEDULED_EVENT = {
    "version": "0",
    "id": "local-tick",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": LOCAL_ACCOUNT_ID,
    "region": LOCAL_REGION,
    "resources": [f"arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/connect-outbound-caller-tick"],
    "detail": {},
}
# Invocations at once: Lambda runs as many as there are events; two keep up with a reliability run's calls on two
# cores (one fell behind while the callers and moto took their share).
COMPLETION_CONCURRENCY = 2
# Lambda's asynchronous invocation: the first attempt and two retries, about 1 and 2 minutes apart. Not compressed by
# default: a contact the ledger does not show is reported only once its catch-up (LEDGER_CATCH_UP_SECONDS, 120 s)
# is over, without its token, which the last retry reaches as in AWS.
ASYNC_ATTEMPTS = 3
RETRY_DELAYS_SECONDS = (60.0, 120.0)


@dataclass
class Deliveries:
    """How the contact events ended: handled by the function, attempts that failed, events given up on (the function's
    dead-letter queue in AWS), and each handled call's outcome as the function named it. DISCONNECTED events are
    the calls' (handled, dropped); CONNECTED_TO_AGENT events are counted apart."""

    handled: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    agent_connections: int = 0  # CONNECTED_TO_AGENT events handled
    agent_connections_dropped: int = 0


@dataclass
class _Pending:
    call: PlacedCall
    event_type: str = DISCONNECTED
    attempts: int = 0
    due: float = 0.0  # time.monotonic() of its next attempt

    def event(self, instance_id: str) -> dict[str, Any]:
        if self.event_type == CONNECTED_TO_AGENT:
            return connected_to_agent_event(self.call, instance_id)
        return contact_event(self.call, instance_id)


class CompletionRelay:
    """Watches the local instance for calls that ended and has the completion function handle each one's contact event,
    from a thread of its own; use as a context manager.

    Create it inside the pipeline's scoped_environment: the function's container inherits the endpoints.
    """

    def __init__(
        self,
        instance: LocalConnectInstance,
        environment: dict[str, str],
        work_dir: Path,
        instance_id: str,
        retry_delays_seconds: tuple[float, ...] = RETRY_DELAYS_SECONDS,
        concurrency: int = COMPLETION_CONCURRENCY,
    ) -> None:
        if len(retry_delays_seconds) < ASYNC_ATTEMPTS - 1:
            raise ValueError(f"retry_delays_seconds needs a delay for each of the {ASYNC_ATTEMPTS - 1} retries")
        self.retry_delays_seconds = retry_delays_seconds
        self.instance = instance
        self.instance_id = instance_id
        self.spec = FunctionSpec(
            # No X-Ray daemon here, as for the caller.
            environment={**environment, "POWERTOOLS_TRACE_DISABLED": "true"},
            timeout_seconds=COMPLETION_TIMEOUT_SECONDS,
            log_path=work_dir / COMPLETION_LOG_NAME,
            handler=COMPLETION_HANDLER,
            name=COMPLETION_FUNCTION_NAME,
        )
        self._lock = threading.Condition()
        self._deliveries = Deliveries()
        # Each placed call's events by when they are due; the calls looked at so far are the instance's first `_known`.
        self._known = 0
        self._due: list[tuple[float, int, _Pending]] = []
        self._order = itertools.count()
        # CONNECTED_TO_AGENT events only with agent pacing, as the stack's rule sends them (infra/completion.py).
        self._agent_events = environment.get("AGENT_PACING") == "true"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="completion-relay", daemon=True)
        # One warm container per invoking thread, as Lambda keeps an execution environment per concurrent invocation.
        self.concurrency = concurrency
        self._invokers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="completion-invoke")
        self._warming = threading.Barrier(concurrency)
        self._own = threading.local()
        self._containers: list[FunctionContainer] = []
        self.init_error: Exception | None = None
        # Ticks only with a waiting room to draw, as the stack schedules them.
        self._ticks = "WAITING_ROOM_QUEUE_URL" in environment
        self._next_tick = time.monotonic() + TICK_SECONDS
        self.ticks = 0
        self.invocations = 0  # every invocation of the function: contact events (retries included) and ticks

    def __enter__(self) -> CompletionRelay:
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.spec.log_path.write_text("", encoding="utf-8")  # this run's log only, as the caller's
        # One container per invoking thread started now, as a deployed function's are warm when calls end, and so
        # that a function that cannot start fails the run at once.
        for started in [self._invokers.submit(self._warm_with_others) for _ in range(self.concurrency)]:
            started.result()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=COMPLETION_TIMEOUT_SECONDS + 5)
        self._invokers.shutdown(wait=True)
        with self._lock:
            containers, self._containers = self._containers, []
        for container in containers:
            container.stop()

    @property
    def deliveries(self) -> Deliveries:
        """A snapshot of how the events so far ended."""
        with self._lock:
            delivered = self._deliveries
            return Deliveries(
                delivered.handled,
                delivered.failed_attempts,
                delivered.dropped,
                Counter(delivered.outcomes),
                delivered.agent_connections,
                delivered.agent_connections_dropped,
            )

    def wait_until_reported(self, timeout_seconds: float) -> bool:
        """Wait until every call placed so far has ended and its event was handled (or given up on); whether in time."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            while True:
                calls = self.instance.placed_count
                if self._deliveries.handled + self._deliveries.dropped >= calls:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, POLL_SECONDS))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wake_in = self.look()
            except Exception as error:  # noqa: BLE001 - kept for the run to report; the relay stops
                self.init_error = error
                return
            self._stop.wait(wake_in)

    def look(self) -> float:
        """Hand every event now due to the function; the seconds until the relay should look again."""
        now = time.monotonic()
        for call in self.instance.placed_since(self._known):
            self._known += 1
            connects_at = call.connects_to_agent_at
            if self._agent_events and connects_at is not None:
                self._schedule(_Pending(call, CONNECTED_TO_AGENT, due=connects_at))
            self._schedule(_Pending(call, due=call.ends_at))
        due: list[_Pending] = []
        with self._lock:  # the invoking threads put retries back
            while self._due and self._due[0][0] <= now:
                due.append(heapq.heappop(self._due)[2])
        # A call's connection to an agent is handled before any call's end (Connect sends them in that order), and
        # before the relay looks again; ends go to whichever invoking thread is free, so that one slow invocation
        # does not hold back the next call's end.
        connections = [pending for pending in due if pending.event_type == CONNECTED_TO_AGENT]
        list(self._invokers.map(self._deliver, connections))
        for pending in due:
            if pending.event_type != CONNECTED_TO_AGENT:
                self._invokers.submit(self._deliver, pending).add_done_callback(self._keep_error)
        if self._ticks and now >= self._next_tick:
            self._next_tick = now + TICK_SECONDS
            # Beside the contact events, as in AWS; a failed tick is not retried: the next one comes soon.
            self._invokers.submit(self._tick).add_done_callback(self._keep_error)
        with self._lock:
            next_due = min([self._due[0][0]] if self._due else [], default=now + POLL_SECONDS)
        if self._ticks:
            next_due = min(next_due, self._next_tick)
        return min(POLL_SECONDS, max(0.0, next_due - time.monotonic()))

    def _keep_error(self, delivery: Future[None]) -> None:
        """An invocation that could not even start (no container) stops the relay, for the run to report."""
        error = delivery.exception()
        if isinstance(error, Exception):
            self.init_error = self.init_error or error
            self._stop.set()

    def _schedule(self, pending: _Pending) -> None:
        with self._lock:
            heapq.heappush(self._due, (pending.due, next(self._order), pending))

    def _tick(self) -> None:
        self._warm_container().invoke(dict(SCHEDULED_EVENT, time=event_timestamp(time.time())[:19] + "Z"))
        with self._lock:
            self.ticks += 1
            self.invocations += 1

    def _warm_with_others(self) -> None:
        """Start this invoking thread's container, then wait until every thread has (so each starts its own)."""
        try:
            self._warm_container()
        finally:
            self._warming.wait(timeout=COMPLETION_TIMEOUT_SECONDS)

    def _warm_container(self) -> FunctionContainer:
        """This invoking thread's container: started on first use, and again if it died."""
        container: FunctionContainer | None = getattr(self._own, "container", None)
        if container is None or not container.alive:
            container = FunctionContainer(self.spec, multiprocessing.get_context("spawn"))
            self._own.container = container
            with self._lock:
                self._containers.append(container)
        return container

    def _deliver(self, pending: _Pending) -> None:
        result = self._warm_container().invoke(pending.event(self.instance_id))
        pending.attempts += 1
        agent_event = pending.event_type == CONNECTED_TO_AGENT
        with self._lock:
            self.invocations += 1
            if result.outcome == SUCCEEDED:
                if agent_event:
                    self._deliveries.agent_connections += 1
                else:
                    self._deliveries.handled += 1
                    if isinstance(result.response, dict):
                        self._deliveries.outcomes[str(result.response.get("Outcome"))] += 1
            else:
                self._deliveries.failed_attempts += 1
                if pending.attempts >= ASYNC_ATTEMPTS:
                    if agent_event:
                        self._deliveries.agent_connections_dropped += 1
                    else:
                        self._deliveries.dropped += 1
                else:
                    pending.due = time.monotonic() + self.retry_delays_seconds[pending.attempts - 1]
                    heapq.heappush(self._due, (pending.due, next(self._order), pending))
            self._lock.notify_all()
