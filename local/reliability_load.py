"""`make reliability`'s load: the requests (valid ones, a share to refused destinations, a share invalid) and every
fault the local pipeline injects while they go through, each rate named where the issue set it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.connect_behaviour import DEFAULT_REFUSED_DESTINATION_PREFIXES, ConnectBehaviour
from local.connect_outcomes import OutcomeMix
from local.delivery_faults import DeliveryFaults
from local.demo import demo_settings
from local.pipeline_config import DEFAULT_WORK_DIR, PipelineConfig
from local.producers import PLACED, Sample
from local.worker_faults import WorkerFaults

# The load: 10,000 requests with 10% transient Connect faults, 1% permanent refusals, 2% invalid
# bodies, 5% duplicate deliveries, 2% of placed calls followed by a killed invocation, and random kills.
DEFAULT_REQUESTS = 10_000
PERMANENT_REFUSAL_SHARE = 0.01
INVALID_BODY_SHARE = 0.02
DUPLICATE_DELIVERY_RATE = 0.05
KILL_AFTER_PLACED_RATE = 0.02
# Rarer deaths at the other moments a worker can die: before the request is sent, before the record is written.
KILL_BEFORE_REQUEST_RATE = 0.002
KILL_BEFORE_RECORD_WRITE_RATE = 0.002
RANDOM_KILL_INTERVAL_SECONDS = 20.0
# The 10% of transient Connect faults, split by whether the contact exists when the fault strikes.
THROTTLE_RATE = 0.03
SERVER_ERROR_RATE = 0.02
DROP_BEFORE_CREATE_RATE = 0.01
SERVER_ERROR_AFTER_CREATE_RATE = 0.02
DROP_AFTER_CREATE_RATE = 0.015
READ_TIMEOUT_AFTER_CREATE_RATE = 0.005
# Throughput of the run: a quota and concurrency well above the 2-core machine's pace, so faults, not the quota,
# decide the outcome. Calls last a few seconds, so a redelivery after the visibility timeout meets an ended call,
# whose token Connect would start anew.
CONNECT_QUOTA = 200.0
CONNECT_BURST = 100
CONNECT_CONCURRENT_CALLS = 100_000
CALL_SECONDS = (2.0, 8.0)
# Redial: a fifth of the calls ring out unanswered, and the policy tries each request up to three times, a minute
# (the shortest interval the function takes) after the previous attempt ended. Every attempt passes every rule again,
# and each one's outcome must be known before the next (the completion function runs beside the caller).
NO_ANSWER_RATE = 0.2
REDIAL_MAX_ATTEMPTS = 3
REDIAL_INTERVAL_SECONDS = 60
CONTEXT_OVERRIDES: dict[str, Any] = {
    "callsPerSecond": 160,
    "maxConcurrency": 8,
    "batchSize": 10,
    # Never twice and never lost, not calling safety (its own tests): any country (the refused requests below are UK
    # numbers that the local Connect must see), at any hour of the day the run starts.
    "allowedDestinationCountries": "*",
    "callingHours": None,
    "redialOn": ["NoAnswer"],
    "redialMaxAttempts": REDIAL_MAX_ATTEMPTS,
    "redialIntervalSeconds": REDIAL_INTERVAL_SECONDS,
    # Room for three attempts a minute apart, and for a request deferred meanwhile (the demo's bound is a minute).
    "maxDeferralSeconds": 900,
}
VISIBILITY_TIMEOUT_SECONDS = 20
# A claim left by a killed invocation blocks its token until that invocation's deadline (the function timeout, 439 s
# with the deployed settings) before it can be judged OutcomeUnknown, and each look costs a receive, one per
# visibility timeout: maxReceiveCount gives every message those receives, and this many more for the faults that
# strike the same message meanwhile. (Deployed, the visibility timeout is 6 function timeouts: one receive does.)
RECEIVE_MARGIN = 10
MAX_DURATION_SECONDS = 2400.0
# Fictional destinations that the local Connect places without scripted failures: +1 202 555 0100-0159 (the NANP
# fiction range under Washington's area code, which libphonenumber places in the US, so calling safety allows it).
PLACEABLE_NUMBERS = [f"+120255501{suffix:02d}" for suffix in range(60)]
VALID, REFUSED, INVALID = "valid", "refused", "invalid"


@dataclass(frozen=True)
class ReliabilityOptions:
    """One reliability run."""

    requests: int = DEFAULT_REQUESTS
    seed: int = 7
    work_dir: Path = DEFAULT_WORK_DIR / "reliability"
    max_duration_seconds: float = MAX_DURATION_SECONDS
    # The function timeout the local runtime enforces; None: the deployed one. A killed invocation's claims block
    # their tokens until its deadline, so a run takes at least one function timeout; a shorter one (it must still
    # exceed the record's time reserve, or every record is deferred) makes a short run quicker.
    function_timeout_seconds: float | None = None


def build_requests(count: int, seed: int) -> list[tuple[str, str, Sample]]:
    """(request ID, kind, sample) for each request: valid ones, 1% to a refused destination, 2% invalid."""
    chance = random.Random(seed)
    built = []
    for index in range(count):
        request_id = f"r-{index:06d}"
        roll = chance.random()
        attributes = {"request_id": request_id}
        if roll < INVALID_BODY_SHARE:
            kind = INVALID
            if chance.random() < 0.5:
                sample = Sample(description=request_id, expected="ValidationError", raw_body=f"call {request_id} back")
            else:
                body = {"DestinationPhoneNumber": chance.choice(PLACEABLE_NUMBERS), "RingTimeoutInSeconds": 5}
                sample = Sample(request_id, "ValidationError", request={**body, "Attributes": attributes})
        elif roll < INVALID_BODY_SHARE + PERMANENT_REFUSAL_SHARE:
            kind = REFUSED
            destination = f"{DEFAULT_REFUSED_DESTINATION_PREFIXES[0]}{index % 100:02d}"  # +44 20 7946 09xx
            sample = Sample(request_id, "DestinationNotAllowedException", request=_request(destination, attributes))
        else:
            kind = VALID
            sample = Sample(request_id, PLACED, request=_request(chance.choice(PLACEABLE_NUMBERS), attributes))
        built.append((request_id, kind, sample))
    return built


def _request(destination: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {"DestinationPhoneNumber": destination, "Attributes": attributes}


def pipeline_config(options: ReliabilityOptions) -> PipelineConfig:
    """The local run with every fault of the reliability load switched on."""
    settings = demo_settings(CONTEXT_OVERRIDES)
    timeout = options.function_timeout_seconds or settings.function_timeout_seconds
    receives = math.ceil(timeout / VISIBILITY_TIMEOUT_SECONDS) + RECEIVE_MARGIN
    settings = demo_settings({**CONTEXT_OVERRIDES, "maxReceiveCount": receives})
    return PipelineConfig(
        settings=settings,
        connect=ConnectBehaviour(
            instance_id=settings.instance_id,
            calls_per_second=CONNECT_QUOTA,
            burst=CONNECT_BURST,
            max_concurrent_calls=CONNECT_CONCURRENT_CALLS,
            call_duration_seconds=CALL_SECONDS[0],
            call_duration_max_seconds=CALL_SECONDS[1],
            throttle_rate=THROTTLE_RATE,
            server_error_rate=SERVER_ERROR_RATE,
            drop_before_create_rate=DROP_BEFORE_CREATE_RATE,
            server_error_after_create_rate=SERVER_ERROR_AFTER_CREATE_RATE,
            drop_after_create_rate=DROP_AFTER_CREATE_RATE,
            read_timeout_after_create_rate=READ_TIMEOUT_AFTER_CREATE_RATE,
            outcomes=OutcomeMix(no_answer_rate=NO_ANSWER_RATE),
            seed=options.seed,
        ),
        visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        function_timeout_seconds=options.function_timeout_seconds,
        work_dir=options.work_dir,
        worker_faults=WorkerFaults(
            kill_before_connect_request=KILL_BEFORE_REQUEST_RATE,
            kill_after_connect_answer=KILL_AFTER_PLACED_RATE,
            kill_before_record_write=KILL_BEFORE_RECORD_WRITE_RATE,
            seed=options.seed,
        ),
        delivery_faults=DeliveryFaults(
            duplicate_rate=DUPLICATE_DELIVERY_RATE,
            kill_busy_worker_interval_seconds=RANDOM_KILL_INTERVAL_SECONDS,
            seed=options.seed,
        ),
    )
