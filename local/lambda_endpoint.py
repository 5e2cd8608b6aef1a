"""A local AWS Lambda endpoint for the Invoke API, so that an unmodified boto3 Lambda client (the operators' command
line, `outbound_caller.cli suppress`) reaches the local opt-out function.

moto's Lambda runs functions in Docker, which the local pipeline does without; this endpoint serves Invoke only, in
Lambda's REST-JSON protocol (``POST /2015-03-31/functions/{FunctionName}/invocations``): RequestResponse answers 200
with the function's response as the payload, a function's error as ``X-Amz-Function-Error: Unhandled`` with Lambda's
``errorType``/``errorMessage`` payload; Event answers 202 and invokes in the background; DryRun answers 204. A
function it does not serve is a 404 ResourceNotFoundException; a payload that is not JSON, 400
InvalidRequestContentException, as Lambda answers.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from local.account import LOCAL_HOST
from local.function_container import FUNCTION_ERROR, SUCCEEDED, TIMED_OUT, FunctionInitError, InvocationResult

# The Invoke operation's path (the API version is part of it).
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
# A function named by its ARN or partial ARN (``123456789012:function:name``), with or without a qualifier.
FUNCTION_IN_ARN = re.compile(r"^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?function:(?P<name>[^:]+)(?::.+)?$")
SHUTDOWN_POLL_SECONDS = 0.05
# Invoke(event, door) of a function the endpoint serves; the door names who invoked it.
Invoker = Callable[[dict[str, Any], str], InvocationResult]
# The door's name, as the opt-out function's invocations record it.
INVOKE_API_DOOR = "invoke-api"


def function_name_of(name_or_arn: str) -> str:
    """The function's name, however Invoke's FunctionName gives it (name, ARN, partial ARN)."""
    match = FUNCTION_IN_ARN.fullmatch(name_or_arn)
    return match["name"] if match else name_or_arn.split(":", 1)[0]


def error_payload(result: InvocationResult) -> dict[str, str]:
    """Lambda's payload for an invocation that failed: the exception's type and message, or the runtime's words."""
    if result.outcome == TIMED_OUT:
        return {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"Task timed out after {result.duration_seconds:.2f} seconds",
        }
    if result.outcome == FUNCTION_ERROR and result.error and ": " in result.error:
        error_type, message = result.error.split(": ", 1)
        return {"errorType": error_type, "errorMessage": message}
    return {"errorType": "Runtime.ExitError", "errorMessage": result.error or "Runtime exited"}


class _LambdaRequestHandler(BaseHTTPRequestHandler):
    """HTTP front of the functions: routes Invoke and renders answers as Lambda's REST-JSON protocol does."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    functions: dict[str, Invoker]  # set on a subclass per server

    def handle(self) -> None:
        """Serve the connection's requests; a caller that hung up is no error of the server's."""
        with contextlib.suppress(ConnectionError):
            super().handle()

    def do_POST(self) -> None:
        """Invoke is the only operation served."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = INVOKE_PATH.fullmatch(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, {"Message": f"No operation at POST {self.path}"}, "UnknownOperationException")
            return
        name = function_name_of(unquote(route["name"]))
        function = self.functions.get(name)
        if function is None:
            self._send(404, {"Type": "User", "Message": f"Function not found: {name}"}, "ResourceNotFoundException")
            return
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            message = "Could not parse request body into json: the payload is not JSON"
            self._send(400, {"Type": "User", "Message": message}, "InvalidRequestContentException")
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            self._send(204, None)
        elif invocation_type == "Event":
            threading.Thread(target=function, args=(event, INVOKE_API_DOOR), daemon=True).start()
            self._send(202, None)
        else:
            self._invoke(function, event)

    def do_GET(self) -> None:
        """Any other operation is unknown here (Invoke is a POST)."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(404, {"Message": f"No operation at {self.command} {self.path}"}, "UnknownOperationException")

    do_PUT = do_GET
    do_DELETE = do_GET

    def _invoke(self, function: Invoker, event: Any) -> None:
        try:
            result = function(event, INVOKE_API_DOOR)
        except FunctionInitError as error:
            result = InvocationResult(FUNCTION_ERROR, error=f"Runtime.ImportModuleError: {error}")
        if result.outcome == SUCCEEDED:
            self._send(200, result.response)
        else:
            self._send(200, error_payload(result), function_error="Unhandled")

    def _send(
        self, status: int, payload: Any, error_type: str | None = None, function_error: str | None = None
    ) -> None:
        """Write a JSON answer (none for 202 and 204) with the headers botocore reads."""
        data = b"" if status in (202, 204) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if status == 200:
            self.send_header("X-Amz-Executed-Version", "$LATEST")
        if error_type is not None:
            self.send_header("x-amzn-ErrorType", error_type)
        if function_error is not None:
            self.send_header("X-Amz-Function-Error", function_error)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the functions keep their own record."""


class LocalLambdaEndpoint:
    """Lambda's Invoke for the functions registered, served on 127.0.0.1 at a free port; use as a context manager."""

    def __init__(self, host: str = LOCAL_HOST, port: int = 0) -> None:
        self.functions: dict[str, Invoker] = {}
        handler = type("LambdaRequestHandler", (_LambdaRequestHandler,), {"functions": self.functions})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="local-lambda", daemon=True
        )

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3 (AWS_ENDPOINT_URL_LAMBDA, or the command line's --endpoint-url)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self, name: str, invoke: Invoker) -> None:
        """Answer Invoke of the function ``name`` with ``invoke``."""
        self.functions[name] = invoke

    def __enter__(self) -> LocalLambdaEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
