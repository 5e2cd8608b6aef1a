"""A function container: one process that inits the function once and then serves invocations, like a Lambda
execution environment. Imports nothing but the standard library, so a container starts as fast as Python does;
only a container told to die at chosen moments (local/worker_faults.py) imports botocore, to watch the function's
requests.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.worker_faults import WorkerFaults, arm_faults

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CODE_ROOT = REPO_ROOT / "lambda"
DEFAULT_HANDLER = "outbound_caller.handler.lambda_handler"
FUNCTION_NAME = "connect-outbound-caller-local"
FUNCTION_MEMORY_MB = 256  # as infra/caller.py deploys it; informational only, the process gets what the machine has
# Lambda's limit on the init phase of an on-demand function (10 s); spawning Python on a busy laptop is
# slower than a Lambda sandbox, so the local limit is generous.
INIT_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda would know about the function: where its code is, its handler, environment and timeout."""

    environment: Mapping[str, str]
    timeout_seconds: float
    log_path: Path
    handler: str = DEFAULT_HANDLER
    code_root: Path = DEFAULT_CODE_ROOT
    name: str = FUNCTION_NAME
    memory_mb: int = FUNCTION_MEMORY_MB
    faults: WorkerFaults | None = None  # deaths to inject; None runs the function undisturbed


class FunctionInitError(RuntimeError):
    """The function failed during init (import of the handler module), as a misconfiguration does."""


# Invocation outcomes, as the runner records them.
SUCCEEDED = "succeeded"  # returned a valid (partial) batch response
FUNCTION_ERROR = "function_error"  # raised, or returned something Lambda cannot use
TIMED_OUT = "timed_out"
CRASHED = "crashed"  # the container process died mid-invocation
INVALID_RESPONSE = "invalid_batch_response"


@dataclass(frozen=True)
class InvocationResult:
    """How one invocation ended, and the response when it returned one."""

    outcome: str
    response: Any = None
    error: str | None = None
    duration_seconds: float = 0.0


class LocalLambdaContext:
    """The attributes and method of the Lambda context object that handlers and Powertools use."""

    def __init__(self, spec_name: str, memory_mb: int, request_id: str, deadline_epoch: float) -> None:
        self.function_name = spec_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{spec_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec_name}"
        self.log_stream_name = f"local/[$LATEST]{os.getpid()}"
        self.identity = None
        self.client_context = None
        self._deadline_epoch = deadline_epoch

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the runner kills this invocation."""
        return max(0, int((self._deadline_epoch - time.time()) * 1000))


def _lambda_runtime_environment(spec: FunctionSpec) -> dict[str, str]:
    """The reserved variables the Lambda runtime sets in every container."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "LAMBDA_TASK_ROOT": str(spec.code_root),
        "_HANDLER": spec.handler,
    }


def _container_main(conn: Connection, spec: FunctionSpec, container_number: int) -> None:
    """Body of a container process: init once (import the handler), then serve invocations until told to stop."""
    log = open(spec.log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    os.environ.update(_lambda_runtime_environment(spec))
    os.environ.update(spec.environment)
    sys.path.insert(0, str(spec.code_root))
    started = time.monotonic()
    try:
        if spec.faults is not None:
            arm_faults(spec.faults, container_number)
        module_name, function_name = spec.handler.rsplit(".", 1)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), function_name)
    except BaseException as error:  # noqa: BLE001 - any init failure is reported, as Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        conn.send(("init_error", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", time.monotonic() - started))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        request_id, event, deadline_epoch = message
        print(f"START RequestId: {request_id} Version: $LATEST")
        invoked = time.monotonic()
        context = LocalLambdaContext(spec.name, spec.memory_mb, request_id, deadline_epoch)
        try:
            # Lambda serializes the response to JSON; a response that cannot be serialized is a function error.
            response = json.loads(json.dumps(handler(event, context)))
            reply: tuple[Any, ...] = ("ok", response)
        except Exception as error:  # noqa: BLE001 - reported as the invocation's error, as Lambda does
            traceback.print_exc()
            reply = ("error", f"{type(error).__name__}: {error}")
        duration_ms = (time.monotonic() - invoked) * 1000
        print(f"END RequestId: {request_id}")
        print(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms")
        conn.send(reply)


class FunctionContainer:
    """One execution environment: a spawned process that inits the function once and serves invocations."""

    def __init__(
        self, spec: FunctionSpec, context: multiprocessing.context.SpawnContext, container_number: int = 0
    ) -> None:
        """Spawn the process and wait for its init; `container_number` tells containers' fault draws apart."""
        self._spec = spec
        # The runner's killer thread and the invoking thread may both kill the container; only one closes the pipe.
        self._kill_lock = threading.Lock()
        parent_conn, child_conn = context.Pipe()
        self._conn = parent_conn
        self._process: BaseProcess = context.Process(
            target=_container_main,
            args=(child_conn, spec, container_number),
            name=f"lambda-container-{container_number}",
            daemon=True,
        )
        self._process.start()
        child_conn.close()
        self.init_seconds = self._await_init()

    def _await_init(self) -> float:
        if not self._conn.poll(INIT_TIMEOUT_SECONDS):
            self.kill()
            raise FunctionInitError(f"the function did not finish init within {INIT_TIMEOUT_SECONDS} s")
        try:
            status, detail = self._conn.recv()
        except EOFError:
            status, detail = "init_error", f"the container exited with code {self._process.exitcode}"
        if status != "ready":
            self.kill()
            raise FunctionInitError(f"{detail} (see {self._spec.log_path})")
        return float(detail)

    @property
    def alive(self) -> bool:
        """Whether the process can take another invocation."""
        return self._process.is_alive()

    def invoke(self, event: dict[str, Any]) -> InvocationResult:
        """Run one invocation; kill the container if it outlives the function timeout."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        deadline_epoch = time.time() + self._spec.timeout_seconds
        try:
            self._conn.send((request_id, event, deadline_epoch))
            if not self._conn.poll(self._spec.timeout_seconds):
                self.kill()
                return InvocationResult(TIMED_OUT, error="Task timed out", duration_seconds=time.monotonic() - started)
            status, detail = self._conn.recv()
        except (EOFError, OSError):
            self.kill()
            return InvocationResult(CRASHED, error="Runtime exited", duration_seconds=time.monotonic() - started)
        duration = time.monotonic() - started
        if status == "ok":
            return InvocationResult(SUCCEEDED, response=detail, duration_seconds=duration)
        return InvocationResult(FUNCTION_ERROR, error=str(detail), duration_seconds=duration)

    def stop(self) -> None:
        """Let the process finish and exit."""
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(timeout=2)
        self.kill()

    def kill(self) -> None:
        """End the process now (SIGKILL), as Lambda does with a timed-out sandbox; safe from any thread, repeatedly."""
        with self._kill_lock:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._conn.close()
