"""Deaths injected into a function container at chosen moments (WorkerFaults), as a dying Lambda sandbox: just before
the function sends StartOutboundVoiceContact, right after Connect answered 200, just before a DynamoDB UpdateItem.

Imports nothing but the standard library at module level, as local/function_container.py does; botocore is imported
only when a container is armed, since only such a container watches the function's requests.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The moments a worker can be made to die, as the botocore events of the function's own requests.
BEFORE_CONNECT_REQUEST_EVENT = "before-send.connect.StartOutboundVoiceContact"
AFTER_CONNECT_ANSWER_EVENT = "response-received.connect.StartOutboundVoiceContact"
# The function completes its placed-calls record with UpdateItem; every UpdateItem it sends is such a moment.
BEFORE_RECORD_WRITE_EVENT = "before-send.dynamodb.UpdateItem"
HTTP_OK = 200  # Connect answers a StartOutboundVoiceContact that created (or replayed) a contact with 200


@dataclass(frozen=True)
class WorkerFaults:
    """Deaths to inject into every container, each the probability (0..1) of dying at each such moment; seeded."""

    kill_before_connect_request: float = 0.0  # just before a StartOutboundVoiceContact request is sent
    kill_after_connect_answer: float = 0.0  # just after Connect answered one with 200: placed, never recorded
    kill_before_record_write: float = 0.0  # just before a DynamoDB UpdateItem request is sent
    # Containers draw from this seed plus their number, so a run repeats yet containers differ; None: unseeded.
    seed: int | None = None

    def __post_init__(self) -> None:
        """Reject probabilities outside 0..1."""
        for name in ("kill_before_connect_request", "kill_after_connect_answer", "kill_before_record_write"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


def container_random(seed: int | None, container_number: int) -> random.Random:
    """The random source of one container's faults: the same for a seed and number, different across numbers."""
    if seed is None:
        return random.Random()
    # A str seed is hashed with SHA-512, so the stream does not depend on PYTHONHASHSEED.
    return random.Random(f"{seed}/{container_number}")


def _die(fault: str) -> None:
    """Die as a killed sandbox does: SIGKILL, so no cleanup runs and the runner gets no response."""
    print(f"FAULT {fault}: the container is killed")
    os.kill(os.getpid(), signal.SIGKILL)


def _answered_ok(event: Mapping[str, Any]) -> bool:
    """Whether a response-received event carries an HTTP 200 answer (not a connection error)."""
    response = event.get("response_dict") or {}
    return event.get("exception") is None and response.get("status_code") == HTTP_OK


class _DeathAt:
    """A botocore event handler that kills the container with a probability each time its moment comes."""

    def __init__(
        self,
        fault: str,
        probability: float,
        chance: random.Random,
        applies: Callable[[Mapping[str, Any]], bool] = lambda event: True,
    ) -> None:
        self.fault = fault
        self.probability = probability
        self._chance = chance
        self._applies = applies

    def __call__(self, **event: Any) -> None:
        if self._applies(event) and self._chance.random() < self.probability:
            _die(self.fault)


def arm_faults(faults: WorkerFaults, container_number: int) -> None:
    """Register the deaths on every botocore session the function will create; call before importing the handler.

    botocore copies BUILTIN_HANDLERS into each session it creates, so the deaths reach clients made with
    boto3.client() (the default session) and with boto3.session.Session().client(), as Powertools' DynamoDB
    persistence layer makes its own; handlers on boto3.DEFAULT_SESSION alone would miss those. moto intercepts
    requests the same way.
    """
    from botocore.handlers import BUILTIN_HANDLERS, REGISTER_FIRST

    chance = container_random(faults.seed, container_number)
    deaths = [
        (
            BEFORE_CONNECT_REQUEST_EVENT,
            _DeathAt("kill_before_connect_request", faults.kill_before_connect_request, chance),
        ),
        (
            AFTER_CONNECT_ANSWER_EVENT,
            _DeathAt("kill_after_connect_answer", faults.kill_after_connect_answer, chance, _answered_ok),
        ),
        (BEFORE_RECORD_WRITE_EVENT, _DeathAt("kill_before_record_write", faults.kill_before_record_write, chance)),
    ]
    for event_name, death in deaths:
        if death.probability > 0:
            # First, so that no other handler (a stub's answer) can send or settle the request before the death.
            BUILTIN_HANDLERS.append((event_name, death, REGISTER_FIRST))
    import boto3

    # A default session made before this point (spawn re-runs a parent started as a script) would lack the deaths.
    boto3.setup_default_session()
