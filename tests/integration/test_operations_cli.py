"""The operators' commands: the suppression list through the opt-out function, and pausing the caller."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from outbound_caller.cli import main
from outbound_caller.cli_clients import AwsClients
from outbound_caller.config.optout import load_optout_settings
from outbound_caller.optout.collaborators import OptOut, build_optout
from tests.support.lambda_invoke import answer_invokes_with

TABLE = "outbound-caller-suppression"
SECRET = "outbound-caller/suppression-key"
OPT_OUT_FUNCTION = "outbound-caller-opt-out"
CALLER = "outbound-caller"
NUMBER = "+442071838750"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString="the tests' suppression key")
        yield


@pytest.fixture
def optout(aws: None, monkeypatch: pytest.MonkeyPatch) -> OptOut:
    """The opt-out function's collaborators (no result bus), importable as at a cold start."""
    monkeypatch.setenv("SUPPRESSION_TABLE_NAME", TABLE)
    monkeypatch.setenv("SUPPRESSION_KEY_SECRET_ID", SECRET)
    return build_optout(load_optout_settings({"SUPPRESSION_TABLE_NAME": TABLE, "SUPPRESSION_KEY_SECRET_ID": SECRET}))


@pytest.fixture
def clients(optout: OptOut) -> AwsClients:
    """The command's clients, its Lambda Invoke answered by the real opt-out handler in-process."""
    from outbound_caller.optout.handler import handler_for

    clients = AwsClients()
    answer_invokes_with(clients.client("lambda"), handler_for(optout))
    return clients


def run(clients: AwsClients, *argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=stdout, stderr=stderr, clients=clients)
    return code, stdout.getvalue(), stderr.getvalue()


def test_an_operator_adds_checks_and_removes_a_number(optout: OptOut, clients: AwsClients) -> None:
    # Given the opt-out function
    suppress = ("suppress", "--function-name", OPT_OUT_FUNCTION)
    # When an operator adds a number, checks it, removes it and checks again
    added = run(clients, *suppress[:1], "add", NUMBER, *suppress[1:])
    checked = run(clients, *suppress[:1], "check", NUMBER, *suppress[1:])
    removed = run(clients, *suppress[:1], "remove", NUMBER, *suppress[1:])
    again = run(clients, *suppress[:1], "check", NUMBER, *suppress[1:])
    # Then each says what became of it, the number masked
    assert [result[0] for result in (added, checked, removed, again)] == [0, 0, 0, 0]
    assert added[1] == "+********8750\tlisted\n"
    assert checked[1].endswith("\tlisted\n")
    assert removed[1].endswith("\tremoved\n")
    assert again[1].endswith("\tnot-listed\n")
    assert NUMBER not in "".join(result[1] + result[2] for result in (added, checked, removed, again))


def test_an_import_lists_every_number_in_batches_and_names_the_lines_that_are_not_numbers(
    optout: OptOut, clients: AwsClients, tmp_path: Path
) -> None:
    # Given a file of 1,203 lines: 1,201 numbers, a comment and one line that is not a number
    numbers = [f"+1415555{index:04d}" for index in range(1201)]
    lines = ["# customers who asked not to be called", *numbers[:600], "not a number", *numbers[600:]]
    path = tmp_path / "opt-outs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # When it is imported
    code, stdout, stderr = run(clients, "suppress", "import", str(path), "--function-name", OPT_OUT_FUNCTION)
    # Then every number is listed (in three batches of at most 500), and the one bad line is named by position
    assert json.loads(stdout.splitlines()[-1]) == {"numbers": 1202, "invalid": 1, "listed": 1201}
    assert code == 5
    assert "positions [601]" in stderr
    assert optout.suppression.is_listed(numbers[0])
    assert optout.suppression.is_listed(numbers[-1])


def test_an_unreachable_opt_out_function_is_a_failure_of_its_own(aws: None) -> None:
    # Given no opt-out function at all (moto answers ResourceNotFound)
    # When an operator adds a number
    code, _, stderr = run(AwsClients(), "suppress", "add", NUMBER, "--function-name", "no-such-function")
    # Then the command fails as an invocation failure, naming the function
    assert code == 8
    assert "no-such-function" in stderr


def _caller_reading_a_queue() -> str:
    role = boto3.client("iam").create_role(RoleName="caller", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as code:
        code.writestr("handler.py", "def handle(event, context):\n    return None\n")
    lambda_client = boto3.client("lambda")
    lambda_client.create_function(
        FunctionName=CALLER,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": archive.getvalue()},
    )
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="call-requests")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(lambda_client.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=CALLER)["UUID"])


def test_pause_stops_reading_the_queue_and_resume_starts_again(aws: None) -> None:
    # Given the caller reading its queue
    mapping = _caller_reading_a_queue()
    lambda_client = boto3.client("lambda")
    # When an operator pauses it, then resumes it
    paused = run(AwsClients(), "pause", "--function-name", CALLER)
    state_paused = lambda_client.get_event_source_mapping(UUID=mapping)["State"]
    resumed = run(AwsClients(), "resume", "--function-name", CALLER)
    state_resumed = lambda_client.get_event_source_mapping(UUID=mapping)["State"]
    # Then the mapping is disabled, then enabled again: the queue keeps its requests meanwhile
    assert (paused[0], state_paused) == (0, "Disabled")
    assert (resumed[0], state_resumed) == (0, "Enabled")
    assert paused[1].endswith("\tDisabled\n")


def test_pausing_a_function_that_reads_no_queue_says_so(aws: None) -> None:
    # Given a function name with no event source mapping
    # When an operator pauses it
    code, _, stderr = run(AwsClients(), "pause", "--function-name", "nothing-here")
    # Then the command fails, saying it reads no queue
    assert code == 8
    assert "reads no SQS queue" in stderr
