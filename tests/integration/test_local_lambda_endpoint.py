"""The local Lambda Invoke endpoint, through an unmodified boto3 client and the operators' command line: answers,
function errors and refusals as Lambda gives them."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.function_container import FUNCTION_ERROR, SUCCEEDED, TIMED_OUT, InvocationResult
from local.lambda_endpoint import INVOKE_API_DOOR, LocalLambdaEndpoint, function_name_of
from outbound_caller.cli import main
from outbound_caller.cli_clients import AwsClients

NAME = "connect-outbound-caller-opt-out"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{NAME}"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


class Function:
    """A function the endpoint serves: records each event and its door, answers as told."""

    def __init__(self, result: InvocationResult) -> None:
        self.result = result
        self.events: list[tuple[dict[str, Any], str]] = []
        self.invoked = threading.Event()

    def __call__(self, event: dict[str, Any], door: str) -> InvocationResult:
        self.events.append((event, door))
        self.invoked.set()
        return self.result


@pytest.fixture
def endpoint() -> Iterator[LocalLambdaEndpoint]:
    with LocalLambdaEndpoint() as endpoint:
        yield endpoint


def lambda_client(endpoint: LocalLambdaEndpoint) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


def serve(endpoint: LocalLambdaEndpoint, result: InvocationResult) -> Function:
    function = Function(result)
    endpoint.serve(NAME, function)
    return function


@pytest.mark.parametrize("name", [NAME, ARN, f"{ARN}:$LATEST", f"123456789012:function:{NAME}"])
def test_a_request_response_invoke_returns_the_functions_answer(endpoint: LocalLambdaEndpoint, name: str) -> None:
    # Given the function served, answering a map
    function = serve(endpoint, InvocationResult(SUCCEEDED, response={"Statuses": ["listed"], "Unannounced": 0}))
    # When a client invokes it by name or ARN, as Lambda's API takes either
    answer = lambda_client(endpoint).invoke(FunctionName=name, Payload=json.dumps({"Operation": "check"}).encode())
    # Then the function got the payload as its event, and the client reads its answer as Lambda gives it
    assert function.events == [({"Operation": "check"}, INVOKE_API_DOOR)]
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    assert json.loads(answer["Payload"].read()) == {"Statuses": ["listed"], "Unannounced": 0}


@pytest.mark.parametrize(
    ("result", "error_type", "message"),
    [
        (InvocationResult(FUNCTION_ERROR, error="ChangesNotAnnouncedError: not announced"), "ChangesNotAnnouncedError",
         "not announced"),
        (InvocationResult(TIMED_OUT, error="Task timed out", duration_seconds=30.0), "Sandbox.Timedout",
         "Task timed out after 30.00 seconds"),
    ],
)  # fmt: skip
def test_a_failed_invocation_is_a_function_error_with_lambdas_payload(
    endpoint: LocalLambdaEndpoint, result: InvocationResult, error_type: str, message: str
) -> None:
    # Given the function served, failing
    serve(endpoint, result)
    # When a client invokes it
    answer = lambda_client(endpoint).invoke(FunctionName=NAME, Payload=b"{}")
    # Then the invoke itself succeeds (200), naming the function's error and its type, as Lambda answers
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read()) == {"errorType": error_type, "errorMessage": message}


def test_a_function_not_served_or_a_payload_not_json_is_refused_as_lambda_does(endpoint: LocalLambdaEndpoint) -> None:
    # Given the function served
    function = serve(endpoint, InvocationResult(SUCCEEDED, response={}))
    client = lambda_client(endpoint)
    # When a client invokes another function, or this one with a payload that is not JSON
    with pytest.raises(ClientError) as unknown:
        client.invoke(FunctionName="someone-elses-function", Payload=b"{}")
    with pytest.raises(ClientError) as not_json:
        client.invoke(FunctionName=NAME, Payload=b"not json")
    # Then each is Lambda's error, and the function never ran
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert not_json.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert function.events == []


def test_an_event_invoke_is_accepted_at_once_and_a_dry_run_runs_nothing(endpoint: LocalLambdaEndpoint) -> None:
    # Given the function served
    function = serve(endpoint, InvocationResult(SUCCEEDED, response={}))
    client = lambda_client(endpoint)
    # When a client asks for a dry run, then for an asynchronous invocation
    dry_run = client.invoke(FunctionName=NAME, InvocationType="DryRun", Payload=b"{}")
    assert function.events == []
    queued = client.invoke(FunctionName=NAME, InvocationType="Event", Payload=b'{"n": 1}')
    # Then they are answered 204 and 202, as Lambda does, and only the second runs the function (in the background)
    assert (dry_run["StatusCode"], queued["StatusCode"]) == (204, 202)
    assert function.invoked.wait(5)
    assert function.events == [({"n": 1}, INVOKE_API_DOOR)]


def test_the_operators_command_line_reaches_the_function_through_it(
    endpoint: LocalLambdaEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function served, and the command line's environment pointing Lambda's API at the endpoint
    function = serve(endpoint, InvocationResult(SUCCEEDED, response={"Statuses": ["listed", "not-listed"]}))
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint.url)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    stdout, stderr = io.StringIO(), io.StringIO()
    # When an operator checks two numbers
    code = main(
        ["suppress", "check", "+12025550140", "+12025550101", "--function-name", NAME, "--region", "us-east-1"],
        stdout=stdout,
        stderr=stderr,
        clients=AwsClients(region="us-east-1"),
    )
    # Then the command sent the function its direct invocation and printed each number's answer, masked
    assert (code, stderr.getvalue()) == (0, "")
    assert function.events == [({"Operation": "check", "PhoneNumbers": ["+12025550140", "+12025550101"]}, "invoke-api")]
    assert stdout.getvalue().splitlines() == ["+*******0140\tlisted", "+*******0101\tnot-listed"]


def test_a_function_name_is_read_from_each_form_lambda_takes() -> None:
    assert {function_name_of(form) for form in (NAME, ARN, f"{ARN}:live", f"{NAME}:live")} == {NAME}


def test_only_invoke_is_served_and_only_as_a_post(endpoint: LocalLambdaEndpoint) -> None:
    # Given the function served
    function = serve(endpoint, InvocationResult(SUCCEEDED, response={}))
    # When a client asks for another operation, or sends Invoke's path with another method
    with pytest.raises(ClientError) as other:
        lambda_client(endpoint).get_function(FunctionName=NAME)
    path = f"{endpoint.url}/2015-03-31/functions/{NAME}/invocations"
    request = urllib.request.Request(path, method="GET")  # noqa: S310 - the local endpoint, over http on purpose
    with pytest.raises(urllib.error.HTTPError) as get:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - the local endpoint, over http on purpose
    # Then each is refused as unknown here, and the function never ran
    assert other.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert (get.value.code, get.value.headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    assert function.events == []
