"""A local Amazon Connect endpoint for StartOutboundVoiceContact, DescribeContact and GetCurrentMetricData that an
unmodified boto3 client can call.

It speaks the operation's real REST-JSON protocol (``PUT /contact/outbound-voice``, a JSON body, errors as
``x-amzn-ErrorType`` plus a JSON ``Message`` with the API model's status) in front of one LocalConnectInstance
(local/connect_instance.py), which decides and records every answer.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.connect_behaviour import ConnectBehaviour
from local.connect_errors import ERROR_STATUS, ConnectError, DroppedConnectionError
from local.connect_instance import LocalConnectInstance

START_OUTBOUND_VOICE_CONTACT_PATH = "/contact/outbound-voice"
# DescribeContact: GET /contacts/{InstanceId}/{ContactId}
DESCRIBE_CONTACT_PATH = re.compile(r"^/contacts/(?P<instance>[^/?]+)/(?P<contact>[^/?]+)$")
# GetCurrentMetricData: POST /metrics/current/{InstanceId}
CURRENT_METRICS_PATH = re.compile(r"^/metrics/current/(?P<instance>[^/?]+)$")
# How often the server loop checks for shutdown (http.server's default of 0.5 s makes every stop slow).
SHUTDOWN_POLL_SECONDS = 0.05


class _ConnectRequestHandler(BaseHTTPRequestHandler):
    """HTTP front of the instance: routes the operation and renders answers as the REST-JSON protocol does."""

    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for a delayed ACK between
    instance: LocalConnectInstance  # set on a subclass per server

    def handle(self) -> None:
        """Serve the connection's requests; a caller that hung up is no error of the server's."""
        # A caller whose read timeout passed before a held answer may reset the connection under the write.
        with contextlib.suppress(ConnectionError):
            super().handle()

    def do_PUT(self) -> None:
        """StartOutboundVoiceContact is the only PUT operation served."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != START_OUTBOUND_VOICE_CONTACT_PATH:
            self._send(404, {"Message": f"No operation at PUT {self.path}"}, "UnknownOperationException")
            return
        request = self._json_object(body)
        if request is None:
            return
        try:
            contact_id = self.instance.start_outbound_voice_contact(request)
        except ConnectError as error:
            self._send(ERROR_STATUS[error.code], {"Message": error.message}, error.code)
            return
        except DroppedConnectionError:
            # Nothing written; the server closes the socket once this handler returns.
            self.close_connection = True
            return
        self._send(200, {"ContactId": contact_id})

    def do_POST(self) -> None:
        """GetCurrentMetricData; any other operation is unknown here."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = CURRENT_METRICS_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, {"Message": f"No operation at POST {self.path}"}, "UnknownOperationException")
            return
        request = self._json_object(body)
        if request is None:
            return
        try:
            answer = self.instance.get_current_metric_data(match["instance"], request)
        except ConnectError as error:
            self._send(ERROR_STATUS[error.code], {"Message": error.message}, error.code)
            return
        self._send(200, answer)

    def _json_object(self, body: bytes) -> dict[str, Any] | None:
        """The request body as a JSON object; None once a 400 SerializationException has been sent instead."""
        try:
            request = json.loads(body or b"{}")
            if isinstance(request, dict):
                return request
        except ValueError:
            pass
        self._send(400, {"Message": "The request body is not a JSON object"}, "SerializationException")
        return None

    def do_DELETE(self) -> None:
        """No DELETE operation is served."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(404, {"Message": f"No operation at DELETE {self.path}"}, "UnknownOperationException")

    def do_GET(self) -> None:
        """DescribeContact; any other operation is unknown here."""
        match = DESCRIBE_CONTACT_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, {"Message": f"No operation at GET {self.path}"}, "UnknownOperationException")
            return
        try:
            contact = self.instance.describe_contact(match["instance"], match["contact"])
        except ConnectError as error:
            self._send(ERROR_STATUS[error.code], {"Message": error.message}, error.code)
            return
        self._send(200, contact)

    def _send(self, status: int, payload: dict[str, Any], error_type: str | None = None) -> None:
        """Write a JSON answer with the headers botocore reads."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type is not None:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the instance's stats are the record."""


class LocalConnectEndpoint:
    """A LocalConnectInstance served on 127.0.0.1 at a free port; use as a context manager."""

    def __init__(self, behaviour: ConnectBehaviour | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.instance = LocalConnectInstance(behaviour or ConnectBehaviour())
        handler = type("ConnectRequestHandler", (_ConnectRequestHandler,), {"instance": self.instance})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="local-connect", daemon=True
        )

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3 (AWS_ENDPOINT_URL_CONNECT)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalConnectEndpoint:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> LocalConnectEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
