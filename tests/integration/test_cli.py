"""The producer CLI against moto: what reaches the queue, directly and through an event bus rule, and failed sends."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.context_loading import settings_from_context
from local.intake import create_intake
from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment
from outbound_caller.cli import main
from outbound_caller.cli_clients import AwsClients
from outbound_caller.config.settings import load_settings
from outbound_caller.producer.checks import (
    EXIT_EVENT_NOT_ACCEPTED,
    EXIT_REFUSED_BY_POLICY,
    EXIT_SEND_FAILED,
    EXIT_SETTINGS_UNAVAILABLE,
)
from outbound_caller.request.envelopes import parse_delivery
from outbound_caller.request.record import CallRequestRecord
from tests.infra.synthesis import cdk_json_context
from tests.support.environment import FUNCTION_ENVIRONMENT
from tests.support.lambda_events import sqs_record

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+14155550123"
LONDON_NUMBER = "+442079460123"
SOURCE = "com.example.orders"
DETAIL_TYPE = "Outbound Call Requested"
FUNCTION_NAME = "connect-outbound-caller"


def run(*argv: str, clients: AwsClients | None = None) -> tuple[int, str, str]:
    """Run `send` in-process with no function settings in its environment: exit code, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["send", *argv], stdout=stdout, stderr=stderr, environ={}, clients=clients)
    return code, stdout.getvalue(), stderr.getvalue()


def printed_token(stdout: str) -> str:
    """The token from the CLI's machine-readable 'ClientToken: ...' line."""
    [line] = [line for line in stdout.splitlines() if line.startswith("ClientToken: ")]
    return line.removeprefix("ClientToken: ")


def received(queue_url: str) -> dict[str, Any]:
    """The one message on the queue."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    return dict(messages[0])


def token_the_function_reads(body: str) -> str:
    """The ClientToken the function would call Connect with for this message body."""
    record = CallRequestRecord.model_validate(sqs_record(body))
    return parse_delivery(record, load_settings(FUNCTION_ENVIRONMENT)).token.value


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def queue_url(aws: None) -> str:
    return str(boto3.client("sqs").create_queue(QueueName="outbound-call-requests")["QueueUrl"])


@pytest.fixture
def bus_to_queue(queue_url: str) -> str:
    """A bus whose rule forwards the producer's requests to the queue, as the stack's does."""
    events = boto3.client("events")
    events.create_event_bus(Name="outbound-call-requests")
    pattern = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
    events.put_rule(Name="requests", EventBusName="outbound-call-requests", EventPattern=json.dumps(pattern))
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_targets(
        Rule="requests", EventBusName="outbound-call-requests", Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}]
    )
    return "outbound-call-requests"


def test_a_request_sent_to_the_queue_is_the_body_with_its_token(queue_url: str) -> None:
    # Given a request with no ClientToken
    request = {"DestinationPhoneNumber": NUMBER, "Attributes": {"orderId": "A-1042"}}
    # When it is sent to the queue
    code, stdout, _ = run(json.dumps(request), "--queue-url", queue_url)
    # Then the message body is the request plus the printed token, and the CLI printed the message's ID
    message = received(queue_url)
    token = printed_token(stdout)
    assert code == 0
    assert json.loads(message["Body"]) == {**request, "ClientToken": token}
    assert f"MessageId {message['MessageId']}" in stdout
    # And the function calls Connect with that token, whichever delivery of the message it reads
    assert token_the_function_reads(message["Body"]) == token
    assert NUMBER not in stdout


def test_a_request_put_on_the_bus_reaches_the_queue_as_the_events_detail(queue_url: str, bus_to_queue: str) -> None:
    # Given a bus whose rule forwards the producer's source to the queue
    request = {"DestinationPhoneNumber": NUMBER, "ClientToken": "order-A-1042"}
    # When the request is put on the bus with that source
    code, stdout, _ = run(json.dumps(request), "--event-bus", bus_to_queue, "--source", SOURCE)
    # Then the queue receives an event whose detail is the request, with the default detail-type
    message = received(queue_url)
    event = json.loads(message["Body"])
    assert code == 0
    assert (event["source"], event["detail-type"], event["detail"]) == (SOURCE, DETAIL_TYPE, request)
    assert f"EventId {event['id']}" in stdout
    # And the function calls Connect with the request's own token, not the event's id
    assert token_the_function_reads(message["Body"]) == printed_token(stdout) == "order-A-1042"


def test_a_dry_run_sends_nothing(queue_url: str) -> None:
    # Given a valid request
    # When it is sent with --dry-run
    code, _, _ = run(json.dumps({"DestinationPhoneNumber": NUMBER}), "--queue-url", queue_url, "--dry-run")
    # Then the queue stays empty
    assert code == 0
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=queue_url)


def test_a_send_to_a_missing_queue_fails_with_the_aws_error_code(aws: None) -> None:
    # Given a queue URL that names no queue
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"
    # When a request is sent there
    code, stdout, stderr = run(json.dumps({"DestinationPhoneNumber": NUMBER}), "--queue-url", missing)
    # Then the send fails with its own exit code, naming the queue and AWS's error code
    assert code == EXIT_SEND_FAILED
    assert f"sending to queue {missing} failed: AWS.SimpleQueueService.NonExistentQueue" in stderr
    assert stdout == ""


def test_a_missing_bus_fails_the_send(aws: None) -> None:
    # Given no such bus
    # When a request is put on it
    code, _, stderr = run(json.dumps({"DestinationPhoneNumber": NUMBER}), "--event-bus", "no-such-bus")
    # Then the send fails with AWS's error code
    assert code == EXIT_SEND_FAILED
    assert "ResourceNotFoundException" in stderr


def test_an_event_put_events_does_not_accept_has_its_own_exit_code() -> None:
    # Given EventBridge answering PutEvents with the entry failed (FailedEntryCount 1)
    clients = AwsClients(region="us-east-1")
    events = clients.client("events")
    failed = {"ErrorCode": "InternalFailure", "ErrorMessage": f"could not put event for {NUMBER}"}
    with Stubber(events) as stubber:
        stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [failed]})
        # When a request is put on the bus
        code, stdout, stderr = run(json.dumps({"DestinationPhoneNumber": NUMBER}), "--event-bus", "b", clients=clients)
    # Then the CLI reports the entry's error code and message (numbers masked), not a success
    assert code == EXIT_EVENT_NOT_ACCEPTED
    assert "EventBridge did not accept the event: InternalFailure: could not put event for +*******0123" in stderr
    assert stdout == ""


def _create_function(environment: dict[str, str]) -> None:
    role = boto3.client("iam").create_role(RoleName="caller", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    boto3.client("lambda").create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.12",
        Role=role,
        Handler="outbound_caller.handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": environment},
    )


def test_the_deployed_functions_settings_decide(queue_url: str) -> None:
    # Given a deployed function that calls only the UK
    _create_function({**FUNCTION_ENVIRONMENT, "ALLOWED_DESTINATION_COUNTRIES": "GB"})
    # When a US and a UK number are sent, checked against that function
    us = run(json.dumps({"DestinationPhoneNumber": NUMBER}), "--queue-url", queue_url, "--function-name", FUNCTION_NAME)
    uk = json.dumps({"DestinationPhoneNumber": LONDON_NUMBER})
    gb = run(uk, "--queue-url", queue_url, "--function-name", FUNCTION_NAME, "--json")
    # Then the US one is refused by its policy and never sent; the UK one is sent, checked against that function
    assert us[0] == EXIT_REFUSED_BY_POLICY
    assert gb[0] == 0
    assert json.loads(gb[1])["settings"] == f"function {FUNCTION_NAME}"
    assert json.loads(received(queue_url)["Body"])["DestinationPhoneNumber"] == LONDON_NUMBER


def test_a_function_that_cannot_be_read_is_unavailable_settings(queue_url: str) -> None:
    # Given no such function
    # When a request is checked against it
    code, _, stderr = run(
        json.dumps({"DestinationPhoneNumber": NUMBER}), "--queue-url", queue_url, "--function-name", "nope"
    )
    # Then nothing is sent, and the error names the function and AWS's error code
    assert code == EXIT_SETTINGS_UNAVAILABLE
    assert "cannot read the settings of function nope: ResourceNotFoundException" in stderr
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=queue_url)


@pytest.mark.slow
def test_python_m_sends_through_the_local_pipelines_intake(tmp_path: Path) -> None:
    # Given the local pipeline's AWS server with its intake (queue, bus and rule) for a producer's source
    settings = settings_from_context(cdk_json_context() | {"eventSources": [SOURCE]})
    with LocalAws() as local, scoped_environment(local_sdk_environment(local.url, "http://127.0.0.1:9", tmp_path)):
        intake = create_intake(settings, visibility_timeout_seconds=30)
        # And a shell with fake credentials and no endpoint variables: only --endpoint-url points at it
        # (and none of the function's variables: the model alone is checked)
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_ENDPOINT_URL") and key not in FUNCTION_ENVIRONMENT
        }
        environment |= {"PYTHONPATH": "lambda"}
        # When `python -m outbound_caller.cli send` reads the request from stdin and puts it on the bus
        request = {"DestinationPhoneNumber": NUMBER}
        command = [sys.executable, "-m", "outbound_caller.cli", "send", "-", "--event-bus", intake.event_bus_name]
        command += ["--source", SOURCE, "--endpoint-url", local.url, "--region", "us-east-1"]
        done = subprocess.run(
            command, input=json.dumps(request), capture_output=True, text=True, cwd=ROOT, env=environment, timeout=60
        )
        # Then it exits 0 and the request, with the printed token, is on the pipeline's queue as the event's detail
        assert done.returncode == 0, done.stderr
        event = json.loads(received(intake.queue_url)["Body"])
        assert event["detail"] == {**request, "ClientToken": printed_token(done.stdout)}
