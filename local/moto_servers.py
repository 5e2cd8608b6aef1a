"""Local AWS for a run: moto's server (local/moto_process.py) in processes of its own, on free ports of 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from local.account import LOCAL_HOST
from local.aws_requests import request_counts
from local.moto_process import READY_PREFIX

REPO_ROOT = Path(__file__).resolve().parent.parent
# How long the server process may take to stop once asked.
STOP_TIMEOUT_SECONDS = 5


class _ServerProcess:
    """One `python -m local.moto_process`, listening on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.port: int | None = None

    def start(self) -> None:
        """Start the process and wait until it listens."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local.moto_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        line = self._process.stdout.readline() if self._process.stdout is not None else ""
        if not line.startswith(READY_PREFIX):
            self.stop()
            raise RuntimeError(f"the local AWS server did not start (it said {line!r})")
        self.port = int(line.removeprefix(READY_PREFIX))

    def stop(self) -> None:
        """Stop the process; its resources go with it."""
        process, self._process, self.port = self._process, None, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class LocalAws:
    """moto's server on 127.0.0.1 at a free port, in a process of its own; use as a context manager.

    Its own process, so that moto's work runs beside the pipeline's pollers instead of under their interpreter
    lock; every resource goes with the process when it stops. With ``separate_dynamodb``, DynamoDB gets a second
    process (no service needs it to share the other's memory), so that a busy run uses both cores.
    """

    def __init__(self, separate_dynamodb: bool = False) -> None:
        self._main = _ServerProcess()
        self._dynamodb = _ServerProcess() if separate_dynamodb else None

    @staticmethod
    def _url(server: _ServerProcess) -> str:
        if server.port is None:
            raise RuntimeError("LocalAws is not started")
        return f"http://{LOCAL_HOST}:{server.port}"

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3 (every service)."""
        return self._url(self._main)

    @property
    def dynamodb_url(self) -> str:
        """The endpoint URL to give boto3 for DynamoDB."""
        return self._url(self._dynamodb or self._main)

    def request_counts(self) -> Counter[str]:
        """The requests served so far, by operation (local/aws_requests.py)."""
        return request_counts([self.url, self.dynamodb_url])

    def start(self) -> LocalAws:
        """Start the server processes and wait until they listen."""
        try:
            self._main.start()
            if self._dynamodb is not None:
                self._dynamodb.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server processes; their resources go with them."""
        self._main.stop()
        if self._dynamodb is not None:
            self._dynamodb.stop()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
