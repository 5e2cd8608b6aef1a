"""A local Amazon Connect endpoint for StartOutboundVoiceContact that an unmodified boto3 client can call.

It speaks the operation's real REST-JSON protocol (``PUT /contact/outbound-voice``, a JSON body, errors as
``x-amzn-ErrorType`` plus a JSON ``Message``) and models what matters to a caller: the API quota as a token
bucket, the instance's concurrent active calls, ClientToken idempotency, and faults injected on purpose.

ClientToken idempotency is Connect's, not a kinder one: a repeated token returns its contact only while that
contact is live; once the call has ended, the same token starts a new call. Faults come in two kinds: those
before anything is created (500, 429, a dropped connection), and those after the contact exists (a 500, an
answer slower than the caller's read timeout, a dropped connection), which leave a live call the caller never
heard about; a caller that retries them with a new token, or after the call ended, rings the customer twice.

Besides its counts, the instance keeps a timeline of every request (local/connect_timeline.py), for charts of a run.
"""

from __future__ import annotations

import contextlib
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

from local.connect_timeline import DROPPED, Answer, Timeline

START_OUTBOUND_VOICE_CONTACT_PATH = "/contact/outbound-voice"

# Service quotas of a new Connect instance ("Amazon Connect service quotas", API throttling quotas):
# StartOutboundVoiceContact 2 requests per second with a burst of 5; 10 concurrent active calls per instance.
DEFAULT_CALLS_PER_SECOND = 2.0
DEFAULT_BURST = 5
DEFAULT_MAX_CONCURRENT_CALLS = 10
DEFAULT_CALL_DURATION_SECONDS = 5.0

# Destinations the local instance refuses, as a real one refuses countries outside its telephony allow list.
# +44 20 7946 09xx lies in Ofcom's London range reserved for drama (+44 20 7946 0000-0999), so no real person can
# be dialled by accident; it is a valid UK fixed line to libphonenumber, so the function's own calling-safety checks
# (country, number type, time zone) let it through to Connect, which is what refuses it.
DEFAULT_REFUSED_DESTINATION_PREFIXES = ("+4420794609",)
# Destinations with scripted failures, which drive the demo's sample outcomes; nothing is created for any of them:
# - unreachable ones always answer 500 InternalServiceException;
# - throttled ones always answer 429 TooManyRequestsException;
# - flaky ones answer 429 TooManyRequestsException to the first few attempts of each ClientToken, then behave
#   normally (so a redelivery, with the same token, is placed).
# All lie in +1 212 555 01xx: 555-0100..0199 is the NANP range reserved for fiction, and under a real area code
# (New York's 212) libphonenumber places it in the US and America/New_York, as calling safety needs.
DEFAULT_UNREACHABLE_DESTINATION_PREFIXES = ("+1212555017",)
DEFAULT_THROTTLED_DESTINATION_PREFIXES = ("+1212555016",)
DEFAULT_FLAKY_DESTINATION_PREFIXES = ("+1212555018",)
# Three failures outlast the function's in-call retries (botocore standard mode, 3 attempts) exactly once.
DEFAULT_FLAKY_FAILURES = 3
# Longer than the function's read timeout for Connect (CONNECT_READ_TIMEOUT_SECONDS = 5 in
# lambda/outbound_caller/timeouts.py), so a slow answer arrives after the caller has given up.
DEFAULT_SLOW_ANSWER_SECONDS = 6.0

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
IDEMPOTENT_REPLAY = "IdempotentReplay"  # a 200 that returned the live contact of an earlier request's token

# Names of the injected faults that ConnectStats.faults counts.
SERVER_ERROR_AFTER_CREATE = "server_error_after_create"  # the contact exists, the answer is a 500
READ_TIMEOUT_AFTER_CREATE = "read_timeout_after_create"  # the contact exists, the answer comes too late
DROP_AFTER_CREATE = "drop_after_create"  # the contact exists, the connection closes without an answer
DROP_BEFORE_CREATE = "drop_before_create"  # the connection closes without an answer, nothing created
DROPPED_CONNECTION_FAULTS = frozenset({DROP_AFTER_CREATE, DROP_BEFORE_CREATE})

# The rates of each kind of fault, in the order their shares are laid along one random draw.
_RATES_BEFORE_CREATE = ("server_error_rate", "throttle_rate", "drop_before_create_rate")
_RATES_AFTER_CREATE = {
    SERVER_ERROR_AFTER_CREATE: "server_error_after_create_rate",
    READ_TIMEOUT_AFTER_CREATE: "read_timeout_after_create_rate",
    DROP_AFTER_CREATE: "drop_after_create_rate",
}


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
    throttled_destination_prefixes: tuple[str, ...] = DEFAULT_THROTTLED_DESTINATION_PREFIXES
    flaky_destination_prefixes: tuple[str, ...] = DEFAULT_FLAKY_DESTINATION_PREFIXES
    flaky_failures: int = DEFAULT_FLAKY_FAILURES  # 429s per ClientToken before a flaky destination is placed
    call_duration_max_seconds: float | None = None  # when set, each call lasts uniformly between the two
    # Faults before anything is created: shares of one draw per request, so together at most 1.
    server_error_rate: float = 0.0  # share of requests answered 500 InternalServiceException
    throttle_rate: float = 0.0  # share of requests answered 429 TooManyRequestsException on top of the quota
    drop_before_create_rate: float = 0.0  # share of requests whose connection closes without an answer
    # Faults once the request has its contact (created, or found live under its token): shares of one draw per
    # such request, so together at most 1.
    server_error_after_create_rate: float = 0.0  # answered 500 InternalServiceException
    read_timeout_after_create_rate: float = 0.0  # answered 200 only after slow_answer_seconds
    drop_after_create_rate: float = 0.0  # the connection closes without an answer
    slow_answer_seconds: float = DEFAULT_SLOW_ANSWER_SECONDS
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
        for name in ("call_duration_seconds", "latency_seconds", "slow_answer_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.call_duration_max_seconds is not None and self.call_duration_max_seconds < self.call_duration_seconds:
            raise ValueError("call_duration_max_seconds must not be less than call_duration_seconds")
        if self.flaky_failures < 0:
            raise ValueError("flaky_failures must not be negative")
        for group in (_RATES_BEFORE_CREATE, tuple(_RATES_AFTER_CREATE.values())):
            for name in group:
                if not 0.0 <= getattr(self, name) <= 1.0:
                    raise ValueError(f"{name} must be between 0 and 1")
            if sum(getattr(self, name) for name in group) > 1.0:
                raise ValueError(f"{' + '.join(group)} must not exceed 1: they are shares of one draw")


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
    duration_seconds: float
    # The request's Attributes, so a harness can tell which request a contact belongs to.
    attributes: dict[str, str] = field(default_factory=dict, hash=False)


class ConnectError(Exception):
    """An error answer of the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DroppedConnectionError(Exception):
    """The instance closes the connection without answering."""


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
        return sum(count for code, count in self.responses.items() if ERROR_STATUS.get(code) == 429)


class LocalConnectInstance:
    """The state of one Connect instance: quota, active calls, idempotency tokens, placed calls."""

    def __init__(self, behaviour: ConnectBehaviour) -> None:
        self.behaviour = behaviour
        self._lock = threading.Lock()
        self._bucket = TokenBucket(behaviour.calls_per_second, behaviour.burst)
        self._random = random.Random(behaviour.seed)
        self._active_call_ends: list[float] = []
        self._contacts_by_token: dict[str, PlacedCall] = {}  # the latest contact of each token
        self._flaky_attempts: Counter[str] = Counter()
        self._placed: list[PlacedCall] = []
        self._stats = ConnectStats()
        self._timeline = Timeline()

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
                contacts_created=self._stats.contacts_created,
                faults=Counter(self._stats.faults),
            )

    def active_calls(self) -> int:
        """Calls still in progress."""
        with self._lock:
            return self._expire_calls(time.monotonic())

    def timeline(self) -> list[Answer]:
        """Every request received so far, in order: when, its outcome, and the calls then in progress."""
        with self._lock:
            return self._timeline.answers()

    def start_outbound_voice_contact(self, request: dict[str, Any]) -> str:
        """Answer one request with a ContactId, or raise ConnectError or DroppedConnectionError as configured."""
        if self.behaviour.latency_seconds:
            time.sleep(self.behaviour.latency_seconds)
        with self._lock:
            if self._stats.first_request_at is None:
                self._stats.first_request_at = time.time()
            try:
                call, code = self._decide(request)
            except ConnectError as error:
                self._answer(error.code)
                raise
            except DroppedConnectionError:
                self._note(DROPPED)
                raise
            created = call if code == PLACED else None
            fault = self._fault_after_create()
            if fault == SERVER_ERROR_AFTER_CREATE:
                self._answer("InternalServiceException", created)
                raise _internal_error()
            if fault == DROP_AFTER_CREATE:
                self._note(DROPPED, created)
                raise DroppedConnectionError(fault)
            self._answer(code, created)
        if fault == READ_TIMEOUT_AFTER_CREATE:
            # Outside the lock: the instance keeps answering other requests while this answer is held.
            time.sleep(self.behaviour.slow_answer_seconds)
        return call.contact_id

    def _answer(self, code: str, created: PlacedCall | None = None) -> None:
        """Count an answer and put it on the timeline. Caller holds the lock."""
        self._stats.responses[code] += 1
        self._note(code, created)

    def _note(self, outcome: str, created: PlacedCall | None = None) -> None:
        """Put a request decided now on the timeline, with the contact it created if any. Caller holds the lock."""
        ends_at = None if created is None else created.placed_at + created.duration_seconds
        self._timeline.record(Answer(time.time(), outcome, self._expire_calls(time.monotonic()), ends_at))

    def _decide(self, request: dict[str, Any]) -> tuple[PlacedCall, str]:
        """Quota, service faults, validation, destination scripts, idempotency, allow list, concurrency: in order.

        Returns the contact (created, or the live one of the request's token) and PLACED or IDEMPOTENT_REPLAY.
        """
        behaviour = self.behaviour
        if not self._bucket.try_take():
            raise ConnectError("ThrottlingException", "Rate exceeded")
        roll = self._random.random()
        if roll < behaviour.server_error_rate:
            raise _internal_error()
        if roll < behaviour.server_error_rate + behaviour.throttle_rate:
            raise _too_many_requests()
        if roll < behaviour.server_error_rate + behaviour.throttle_rate + behaviour.drop_before_create_rate:
            self._stats.faults[DROP_BEFORE_CREATE] += 1
            raise DroppedConnectionError(DROP_BEFORE_CREATE)
        self._validate(request)
        token = request.get("ClientToken")
        self._fail_scripted_destination(request["DestinationPhoneNumber"], token)
        now = time.monotonic()
        # Connect honours a token only while its contact is live: "If the contact is disconnected, a new
        # contact is started" (StartOutboundVoiceContact, ClientToken).
        earlier = self._contacts_by_token.get(token) if token is not None else None
        if earlier is not None and earlier.ends_at > now:
            return earlier, IDEMPOTENT_REPLAY
        destination = request["DestinationPhoneNumber"]
        if destination.startswith(behaviour.refused_destination_prefixes):
            raise ConnectError(
                "DestinationNotAllowedException", "Outbound calls to the specified destination are not allowed"
            )
        if self._expire_calls(now) >= behaviour.max_concurrent_calls:
            raise ConnectError("LimitExceededException", "The allowed limit for the resource has been exceeded")
        duration = self._call_duration()
        call = PlacedCall(
            contact_id=str(uuid.uuid4()),
            client_token=token,
            destination=destination,
            contact_flow_id=request["ContactFlowId"],
            placed_at=time.time(),
            ends_at=now + duration,
            duration_seconds=duration,
            attributes=dict(request.get("Attributes") or {}),
        )
        self._placed.append(call)
        self._active_call_ends.append(call.ends_at)
        self._stats.contacts_created += 1
        self._stats.max_active_calls = max(self._stats.max_active_calls, len(self._active_call_ends))
        self._stats.last_placed_at = call.placed_at
        if token is not None:
            self._contacts_by_token[token] = call
        return call, PLACED

    def _call_duration(self) -> float:
        """How long a new call lasts: fixed, or drawn between the two bounds. Caller holds the lock."""
        low, high = self.behaviour.call_duration_seconds, self.behaviour.call_duration_max_seconds
        return low if high is None else self._random.uniform(low, high)

    def _fault_after_create(self) -> str | None:
        """Draw the fault, if any, that meets a request which has its contact. Caller holds the lock."""
        shares = {fault: float(getattr(self.behaviour, rate)) for fault, rate in _RATES_AFTER_CREATE.items()}
        # No draw when no such fault is configured, so seeded runs without them keep their old sequence.
        if not any(shares.values()):
            return None
        roll = self._random.random()
        bound = 0.0
        for fault, share in shares.items():
            bound += share
            if roll < bound:
                self._stats.faults[fault] += 1
                return fault
        return None

    def _fail_scripted_destination(self, destination: str, token: str | None) -> None:
        """Answer the destinations with scripted failures: unreachable, throttled, and flaky under each token."""
        behaviour = self.behaviour
        if destination.startswith(behaviour.unreachable_destination_prefixes):
            raise _internal_error()
        if destination.startswith(behaviour.throttled_destination_prefixes):
            raise _too_many_requests()
        if destination.startswith(behaviour.flaky_destination_prefixes):
            key = token or destination
            self._flaky_attempts[key] += 1
            if self._flaky_attempts[key] <= behaviour.flaky_failures:
                raise _too_many_requests()

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
        attributes = request.get("Attributes", {})
        if not isinstance(attributes, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in attributes.items()
        ):
            raise ConnectError("InvalidParameterException", "Attributes must map strings to strings")
        if not request.get("SourcePhoneNumber") and not request.get("QueueId"):
            raise ConnectError("InvalidRequestException", "Either SourcePhoneNumber or QueueId must be provided")

    def _expire_calls(self, now: float) -> int:
        """Drop calls that have ended; return how many are still active. Caller holds the lock."""
        self._active_call_ends = [end for end in self._active_call_ends if end > now]
        return len(self._active_call_ends)


def _internal_error() -> ConnectError:
    """The API's answer to a failure on its side."""
    return ConnectError("InternalServiceException", "Request processing failed because of an internal error")


def _too_many_requests() -> ConnectError:
    """The API's answer to more requests than it takes, beyond the ThrottlingException of the quota."""
    return ConnectError("TooManyRequestsException", "Too many requests")


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
        except DroppedConnectionError:
            # Nothing written; the server closes the socket once this handler returns.
            self.close_connection = True
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
