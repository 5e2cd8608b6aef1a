"""The demo's suppression list, through each of the opt-out function's doors: before the run, a producer's Opt Out event
on the intake bus and an operator's `suppress add` on the command line; during it, callees pressing 9 in their call
(the contact flow); after it, the operator's `suppress check` of every number the samples opted out.

Which numbers go through which door is the samples' `opt_out`. The command line is the real one
(`outbound_caller.cli`), its boto3 Lambda client reaching the local Invoke endpoint. What producers and operators type
is shown as they type it (the samples' numbers are fictional); what the system answers, masked as it prints it.
"""

from __future__ import annotations

import io
import json
import shlex
from contextlib import ExitStack
from typing import TYPE_CHECKING

import boto3
import phonenumbers

from infra.settings import DeploymentSettings
from local.contact_flow import CalleesPressingNine
from local.pipeline import LocalPipeline
from local.producers import DEMO_EVENT_SOURCE, Sample, opted_out_numbers
from local.report import display_path
from outbound_caller.cli import main as operators_cli
from outbound_caller.names import OPT_OUT_EVENT
from outbound_caller.optout.changes import FROM_CONTACT_FLOW, FROM_EVENT, FROM_OPERATOR
from outbound_caller.privacy import mask_phone_number

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from local.optout_function import LocalOptOutFunction

# How long the demo waits for the opt-out rule's events to be handled before it sends the requests.
EVENTS_HANDLED_WAIT_SECONDS = 30.0
# A number the samples never opt out, checked beside the others: the list answers for it too.
NEVER_OPTED_OUT = "+12025550101"
OPERATORS_COMMAND = "python -m outbound_caller.cli"


class OptOutError(RuntimeError):
    """A door of the opt-out function failed before the run: the samples' expectations could not hold."""


def as_an_operator_writes_it(number: str) -> str:
    """The number in the international format people write (``+44 20 7946 0003``): the list keys it as its E.164."""
    return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class DemoOptOuts:
    """Opts the samples' numbers out through their doors around a run; use as a context manager around run(), then
    call check(). Does nothing when the run has no suppression list, or its samples opt no number out."""

    def __init__(self, pipeline: LocalPipeline, samples: list[Sample], settings: DeploymentSettings) -> None:
        self._pipeline = pipeline
        self._samples = samples
        self._settings = settings
        self._stack = ExitStack()
        self._flow: CalleesPressingNine | None = None
        self.lines: list[str] = []  # what the demo prints about the list, in order

    def __enter__(self) -> DemoOptOuts:
        function = self._pipeline.opt_out
        if function is None or not any(sample.opt_out for sample in self._samples):
            return self
        self.lines.append(
            "Suppression list, changed through the opt-out function's three doors (its real handler; log in"
            f" {display_path(function.spec.log_path)}):"
        )
        self._through_events(opted_out_numbers(self._samples, FROM_EVENT))
        for number in opted_out_numbers(self._samples, FROM_OPERATOR):
            self._command("add", as_an_operator_writes_it(number), when="before the run")
        callees = set(opted_out_numbers(self._samples, FROM_CONTACT_FLOW))
        if callees:
            self._flow = self._stack.enter_context(
                CalleesPressingNine(
                    self._pipeline.connect.instance,
                    function,
                    callees,
                    self._settings.instance_id,
                    self._settings.source_phone_number,
                )
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
        for pressed in self._flow.pressed if self._flow is not None else []:
            answer = json.dumps(pressed.answer) if pressed.answer is not None else "an error"
            self.lines.append(
                f"  contact flow  during the run, the callee of call {pressed.contact_id[:8]}…"
                f" ({mask_phone_number(pressed.destination)}) pressed 9: the flow's Invoke AWS Lambda function block"
                f" got {answer}"
            )

    def check(self) -> None:
        """After the run: the operator checks every number the samples opted out, and one they never did."""
        if self._pipeline.opt_out is None or not any(sample.opt_out for sample in self._samples):
            return
        doors = (FROM_EVENT, FROM_OPERATOR, FROM_CONTACT_FLOW)
        numbers = [number for door in doors for number in opted_out_numbers(self._samples, door)]
        self._command("check", *numbers, NEVER_OPTED_OUT, when="after the run")

    def _through_events(self, numbers: list[str]) -> None:
        """A producer's Opt Out event per number on the intake bus; wait until the rule's deliveries are handled."""
        intake, deliveries = self._pipeline.intake, self._pipeline.opt_out_events
        if not numbers or intake is None or deliveries is None:
            return
        events: EventBridgeClient = boto3.client("events")
        source = self._settings.event_sources[0] if self._settings.event_sources else DEMO_EVENT_SOURCE
        already = deliveries.deliveries.handled
        entries: list[PutEventsRequestEntryTypeDef] = [
            {
                "EventBusName": intake.event_bus_name,
                "Source": source,
                "DetailType": OPT_OUT_EVENT,
                "Detail": json.dumps({"PhoneNumber": number}),
            }
            for number in numbers
        ]
        events.put_events(Entries=entries)
        if not deliveries.wait_until_handled(already + len(numbers), EVENTS_HANDLED_WAIT_SECONDS):
            raise OptOutError(f"the opt-out rule's events were not handled within {EVENTS_HANDLED_WAIT_SECONDS:g} s")
        for entry in entries:
            self.lines.append(
                f"  event         before the run, a producer put '{OPT_OUT_EVENT}' {entry.get('Detail')} on bus"
                f" {intake.event_bus_name}: its opt-out rule invoked the function"
            )

    def _command(self, operation: str, *numbers: str, when: str) -> None:
        """Run the operators' command line (`suppress`) as a person would, and show it with what it printed."""
        function: LocalOptOutFunction | None = self._pipeline.opt_out
        if function is None:
            return
        arguments = ["suppress", operation, *numbers, "--function-name", function.name]
        stdout, stderr = io.StringIO(), io.StringIO()
        code = operators_cli(arguments, stdout=stdout, stderr=stderr)
        if code != 0:
            raise OptOutError(f"suppress {operation} exited {code}: {stderr.getvalue().strip()}")
        printed = ", ".join(line.replace("\t", " ") for line in stdout.getvalue().splitlines())
        self.lines.append(f"  command line  {when}: {OPERATORS_COMMAND} {shlex.join(arguments)}")
        self.lines.append(f"                printed: {printed}")
