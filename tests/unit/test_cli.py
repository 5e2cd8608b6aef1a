"""The producer CLI's checks, without AWS: each error path, the dry run's output, and the ClientToken it sends."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.settings import DEFAULT_EVENT_DETAIL_TYPE
from outbound_caller.cli import main
from outbound_caller.config.settings import Settings
from outbound_caller.producer.checks import (
    EXIT_INVALID_JSON,
    EXIT_INVALID_REQUEST,
    EXIT_REFUSED_BY_POLICY,
    EXIT_SETTINGS_UNAVAILABLE,
    EXIT_UNREADABLE,
    EXIT_USAGE,
)
from outbound_caller.producer.sending import DEFAULT_DETAIL_TYPE
from outbound_caller.request.envelopes import parse_delivery
from outbound_caller.request.record import CallRequestRecord
from tests.support.environment import FUNCTION_ENVIRONMENT
from tests.support.lambda_events import sqs_record

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+14155550123"
# A London number of Ofcom's drama range: libphonenumber places it in GB and Europe/London.
LONDON_NUMBER = "+442079460123"
# The NANP fiction range under Washington's area code: libphonenumber places it in America/New_York.
NEW_YORK_NUMBER = "+12025550123"
# In the 555 exchange, which libphonenumber places in no time zone.
ZONELESS_NUMBER = "+15555550123"
QUEUE = ["--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/outbound-call-requests"]
NO_SETTINGS: dict[str, str] = {}


class Run:
    """One run of the CLI: its exit code, stdout and stderr."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def output(self) -> str:
        """Everything it printed."""
        return self.stdout + self.stderr

    def json(self) -> Any:
        """Its --json output."""
        return json.loads(self.stdout)


def run(*argv: str, environ: dict[str, str] | None = None, stdin: str = "") -> Run:
    """Run `send` dry, in-process; environ stands for the process environment (default: no function settings)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["send", *argv],
        stdin=io.StringIO(stdin),
        stdout=stdout,
        stderr=stderr,
        environ=NO_SETTINGS if environ is None else environ,
    )
    return Run(code, stdout.getvalue(), stderr.getvalue())


def inline(**fields: Any) -> str:
    """A valid request as inline JSON, with ``fields`` added or replaced."""
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


# --- Reading the request ---------------------------------------------------------------------------------------


def test_an_unreadable_file_is_named_with_its_own_exit_code(tmp_path: Path) -> None:
    # Given a request file that does not exist
    missing = tmp_path / "missing.json"
    # When it is sent
    result = run(str(missing), *QUEUE, "--dry-run")
    # Then the CLI names the file and why, and exits with the unreadable-file code
    assert result.code == EXIT_UNREADABLE
    assert str(missing) in result.stderr
    assert "No such file or directory" in result.stderr
    assert result.stdout == ""


def test_a_file_that_is_not_utf8_is_unreadable(tmp_path: Path) -> None:
    # Given a request file in Latin-1
    path = tmp_path / "latin1.json"
    path.write_bytes('{"Name": "Müller"}'.encode("latin-1"))
    # When it is sent
    result = run(str(path), *QUEUE, "--dry-run")
    # Then it is refused as unreadable
    assert result.code == EXIT_UNREADABLE


def test_invalid_json_names_line_and_column_without_quoting_the_text(tmp_path: Path) -> None:
    # Given a file whose JSON breaks right after a phone number
    path = tmp_path / "broken.json"
    path.write_text(f'{{\n  "DestinationPhoneNumber": "{NUMBER}",\n}}')
    # When it is sent
    result = run(str(path), *QUEUE, "--dry-run")
    # Then the error says where the JSON breaks, never what it says
    assert result.code == EXIT_INVALID_JSON
    assert "line 3 column 1" in result.stderr
    assert NUMBER not in result.output


def test_a_json_value_that_is_not_an_object_is_an_invalid_request() -> None:
    # Given a JSON list on stdin
    # When it is sent
    result = run("-", *QUEUE, "--dry-run", stdin=f'["{NUMBER}"]')
    # Then it is refused: a request is an object
    assert result.code == EXIT_INVALID_REQUEST
    assert "not an object" in result.stderr
    assert NUMBER not in result.output


def test_a_request_is_read_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    # Given the same request in a file and on stdin
    path = tmp_path / "request.json"
    path.write_text(inline(ClientToken="order-1"))
    # When each is sent dry
    from_file = run(str(path), *QUEUE, "--dry-run", "--json")
    from_stdin = run("-", *QUEUE, "--dry-run", "--json", stdin=inline(ClientToken="order-1"))
    # Then both are valid, and the same request
    assert (from_file.code, from_stdin.code) == (0, 0)
    assert from_file.json()["request"] == from_stdin.json()["request"]


# --- Validation --------------------------------------------------------------------------------------------------


def test_validation_lists_each_problem_without_quoting_numbers_keys_or_values() -> None:
    # Given a request with a malformed number, an attribute key that is not allowed, a typo and a bad ring time
    document = inline(
        DestinationPhoneNumber="4155550123",
        Attributes={"customer name": "Jane Doe"},
        RingTimeout=30,
        RingTimeoutInSeconds=5,
    )
    # When it is sent
    result = run(document, *QUEUE, "--dry-run")
    # Then each problem is on its own line, named by its field
    assert result.code == EXIT_INVALID_REQUEST
    problems = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert [problem.split(":")[0] for problem in problems] == [
        "DestinationPhoneNumber",
        "Attributes.<key>.[key]",
        "RingTimeoutInSeconds",
        "RingTimeout",
    ]
    # And neither the number, the attribute's key nor its value is printed
    for secret in ("4155550123", "customer name", "Jane Doe"):
        assert secret not in result.output
    assert result.stdout == ""


def test_the_deployments_allow_lists_apply_when_its_settings_are_in_the_environment() -> None:
    # Given the function's variables in the environment, and a request naming a flow they do not allow
    document = inline(ContactFlowId="not-an-allowed-flow")
    # When it is sent
    result = run(document, *QUEUE, "--dry-run", environ=FUNCTION_ENVIRONMENT)
    # Then it is refused as the function would refuse it
    assert result.code == EXIT_INVALID_REQUEST
    assert "ContactFlowId is neither the default flow nor one of CONNECT_ALLOWED_CONTACT_FLOW_IDS" in result.stderr


def test_without_settings_the_model_alone_is_checked_and_the_cli_says_so() -> None:
    # Given no function settings, and a request naming its own flow and caller ID
    document = inline(ContactFlowId="any-flow", SourcePhoneNumber="+15550100001")
    # When it is sent
    result = run(document, *QUEUE, "--dry-run")
    # Then it passes (no deployment to compare with), with a note that only the model was checked
    assert result.code == 0
    assert "checked against the model alone" in result.stderr


def test_without_settings_the_model_still_refuses_what_it_always_refuses() -> None:
    # Given no function settings, and a request using answering-machine detection outside a campaign
    document = inline(AnswerMachineDetectionConfig={"EnableAnswerMachineDetection": True})
    # When it is sent
    result = run(document, *QUEUE, "--dry-run")
    # Then the model's own rule refuses it
    assert result.code == EXIT_INVALID_REQUEST
    assert "EnableAnswerMachineDetection requires TrafficType CAMPAIGN" in result.stderr


# --- Calling safety ----------------------------------------------------------------------------------------------


def test_a_destination_outside_the_allowed_countries_is_refused_by_policy() -> None:
    # Given a deployment that calls only the UK
    environ = {**FUNCTION_ENVIRONMENT, "ALLOWED_DESTINATION_COUNTRIES": "GB"}
    # When a US number is sent
    result = run(inline(), *QUEUE, "--dry-run", environ=environ)
    # Then the policy refuses it, naming the country and the function's ErrorCode, never the number
    assert result.code == EXIT_REFUSED_BY_POLICY
    assert "the destination is in US, which is not in ALLOWED_DESTINATION_COUNTRIES" in result.stderr
    assert "DestinationNotAllowedByPolicy" in result.stderr
    assert NUMBER not in result.output


def test_a_destination_with_no_known_time_zone_is_refused_when_calling_hours_are_set() -> None:
    # Given a deployment with calling hours
    environ = {**FUNCTION_ENVIRONMENT, "CALLING_HOURS": "08:00-21:00"}
    # When a number in no known time zone is sent
    result = run(inline(DestinationPhoneNumber=ZONELESS_NUMBER), *QUEUE, "--dry-run", environ=environ)
    # Then it is refused: its calling hours cannot be kept
    assert result.code == EXIT_REFUSED_BY_POLICY
    assert "time zone is unknown" in result.stderr


def test_an_allowed_destination_passes_the_policy() -> None:
    # Given a deployment that calls only the UK
    environ = {**FUNCTION_ENVIRONMENT, "ALLOWED_DESTINATION_COUNTRIES": "GB"}
    # When a London number is sent
    result = run(inline(DestinationPhoneNumber=LONDON_NUMBER), *QUEUE, "--dry-run", environ=environ)
    # Then it would be sent
    assert result.code == 0, result.stderr


def test_a_request_outside_calling_hours_is_sent_with_a_note_that_it_will_be_deferred() -> None:
    # Given calling hours that open two hours from now in New York, the callee's zone
    opening = datetime.now(ZoneInfo("America/New_York")) + timedelta(hours=2)
    window = f"{opening:%H}:00-{(opening + timedelta(hours=1)):%H}:00"
    environ = {**FUNCTION_ENVIRONMENT, "CALLING_HOURS": window}
    # When a New York number is sent
    result = run(inline(DestinationPhoneNumber=NEW_YORK_NUMBER), *QUEUE, "--dry-run", environ=environ)
    # Then it would be sent all the same, with a note that the function will defer it to the opening
    assert result.code == 0, result.stderr
    assert "outside CALLING_HOURS (or on a closed day) in the callee's time zone now:" in result.stderr
    assert "the function will defer it to " in result.stderr


@pytest.mark.parametrize(
    ("member", "offset", "note"),
    [
        ("ExpiresAt", timedelta(minutes=-1), "ExpiresAt has passed: the function will dead-letter it as Expired"),
        ("NotBefore", timedelta(hours=1), "NotBefore is ahead: the function will defer it until "),
    ],
)
def test_the_requests_own_times_get_a_note(member: str, offset: timedelta, note: str) -> None:
    # Given a request whose ExpiresAt has passed, or whose NotBefore is ahead
    moment = (datetime.now(UTC) + offset).isoformat()
    # When it is sent, checked against the model alone
    result = run(inline(**{member: moment}), *QUEUE, "--dry-run")
    # Then it is still valid, and the CLI says what the function will do with it
    assert result.code == 0
    assert note in result.stderr


# --- Settings ----------------------------------------------------------------------------------------------------


def test_incomplete_function_settings_in_the_environment_are_unavailable_settings() -> None:
    # Given only one of the function's required variables in the environment
    environ = {"CONNECT_INSTANCE_ID": "11111111-2222-4333-8444-555555555555"}
    # When a request is sent
    result = run(inline(), *QUEUE, "--dry-run", environ=environ)
    # Then the CLI stops, naming each missing variable, rather than check against half a deployment
    assert result.code == EXIT_SETTINGS_UNAVAILABLE
    assert "CONNECT_CONTACT_FLOW_ID: Field required" in result.stderr
    assert "DEAD_LETTER_QUEUE_URL: Field required" in result.stderr


def test_a_malformed_function_setting_is_named() -> None:
    # Given the function's settings with calling hours it cannot parse
    environ = {**FUNCTION_ENVIRONMENT, "CALLING_HOURS": "8 to 9"}
    # When a request is sent
    result = run(inline(), *QUEUE, "--dry-run", environ=environ)
    # Then the variable is named
    assert result.code == EXIT_SETTINGS_UNAVAILABLE
    assert "CALLING_HOURS" in result.stderr


# --- The ClientToken ---------------------------------------------------------------------------------------------


def test_a_request_without_a_token_gets_a_new_uuid_in_its_body() -> None:
    # Given a request with no ClientToken
    # When it is sent dry
    result = run(inline(), *QUEUE, "--dry-run", "--json")
    # Then a UUID4 is generated, put in the request itself, and printed
    outcome = result.json()
    assert result.code == 0
    assert uuid.UUID(outcome["clientToken"]).version == 4
    assert outcome["request"]["ClientToken"] == outcome["clientToken"]
    assert outcome["clientTokenOrigin"] == "generated"


def test_the_requests_own_token_is_kept() -> None:
    # Given a request carrying its own ClientToken
    # When it is sent dry, as text
    result = run(inline(ClientToken="order-A-1042"), *QUEUE, "--dry-run")
    # Then that token is the one printed, on its own machine-readable line
    assert result.code == 0
    assert result.stdout.splitlines()[-1] == "ClientToken: order-A-1042"


def test_the_client_token_option_fills_in_a_request_without_one() -> None:
    # Given a request with no token and --client-token
    # When it is sent dry
    result = run(inline(), *QUEUE, "--dry-run", "--json", "--client-token", "order-A-1043")
    # Then the request carries the option's token
    assert result.json()["request"]["ClientToken"] == "order-A-1043"
    assert result.json()["clientTokenOrigin"] == "option"


def test_a_client_token_option_that_contradicts_the_request_is_refused() -> None:
    # Given a request with one token and --client-token naming another
    # When it is sent
    result = run(inline(ClientToken="order-A-1042"), *QUEUE, "--dry-run", "--client-token", "order-B-7")
    # Then neither wins silently: a token names one call
    assert result.code == EXIT_USAGE
    assert "--client-token differs" in result.stderr


def test_a_client_token_beyond_the_apis_limit_is_an_invalid_request() -> None:
    # Given a --client-token of 501 characters (the API takes at most 500)
    # When it is sent
    result = run(inline(), *QUEUE, "--dry-run", "--client-token", "x" * 501)
    # Then the model refuses it like any request member
    assert result.code == EXIT_INVALID_REQUEST
    assert "ClientToken: String should have at most 500 characters" in result.stderr


# --- The dry run's output ----------------------------------------------------------------------------------------


def test_a_dry_run_shows_the_target_and_the_request_masked() -> None:
    # Given a request with attributes and a name
    document = inline(Attributes={"orderId": "A-1042"}, Name="Jane Doe", ClientToken="t-1")
    # When it is sent dry to an event bus
    result = run(document, "--event-bus", "outbound-calls", "--source", "com.example.orders", "--dry-run")
    # Then the output says nothing was sent, where it would go, and shows the request with its number masked and
    # its free text summarised
    assert result.code == 0
    assert result.stdout.startswith("Dry run, nothing sent. Would send to event bus outbound-calls (source ")
    assert "com.example.orders, detail-type Outbound Call Requested" in result.stdout
    assert '"DestinationPhoneNumber": "+*******0123"' in result.stdout
    assert '"Attributes": "<entries: 1, not shown>"' in result.stdout
    assert '"Name": "<characters: 8, not shown>"' in result.stdout
    for secret in (NUMBER, "A-1042", "orderId", "Jane Doe"):
        assert secret not in result.output


def test_json_output_is_one_object_naming_target_settings_and_token() -> None:
    # Given the function's settings in the environment
    # When a request is sent dry with --json
    result = run(inline(ClientToken="t-2"), *QUEUE, "--dry-run", "--json", environ=FUNCTION_ENVIRONMENT)
    # Then stdout is one JSON object saying what would be sent where, checked against what
    outcome = result.json()
    assert outcome["dryRun"] is True
    assert outcome["target"] == {"queueUrl": QUEUE[1]}
    assert outcome["settings"] == "this environment"
    assert outcome["clientToken"] == "t-2"
    assert outcome["request"]["DestinationPhoneNumber"] == "+*******0123"


# --- Arguments ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "targets",
    [[], [*QUEUE, "--event-bus", "outbound-calls"]],
    ids=["no target", "two targets"],
)
def test_exactly_one_target_is_required(targets: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given no target, or both a queue and a bus
    # When the CLI is run
    with pytest.raises(SystemExit) as exited:
        main(["send", inline(), *targets, "--dry-run"], environ=NO_SETTINGS)
    # Then argparse refuses the arguments with its usage error
    assert exited.value.code == EXIT_USAGE
    assert "--queue-url" in capsys.readouterr().err


def test_the_default_detail_type_is_the_one_the_stacks_rule_matches() -> None:
    # Given the CLI's default detail-type and the stack's
    # Then they agree: an event put with the default reaches the queue (the function never imports infra/)
    assert DEFAULT_DETAIL_TYPE == DEFAULT_EVENT_DETAIL_TYPE


def test_python_m_runs_a_dry_run_with_no_aws_configuration_at_all() -> None:
    # Given a shell with no AWS Region, credentials or endpoint, and none of the function's variables
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in FUNCTION_ENVIRONMENT
    }
    environment |= {"PYTHONPATH": "lambda", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    # When `python -m outbound_caller.cli send --dry-run` runs
    command = [sys.executable, "-m", "outbound_caller.cli", "send", inline(), *QUEUE, "--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=60, check=False)
    # Then it succeeds: importing the CLI creates no AWS client (the function's Connect client needs a Region), and
    # a dry run sends nothing
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Dry run, nothing sent.")


def test_it_prints_the_token_as_the_functions_result_events_will_name_it(settings: Settings) -> None:
    # Given a request carrying its own ClientToken, sent dry
    result = run(inline(ClientToken="order-A-1042"), *QUEUE, "--dry-run", "--json")
    outcome = result.json()
    # When the function receives that body and names its token in a result event
    record = CallRequestRecord.model_validate(
        sqs_record(json.dumps(outcome["request"] | {"DestinationPhoneNumber": NUMBER}))
    )
    delivery = parse_delivery(record, settings)
    # Then the CLI told the producer that very value, so outcomes can be matched to what was sent
    assert outcome["resultEventsClientToken"] == delivery.token.in_results
    assert outcome["resultEventsClientToken"] != "order-A-1042"
