"""The opt-out function on one machine: the real handler (``outbound_caller.optout.handler``), unmodified, in function
containers like the caller's, invoked by whichever door a change comes through.

Three doors lead to it, as in AWS: the intake bus's opt-out rule (local/optout_events.py, Lambda's asynchronous
invocation), a contact flow's Invoke AWS Lambda function block (local/contact_flow.py, synchronous) and the operators'
command line (local/lambda_endpoint.py, Lambda's Invoke API). Containers are started on first use and kept warm, at
most OPT_OUT_CONCURRENCY at once: an invocation beyond that waits for a free one, where Lambda would start another
execution environment (the machine has two cores to run them on).
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.function_container import FunctionContainer, FunctionSpec, InvocationResult
from local.intake import SuppressionResources
from outbound_caller.names import DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME

OPT_OUT_FUNCTION_NAME = "connect-outbound-caller-opt-out"
OPT_OUT_HANDLER = "outbound_caller.optout.handler.lambda_handler"
OPT_OUT_LOG_NAME = "opt-out-function.log"
# One write and one announcement per number, 500 numbers at most per invocation (api_limits): well within this.
OPT_OUT_TIMEOUT_SECONDS = 30.0
# Containers serving at once: the command line's import sends 8 batches at a time, the machine has 2 cores.
OPT_OUT_CONCURRENCY = 2


def opt_out_environment(suppression: SuppressionResources, result_event_bus_name: str | None) -> dict[str, str]:
    """The opt-out function's environment: the list it changes and the bus it announces each change on."""
    environment = {
        **suppression.function_environment,
        "POWERTOOLS_SERVICE_NAME": DEFAULT_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": DEFAULT_METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if result_event_bus_name is not None:
        environment["RESULT_EVENT_BUS_NAME"] = result_event_bus_name
    return environment


@dataclass(frozen=True)
class OptOutInvocation:
    """One invocation of the opt-out function: through which door, and how it ended."""

    door: str
    result: InvocationResult


class LocalOptOutFunction:
    """The opt-out function's warm containers; invoke() from any thread. Call stop() when done.

    Create it inside the pipeline's scoped_environment: its containers inherit the endpoints to reach local AWS.
    """

    def __init__(self, environment: dict[str, str], work_dir: Path, name: str = OPT_OUT_FUNCTION_NAME) -> None:
        self.name = name
        self.spec = FunctionSpec(
            environment=environment,
            timeout_seconds=OPT_OUT_TIMEOUT_SECONDS,
            log_path=work_dir / OPT_OUT_LOG_NAME,
            handler=OPT_OUT_HANDLER,
            name=name,
        )
        self._spawn = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)
        self._idle: list[FunctionContainer] = []
        self._started = 0  # containers alive, idle or busy
        self._stopped = False
        self.invocations: list[OptOutInvocation] = []  # every invocation so far, in the order they ended

    def invoke(self, event: dict[str, Any], door: str) -> InvocationResult:
        """Run the handler on the event in a warm container (a new one if none is free and fewer than the limit run)."""
        container = self._take()
        try:
            result = container.invoke(event)
        finally:
            self._give_back(container)
        with self._lock:
            self.invocations.append(OptOutInvocation(door, result))
        return result

    def stop(self) -> None:
        """Stop every idle container; busy ones stop when their invocation ends."""
        with self._lock:
            self._stopped = True
            idle, self._idle = self._idle, []
        for container in idle:
            container.stop()

    def _take(self) -> FunctionContainer:
        with self._free:
            while not self._idle and self._started >= OPT_OUT_CONCURRENCY:
                self._free.wait()
            if self._stopped:
                raise RuntimeError(f"the local {self.name} function has been stopped")
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            return FunctionContainer(self.spec, self._spawn, container_number=self._started)
        except BaseException:
            with self._free:
                self._started -= 1
                self._free.notify()
            raise

    def _give_back(self, container: FunctionContainer) -> None:
        with self._free:
            if container.alive and not self._stopped:
                self._idle.append(container)
            else:
                self._started -= 1
            self._free.notify()
        if self._stopped:
            container.stop()
