"""The opt-out function on one machine: its real handler in a function container, reached through each of its three
doors (the intake bus's opt-out rule, a contact flow's Invoke block, the operators' command line through Lambda's
Invoke API), against local AWS; every change lands in the list the caller reads and is announced by its hash only."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from local.connect_rules import PlacedCall
from local.contact_flow import CONTACT_FLOW_DOOR, contact_flow_event
from local.demo import demo_settings
from local.intake import IntakeResources, create_intake
from local.lambda_endpoint import LocalLambdaEndpoint
from local.moto_servers import LocalAws
from local.optout_events import EVENT_DOOR, OptOutEventDelivery
from local.optout_function import LocalOptOutFunction, opt_out_environment
from local.results import ResultSink, create_result_sink
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.cli import main as operators_cli
from outbound_caller.names import OPT_IN_EVENT, OPT_OUT_EVENT
from outbound_caller.safety.suppression import SuppressionList
from tests.support.environment import INSTANCE_ID

# Fictional numbers (NANP 555-01xx, Ofcom's London drama range), a different one for each test.
BY_EVENT = "+12025550140"
BY_FLOW = "+12025550141"
BY_OPERATOR = "+442079460003"
NEVER = "+12025550101"


@dataclass(frozen=True)
class LocalOptOut:
    """The local intake with its list, the opt-out function behind its doors, and what the result bus received."""

    intake: IntakeResources
    function: LocalOptOutFunction
    deliveries: OptOutEventDelivery
    endpoint: LocalLambdaEndpoint
    result_sink: ResultSink

    @property
    def suppression(self) -> SuppressionList:
        """The list as the caller reads it."""
        assert self.intake.suppression is not None
        environment = self.intake.suppression.function_environment
        return SuppressionList(
            environment["SUPPRESSION_TABLE_NAME"],
            boto3.client("dynamodb"),
            environment["SUPPRESSION_KEY_SECRET_ID"],
            boto3.client("secretsmanager"),
        )


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOptOut]:
    """Local AWS with the demo's intake and result bus; the opt-out function's one warm container behind its doors."""
    work_dir = tmp_path_factory.mktemp("opt-out")
    settings = demo_settings({})
    with (
        LocalAws() as aws,
        LocalLambdaEndpoint() as endpoint,
        scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", work_dir, None, endpoint.url)),
    ):
        intake = create_intake(settings, visibility_timeout_seconds=30)
        sink = create_result_sink(settings)
        assert intake.suppression is not None
        assert sink is not None
        function = LocalOptOutFunction(opt_out_environment(intake.suppression, sink.bus_name), work_dir)
        endpoint.serve(function.name, function.invoke)
        try:
            with OptOutEventDelivery(intake.suppression.opt_out_invocations_queue_url, function) as deliveries:
                yield LocalOptOut(intake, function, deliveries, endpoint, sink)
        finally:
            function.stop()


def announced(local: LocalOptOut) -> list[tuple[str, dict[str, str]]]:
    """The announcements the result bus forwarded to its sink since the last look (each read once)."""
    sqs = boto3.client("sqs")
    events = []
    while messages := sqs.receive_message(QueueUrl=local.result_sink.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            event = json.loads(message["Body"])
            events.append((event["detail-type"], event["detail"]))
            sqs.delete_message(QueueUrl=local.result_sink.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_an_opt_out_event_on_the_intake_bus_lists_the_number_through_the_rule(local: LocalOptOut) -> None:
    # Given a producer's Opt Out event on the intake bus
    handled = local.deliveries.deliveries.handled
    events = boto3.client("events")

    def put(detail_type: str) -> None:
        events.put_events(
            Entries=[
                {
                    "EventBusName": local.intake.event_bus_name,
                    "Source": "example.crm",
                    "DetailType": detail_type,
                    "Detail": json.dumps({"PhoneNumber": BY_EVENT}),
                }
            ]
        )

    put(OPT_OUT_EVENT)
    # When the rule's delivery has invoked the function
    assert local.deliveries.wait_until_handled(handled + 1, timeout_seconds=30)
    # Then the number is on the list the caller reads, and the change is announced with its hash, never the number
    assert local.suppression.is_listed(BY_EVENT)
    assert announced(local) == [
        (OPT_OUT_EVENT, {"PhoneNumberHash": local.suppression.key_of(BY_EVENT), "Origin": EVENT_DOOR})
    ]
    # And an Opt In event takes it off again, through the same door
    put(OPT_IN_EVENT)
    assert local.deliveries.wait_until_handled(handled + 2, timeout_seconds=30)
    assert not local.suppression.is_listed(BY_EVENT)
    assert [door for door, _ in announced(local)] == [OPT_IN_EVENT]
    assert {invocation.door for invocation in local.function.invocations} >= {EVENT_DOOR}


def test_a_callee_pressing_nine_in_a_call_is_listed_by_the_flows_invocation(local: LocalOptOut) -> None:
    # Given a call the local Connect placed to a callee, and the flow's Invoke block during it
    call = PlacedCall(
        contact_id="5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
        client_token="token",
        destination=BY_FLOW,
        contact_flow_id="flow",
        placed_at=time.time(),
        ends_at=time.monotonic() + 4,
        duration_seconds=4,
        attributes={"campaign": "renewals"},
    )
    event = contact_flow_event(call, INSTANCE_ID, "+15555550100")
    # When the callee presses 9 and the block invokes the function
    result = local.function.invoke(event, door=CONTACT_FLOW_DOOR)
    # Then the flow reads a flat map to branch on, the callee is listed, and the change announced as the flow's
    assert result.response == {"OptedOut": "true"}
    assert local.suppression.is_listed(BY_FLOW)
    assert announced(local) == [
        (OPT_OUT_EVENT, {"PhoneNumberHash": local.suppression.key_of(BY_FLOW), "Origin": "contact-flow"})
    ]
    # And the event names the contact as Connect does: the callee its customer, the caller ID its system endpoint
    data = event["Details"]["ContactData"]
    assert (data["CustomerEndpoint"]["Address"], data["SystemEndpoint"]["Address"]) == (BY_FLOW, "+15555550100")
    assert data["InstanceARN"].endswith(f":instance/{INSTANCE_ID}")
    assert (data["ContactId"], data["InitiationMethod"], data["Attributes"]) == (
        call.contact_id,
        "API",
        call.attributes,
    )


def test_an_operators_command_line_lists_and_checks_numbers_through_lambdas_invoke(
    local: LocalOptOut, tmp_path: Path
) -> None:
    # Given an operator with the command line, whose Lambda client reaches the local Invoke endpoint
    def suppress(*arguments: str) -> tuple[int, list[str]]:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = operators_cli(
            ["suppress", *arguments, "--function-name", local.function.name], stdout=stdout, stderr=stderr
        )
        assert stderr.getvalue() == ""
        return code, stdout.getvalue().splitlines()

    # When they add a number written with spaces, then check it written in E.164 beside one never listed
    added = suppress("add", "+44 20 7946 0003")
    checked = suppress("check", BY_OPERATOR, NEVER)
    # Then it is one number: listed, and the other not; the command prints them masked
    assert added == (0, ["+********0003\tlisted"])
    assert checked == (0, ["+********0003\tlisted", "+*******0101\tnot-listed"])
    assert local.suppression.is_listed(BY_OPERATOR)
    assert [detail["Origin"] for _, detail in announced(local)] == ["operator"]
