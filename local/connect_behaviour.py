"""How a local Connect instance is set to behave: its quotas, the destinations it refuses or fails on purpose, and
the shares of requests that meet each injected fault.

Settings only; local/connect_rules.py applies them to each request. Faults come in two kinds: those before anything
is created (500, 429, a dropped connection), and those after the contact exists (a 500, an answer slower than the
caller's read timeout, a dropped connection), which leave a live call the caller never heard about; a caller that
retries them with a new token, or after the call ended, rings the customer twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from local.connect_agents import QueueStaffing
from local.connect_outcomes import OutcomeMix

# Service quotas of a new Connect instance ("Amazon Connect service quotas", API throttling quotas):
# StartOutboundVoiceContact 2 requests per second with a burst of 5; 10 concurrent active calls per instance.
DEFAULT_CALLS_PER_SECOND = 2.0
DEFAULT_BURST = 5
DEFAULT_MAX_CONCURRENT_CALLS = 10
DEFAULT_CALL_DURATION_SECONDS = 5.0
# GetCurrentMetricData and GetMetricData have their own (same page): 5 requests per second with a burst of 8.
DEFAULT_METRICS_PER_SECOND = 5.0
DEFAULT_METRICS_BURST = 8

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

# Names of the injected faults that ConnectStats.faults counts.
SERVER_ERROR_AFTER_CREATE = "server_error_after_create"  # the contact exists, the answer is a 500
READ_TIMEOUT_AFTER_CREATE = "read_timeout_after_create"  # the contact exists, the answer comes too late
DROP_AFTER_CREATE = "drop_after_create"  # the contact exists, the connection closes without an answer
DROP_BEFORE_CREATE = "drop_before_create"  # the connection closes without an answer, nothing created
DROPPED_CONNECTION_FAULTS = frozenset({DROP_AFTER_CREATE, DROP_BEFORE_CREATE})

# The rates of each kind of fault, in the order their shares are laid along one random draw.
RATES_BEFORE_CREATE = ("server_error_rate", "throttle_rate", "drop_before_create_rate")
RATES_AFTER_CREATE = {
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
    # How the calls turn out (answered, voicemail, no answer, busy, invalid number): local/connect_outcomes.py.
    outcomes: OutcomeMix = field(default_factory=OutcomeMix)
    # Staffed queues (local/connect_agents.py): an answered call routed to one (its QueueId) waits for an agent.
    agent_queues: tuple[QueueStaffing, ...] = ()
    # GetCurrentMetricData's own quota, and the share of its requests answered 500 InternalServiceException.
    metrics_per_second: float = DEFAULT_METRICS_PER_SECOND
    metrics_burst: int = DEFAULT_METRICS_BURST
    metrics_failure_rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        """Reject settings that describe no possible instance."""
        if self.calls_per_second <= 0:
            raise ValueError("calls_per_second must be greater than 0")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        if self.metrics_per_second <= 0 or self.metrics_burst < 1:
            raise ValueError("metrics_per_second must be greater than 0 and metrics_burst at least 1")
        if not 0.0 <= self.metrics_failure_rate <= 1.0:
            raise ValueError("metrics_failure_rate must be between 0 and 1")
        if self.max_concurrent_calls < 1:
            raise ValueError("max_concurrent_calls must be at least 1")
        for name in ("call_duration_seconds", "latency_seconds", "slow_answer_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.call_duration_max_seconds is not None and self.call_duration_max_seconds < self.call_duration_seconds:
            raise ValueError("call_duration_max_seconds must not be less than call_duration_seconds")
        if self.flaky_failures < 0:
            raise ValueError("flaky_failures must not be negative")
        for group in (RATES_BEFORE_CREATE, tuple(RATES_AFTER_CREATE.values())):
            for name in group:
                if not 0.0 <= getattr(self, name) <= 1.0:
                    raise ValueError(f"{name} must be between 0 and 1")
            if sum(getattr(self, name) for name in group) > 1.0:
                raise ValueError(f"{' + '.join(group)} must not exceed 1: they are shares of one draw")
