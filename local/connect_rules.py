"""What the local Connect does with one StartOutboundVoiceContact request: quota, injected faults, validation,
scripted destinations, ClientToken, refusals and concurrent calls, in that order, as its ConnectBehaviour sets them;
an answered call routed to a staffed queue then waits there for an agent (local/connect_agents.py).

ClientToken idempotency is Connect's, not a kinder one: a repeated token returns its contact only while that
contact is live; once the call has ended, the same token starts a new call.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.connect_agents import AgentQueues, QueueLeg
from local.connect_behaviour import DROP_BEFORE_CREATE, RATES_AFTER_CREATE, ConnectBehaviour
from local.connect_errors import ConnectError, DroppedConnectionError, internal_error, too_many_requests
from local.connect_outcomes import ANSWERED, CallStory, OutcomeScript, story_of

# The API model's pattern for DestinationPhoneNumber and SourcePhoneNumber (E.164).
E164_PATTERN = re.compile(r"^\+[1-9]\d{1,14}$")

PLACED = "Placed"  # the response code recorded for a 200 that created a contact
IDEMPOTENT_REPLAY = "IdempotentReplay"  # a 200 that returned the live contact of an earlier request's token


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
    # What became of the call (answered unless the instance's outcome mix says otherwise).
    story: CallStory = field(default_factory=lambda: story_of(ANSWERED, detection=False))
    instance_id: str = ""
    # An answered call routed to a staffed queue: its wait there and its agent, if it got one (else abandoned).
    queue: QueueLeg | None = None

    @property
    def connected_to_agent_at(self) -> float | None:
        """When (time.time()) an agent took the call; None if none did."""
        if self.queue is None or not self.queue.connected:
            return None
        return self.placed_at + self.queue.wait_seconds

    @property
    def connects_to_agent_at(self) -> float | None:
        """When (time.monotonic()) an agent takes the call; None if none does."""
        if self.queue is None or not self.queue.connected:
            return None
        return self.ends_at - self.queue.handle_seconds


class ConnectRules:
    """Decides each request as the instance's behaviour says; the instance calls it under its own lock.

    Holds what the decisions depend on: the quota's bucket, the calls in progress, the latest contact of each token,
    the attempts at each flaky destination, and the one seeded random source every draw comes from, in request order.
    """

    def __init__(self, behaviour: ConnectBehaviour) -> None:
        self.behaviour = behaviour
        self._bucket = TokenBucket(behaviour.calls_per_second, behaviour.burst)
        self._random = random.Random(behaviour.seed)
        self._active_call_ends: list[float] = []
        self._contacts_by_token: dict[str, PlacedCall] = {}  # the latest contact of each token
        self._flaky_attempts: Counter[str] = Counter()
        self._stories = OutcomeScript(behaviour.outcomes, self._random)
        self.agents = AgentQueues(behaviour.agent_queues, self._random)

    @property
    def calls_in_progress(self) -> int:
        """Calls in progress as of the last decision or look, the one just created included."""
        return len(self._active_call_ends)

    def active_calls(self, now: float) -> int:
        """Drop calls that have ended by `now` (time.monotonic()); return how many are still active."""
        self._active_call_ends = [end for end in self._active_call_ends if end > now]
        return len(self._active_call_ends)

    def decide(self, request: dict[str, Any]) -> tuple[PlacedCall, str]:
        """Quota, service faults, validation, destination scripts, idempotency, allow list, concurrency: in order.

        Returns the contact (created, or the live one of the request's token) and PLACED or IDEMPOTENT_REPLAY;
        raises ConnectError, or DroppedConnectionError naming DROP_BEFORE_CREATE.
        """
        behaviour = self.behaviour
        if not self._bucket.try_take():
            raise ConnectError("ThrottlingException", "Rate exceeded")
        roll = self._random.random()
        if roll < behaviour.server_error_rate:
            raise internal_error()
        if roll < behaviour.server_error_rate + behaviour.throttle_rate:
            raise too_many_requests()
        if roll < behaviour.server_error_rate + behaviour.throttle_rate + behaviour.drop_before_create_rate:
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
        if self.active_calls(now) >= behaviour.max_concurrent_calls:
            raise ConnectError("LimitExceededException", "The allowed limit for the resource has been exceeded")
        story = self._stories.story(destination, _asks_for_detection(request))
        queue = None
        if story.outcome == ANSWERED and self.agents.routes(request.get("QueueId")):
            # The callee answered: the flow puts them in the queue, and the call lasts as long as they stay there.
            queue = self.agents.enqueue(request["QueueId"], now)
            duration = queue.seconds
        else:
            duration = story.lasts(self._call_duration(), behaviour.outcomes.ring_seconds)
        call = PlacedCall(
            contact_id=str(uuid.uuid4()),
            client_token=token,
            destination=destination,
            contact_flow_id=request["ContactFlowId"],
            placed_at=time.time(),
            ends_at=now + duration,
            duration_seconds=duration,
            attributes=dict(request.get("Attributes") or {}),
            story=story,
            instance_id=request["InstanceId"],
            queue=queue,
        )
        self._active_call_ends.append(call.ends_at)
        if token is not None:
            self._contacts_by_token[token] = call
        return call, PLACED

    def fault_after_create(self) -> str | None:
        """Draw the fault, if any, that meets a request which has its contact."""
        shares = {fault: float(getattr(self.behaviour, rate)) for fault, rate in RATES_AFTER_CREATE.items()}
        # No draw when no such fault is configured, so seeded runs without them keep their old sequence.
        if not any(shares.values()):
            return None
        roll = self._random.random()
        bound = 0.0
        for fault, share in shares.items():
            bound += share
            if roll < bound:
                return fault
        return None

    def _call_duration(self) -> float:
        """How long a new call lasts: fixed, or drawn between the two bounds."""
        low, high = self.behaviour.call_duration_seconds, self.behaviour.call_duration_max_seconds
        return low if high is None else self._random.uniform(low, high)

    def _fail_scripted_destination(self, destination: str, token: str | None) -> None:
        """Answer the destinations with scripted failures: unreachable, throttled, and flaky under each token."""
        behaviour = self.behaviour
        if destination.startswith(behaviour.unreachable_destination_prefixes):
            raise internal_error()
        if destination.startswith(behaviour.throttled_destination_prefixes):
            raise too_many_requests()
        if destination.startswith(behaviour.flaky_destination_prefixes):
            key = token or destination
            self._flaky_attempts[key] += 1
            if self._flaky_attempts[key] <= behaviour.flaky_failures:
                raise too_many_requests()

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


def _asks_for_detection(request: dict[str, Any]) -> bool:
    """Whether the request turned answering-machine detection on (AnswerMachineDetectionConfig)."""
    config = request.get("AnswerMachineDetectionConfig")
    return isinstance(config, dict) and config.get("EnableAnswerMachineDetection") is True
