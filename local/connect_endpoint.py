"""A local Amazon Connect endpoint for StartOutboundVoiceContact that an unmodified boto3 client can call.

It speaks the operation's real REST-JSON protocol (``PUT /contact/outbound-voice``, a JSON body, errors as
``x-amzn-ErrorType`` plus a JSON ``Message``) and models what matters to a caller: the API quota as a token
bucket, the instance's concurrent active calls, ClientToken idempotency, and faults injected on purpose.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

START_OUTBOUND_VOICE_CONTACT_PATH = "/contact/outbound-voice"

# Service quotas of a new Connect instance ("Amazon Connect service quotas", API throttling quotas):
# StartOutboundVoiceContact 2 requests per second with a burst of 5; 10 concurrent active calls per instance.
DEFAULT_CALLS_PER_SECOND = 2.0
DEFAULT_BURST = 5
DEFAULT_MAX_CONCURRENT_CALLS = 10
DEFAULT_CALL_DURATION_SECONDS = 5.0

# Destinations the local instance refuses, as a real one refuses countries outside its telephony allow list.
# +44 7700 900xxx is Ofcom's range reserved for drama, so no real person can be dialled by accident.
DEFAULT_REFUSED_DESTINATION_PREFIXES = ("+447700900",)
# Destinations whose requests always fail with InternalServiceException, and destinations whose requests fail
# that way for the first few attempts of each ClientToken (so a redelivery, with the same token, succeeds).
# Both lie in +1 555 555 01xx, the NANP range reserved for fiction.
DEFAULT_UNREACHABLE_DESTINATION_PREFIXES = ("+1555555017",)
DEFAULT_FLAKY_DESTINATION_PREFIXES = ("+1555555018",)
# Three failures outlast the function's in-call retries (botocore standard mode, 3 attempts) exactly once.
DEFAULT_FLAKY_FAILURES = 3

# The API model's pattern for DestinationPhoneNumber and SourcePhoneNumber (E.164).
E164_PATTERN = re.compile(r"^\+[1-9]\d{1,14}$")

# HTTP status of each error, from the Connect API model (botocore's connect/2017-08-08/service-2.json).
ERROR_STATUS: dict[str, int] = {
    "InvalidRequestException": 400,
    "InvalidParameterException": 400,
    "AccessDeniedException": 403,
    "DestinationNotAllowedException": 403,
    "OutboundContactNotPermittedException": 403,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "TooManyRequestsException": 429,
    "LimitExceededException": 429,
    "InternalServiceException": 500,
}

# How often the server loop checks for shutdown (http.server's default of 0.5 s makes every stop slow).
SHUTDOWN_POLL_SECONDS = 0.05

PLACED = "Placed"  # the response code recorded for a 200 that created a contact
IDEMPOTENT_REPLAY = "IdempotentReplay"  # a 200 that returned the contact of an earlier request with the same token


@dataclass(frozen=True)
class ConnectBehaviour:
    """How the local Connect instance behaves: its quotas and the faults to inject."""

    instance_id: str | None = None  # when set, any other InstanceId gets ResourceNotFoundException
    calls_per_second: float = DEFAULT_CALLS_PER_SECOND
    burst: int = DEFAULT_BURST
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    call_duration_seconds: float = DEFAULT_CALL_DURATION_SECONDS
    refused_destination_prefixes: tuple[str, ...] = DEFAULT_REFUSED_DESTINATION_PREFIXES
    denied_contact_flow_ids: frozenset[str] = frozenset()  # flows the caller's IAM policy does not grant
    unreachable_destination_prefixes: tuple[str, ...] = DEFAULT_UNREACHABLE_DESTINATION_PREFIXES
    flaky_destination_prefixes: tuple[str, ...] = DEFAULT_FLAKY_DESTINATION_PREFIXES
    flaky_failures: int = DEFAULT_FLAKY_FAILURES  # failed attempts per ClientToken before a flaky one succeeds
    server_error_rate: float = 0.0  # share of requests answered 500 InternalServiceException
    throttle_rate: float = 0.0  # share of requests answered 429 TooManyRequestsException on top of the quota
    latency_seconds: float = 0.0  # added to every answer
    seed: int | None = None

    def __post_init__(self) -> None:
        """Reject settings that describe no possible instance."""
        if self.calls_per_second <= 0:
            raise ValueError("calls_per_second must be greater than 0")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        if self.max_concurrent_calls < 1:
            raise ValueError("max_concurrent_calls must be at least 1")
        if self.call_duration_seconds < 0 or self.latency_seconds < 0:
            raise ValueError("call_duration_seconds and latency_seconds must not be negative")
        if self.flaky_failures < 0:
            raise ValueError("flaky_failures must not be negative")
        for name in ("server_error_rate", "throttle_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


class TokenBucket:
    """The API quota: `rate` tokens per second refill a bucket holding at most `burst`; a request takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def try_take(self) -> bool:
        """Take a token if one is available."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass(frozen=True)
class PlacedCall:
    """A contact the local instance created."""

    contact_id: str
    client_token: str | None
    destination: str
    contact_flow_id: str
    placed_at: float  # time.time()
    ends_at: float  # time.monotonic()


class ConnectError(Exception):
    """An error answer of the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ConnectStats:
    """What the local instance saw, for reports and assertions."""

    responses: Counter[str] = field(default_factory=Counter)  # PLACED, IDEMPOTENT_REPLAY or an error code
    max_active_calls: int = 0
    first_request_at: float | None = None
    last_placed_at: float | None = None

    @property
    def requests(self) -> int:
        """All StartOutboundVoiceContact requests received, SDK retries included."""
        return sum(self.responses.values())

    @property
    def throttled(self) -> int:
        """Answers with HTTP status 429."""
        return sum(count for code, count in self.responses.items() if ERROR_STATUS.get(code) == 429)


class LocalConnectInstance:
    """The state of one Connect instance: quota, active calls, idempotency tokens, placed calls."""

    def __init__(self, behaviour: ConnectBehaviour) -> None:
        self.behaviour = behaviour
        self._lock = threading.Lock()
        self._bucket = TokenBucket(behaviour.calls_per_second, behaviour.burst)
        self._random = random.Random(behaviour.seed)
        self._active_call_ends: list[float] = []
        self._contacts_by_token: dict[str, str] = {}
        self._flaky_attempts: Counter[str] = Counter()
        self._placed: list[PlacedCall] = []
        self._stats = ConnectStats()

    @property
    def placed_calls(self) -> list[PlacedCall]:
        """Every contact created, in order."""
        with self._lock:
            return list(self._placed)

    @property
    def stats(self) -> ConnectStats:
        """A snapshot of what the instance has seen."""
        with self._lock:
            return ConnectStats(
                responses=Counter(self._stats.responses),
                max_active_calls=self._stats.max_active_calls,
                first_request_at=self._stats.first_request_at,
                last_placed_at=self._stats.last_placed_at,
            )

    def active_calls(self) -> int:
        """Calls still in progress."""
        with self._lock:
            return self._expire_calls(time.monotonic())

    def start_outbound_voice_contact(self, request: dict[str, Any]) -> str:
        """Answer one request with a ContactId, or raise ConnectError as the real API would."""
        if self.behaviour.latency_seconds:
            time.sleep(self.behaviour.latency_seconds)
        with self._lock:
            if self._stats.first_request_at is None:
                self._stats.first_request_at = time.time()
            try:
                contact_id, code = self._decide(request)
            except ConnectError as error:
                self._stats.responses[error.code] += 1
                raise
            self._stats.responses[code] += 1
            return contact_id

    def _decide(self, request: dict[str, Any]) -> tuple[str, str]:
        """Quota, service faults, validation, idempotency, destination allow list, concurrent calls: in that order."""
        behaviour = self.behaviour
        if not self._bucket.try_take():
            raise ConnectError("ThrottlingException", "Rate exceeded")
        roll = self._random.random()
        if roll < behaviour.server_error_rate:
            raise ConnectError("InternalServiceException", "Request processing failed because of an internal error")
        if roll < behaviour.server_error_rate + behaviour.throttle_rate:
            raise ConnectError("TooManyRequestsException", "Too many requests")
        self._validate(request)
        token = request.get("ClientToken")
        self._fail_unreliable_destination(request["DestinationPhoneNumber"], token)
        if token is not None and token in self._contacts_by_token:
            return self._contacts_by_token[token], IDEMPOTENT_REPLAY
        destination = request["DestinationPhoneNumber"]
        if destination.startswith(behaviour.refused_destination_prefixes):
            raise ConnectError(
                "DestinationNotAllowedException", "Outbound calls to the specified destination are not allowed"
            )
        now = time.monotonic()
        if self._expire_calls(now) >= behaviour.max_concurrent_calls:
            raise ConnectError("LimitExceededException", "The allowed limit for the resource has been exceeded")
        call = PlacedCall(
            contact_id=str(uuid.uuid4()),
            client_token=token,
            destination=destination,
            contact_flow_id=request["ContactFlowId"],
            placed_at=time.time(),
            ends_at=now + behaviour.call_duration_seconds,
        )
        self._placed.append(call)
        self._active_call_ends.append(call.ends_at)
        self._stats.max_active_calls = max(self._stats.max_active_calls, len(self._active_call_ends))
        self._stats.last_placed_at = call.placed_at
        if token is not None:
            self._contacts_by_token[token] = call.contact_id
        return call.contact_id, PLACED

    def _fail_unreliable_destination(self, destination: str, token: str | None) -> None:
        """Answer 500 for unreachable destinations, and for a flaky one's first attempts under each token."""
        if destination.startswith(self.behaviour.unreachable_destination_prefixes):
            raise ConnectError("InternalServiceException", "Request processing failed because of an internal error")
        if destination.startswith(self.behaviour.flaky_destination_prefixes):
            key = token or destination
            self._flaky_attempts[key] += 1
            if self._flaky_attempts[key] <= self.behaviour.flaky_failures:
                raise ConnectError("InternalServiceException", "Request processing failed because of an internal error")

    def _validate(self, request: dict[str, Any]) -> None:
        """The checks the service makes on a request that passed the SDK's own validation."""
        for member in ("DestinationPhoneNumber", "ContactFlowId", "InstanceId"):
            if not isinstance(request.get(member), str):
                raise ConnectError("InvalidParameterException", f"{member} is required")
        if self.behaviour.instance_id is not None and request["InstanceId"] != self.behaviour.instance_id:
            raise ConnectError("ResourceNotFoundException", "Instance not found")
        if request["ContactFlowId"] in self.behaviour.denied_contact_flow_ids:
            raise ConnectError("AccessDeniedException", "You do not have sufficient access to perform this action")
        for member in ("DestinationPhoneNumber", "SourcePhoneNumber"):
            if member in request and not E164_PATTERN.match(str(request[member])):
                raise ConnectError("InvalidParameterException", f"{member} is not a valid E.164 phone number")
        if not request.get("SourcePhoneNumber") and not request.get("QueueId"):
            raise ConnectError("InvalidRequestException", "Either SourcePhoneNumber or QueueId must be provided")

    def _expire_calls(self, now: float) -> int:
        """Drop calls that have ended; return how many are still active. Caller holds the lock."""
        self._active_call_ends = [end for end in self._active_call_ends if end > now]
        return len(self._active_call_ends)


class _ConnectRequestHandler(BaseHTTPRequestHandler):
    """HTTP front of the instance: routes the operation and renders answers as the REST-JSON protocol does."""

    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for a delayed ACK between
    instance: LocalConnectInstance  # set on a subclass per server

    def do_PUT(self) -> None:
        """StartOutboundVoiceContact is the only operation served."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != START_OUTBOUND_VOICE_CONTACT_PATH:
            self._send(404, {"Message": f"No operation at PUT {self.path}"}, "UnknownOperationException")
            return
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError:
            self._send(400, {"Message": "The request body is not a JSON object"}, "SerializationException")
            return
        try:
            contact_id = self.instance.start_outbound_voice_contact(request)
        except ConnectError as error:
            self._send(ERROR_STATUS[error.code], {"Message": error.message}, error.code)
            return
        self._send(200, {"ContactId": contact_id})

    def do_POST(self) -> None:
        """Any other operation is unknown here."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(404, {"Message": f"No operation at POST {self.path}"}, "UnknownOperationException")

    do_GET = do_POST
    do_DELETE = do_POST

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
