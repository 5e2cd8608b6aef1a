"""The contact flow's part in an opt-out: during a call, the callee presses 9 and the flow's Invoke AWS Lambda function
block invokes the opt-out function with the contact's data.

The local Connect creates contacts but runs no flow, so this plays the flow for the callees a run names: once a call
to one of them has been connected for PRESS_AFTER_SECONDS, the opt-out function is invoked, synchronously as Connect
does, with the ContactFlowEvent Connect sends ("Invoke AWS Lambda functions" in the Amazon Connect Administrator
Guide: the contact's data, the callee as its CustomerEndpoint, the block's parameters), and its answer is kept as the
flow would read it (a flat map of strings to branch on).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.connect_instance import LocalConnectInstance
from local.connect_rules import PlacedCall
from local.function_container import SUCCEEDED, FunctionInitError
from local.optout_function import LocalOptOutFunction

# The door's name, as the opt-out function's invocations record it.
CONTACT_FLOW_DOOR = "contact-flow"
# How far into the call the callee presses the key (the demo's calls last a few seconds).
PRESS_AFTER_SECONDS = 0.5
# How often the flow looks for new calls.
POLL_SECONDS = 0.1
# Connect's name of the event, and how it labels a contact started by StartOutboundVoiceContact.
CONTACT_FLOW_EVENT = "ContactFlowEvent"
API_INITIATED = "API"


def contact_flow_event(
    call: PlacedCall, instance_id: str, system_address: str | None, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The event a flow's Invoke AWS Lambda function block sends during the call (the documented shape)."""
    instance_arn = f"arn:aws:connect:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:instance/{instance_id}"
    system_endpoint = None if system_address is None else {"Address": system_address, "Type": "TELEPHONE_NUMBER"}
    return {
        "Details": {
            "ContactData": {
                "Attributes": dict(call.attributes),
                "Channel": "VOICE",
                "ContactId": call.contact_id,
                "CustomerEndpoint": {"Address": call.destination, "Type": "TELEPHONE_NUMBER"},
                "InitialContactId": call.contact_id,
                "InitiationMethod": API_INITIATED,
                "InstanceARN": instance_arn,
                "MediaStreams": {"Customer": {"Audio": None}},
                "PreviousContactId": call.contact_id,
                "Queue": None,
                "SystemEndpoint": system_endpoint,
            },
            "Parameters": dict(parameters or {}),
        },
        "Name": CONTACT_FLOW_EVENT,
    }


@dataclass(frozen=True)
class KeyPressed:
    """A callee who pressed the key during a call, and what the flow's block got back."""

    contact_id: str
    destination: str
    answer: dict[str, Any] | None  # None: the invocation failed (the flow takes its error branch)


class CalleesPressingNine:
    """During a run, plays the flow for the calls to the given numbers: each callee presses 9 once, in their first call.

    Use as a context manager around the run.
    """

    def __init__(
        self,
        instance: LocalConnectInstance,
        function: LocalOptOutFunction,
        numbers: set[str],
        instance_id: str,
        system_address: str | None,
    ) -> None:
        self._instance = instance
        self._function = function
        self._numbers = set(numbers)
        self._instance_id = instance_id
        self._system_address = system_address
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pressed: list[KeyPressed] = []
        self._thread = threading.Thread(target=self._watch, name="contact-flow", daemon=True)

    @property
    def pressed(self) -> list[KeyPressed]:
        """The callees who pressed the key so far, in order."""
        with self._lock:
            return list(self._pressed)

    def __enter__(self) -> CalleesPressingNine:
        if self._numbers:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        waiting = set(self._numbers)
        while waiting and not self._stop.wait(POLL_SECONDS):
            now = time.time()
            for call in self._instance.placed_calls:
                if call.destination in waiting and now >= call.placed_at + PRESS_AFTER_SECONDS:
                    waiting.discard(call.destination)
                    self._press_nine(call)

    def _press_nine(self, call: PlacedCall) -> None:
        event = contact_flow_event(call, self._instance_id, self._system_address)
        try:
            result = self._function.invoke(event, door=CONTACT_FLOW_DOOR)
            answer = result.response if result.outcome == SUCCEEDED else None
        except FunctionInitError:  # the function could not start: the flow takes its error branch
            answer = None
        with self._lock:
            self._pressed.append(KeyPressed(call.contact_id, call.destination, answer))
