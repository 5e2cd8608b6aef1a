"""preflight's account-wide checks and its command line: moto for STS, CloudFormation, Lambda and IAM roles;
botocore's Stubber for what moto does not serve (Connect's flows and numbers, Connect's Service Quotas, the IAM
policy simulator)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from moto import mock_aws

from preflight.checks import CHECKS, run_checks
from preflight.cli import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, main
from preflight.permission import check_permission
from preflight.quotas import CONCURRENT_ACTIVE_CALLS_QUOTA, START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA, check_quotas
from preflight.result import Status
from tests.support.preflight_target import (
    ACCOUNT,
    FLOW_ID,
    INSTANCE_ID,
    REGION,
    SOURCE_NUMBER,
    clients,
    stubbed,
    target,
)

INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}"
FUNCTION_NAME = "ConnectOutboundCaller-CallerFunction"


def _quota(code: str, value: float) -> dict[str, Any]:
    return {"Quota": {"ServiceCode": "connect", "QuotaCode": code, "Value": value}}


def _quotas(stubber: Stubber, *, rate: float = 2, concurrent: float = 10) -> None:
    stubber.add_response(
        "get_service_quota",
        _quota(START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA, rate),
        {"ServiceCode": "connect", "QuotaCode": START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA},
    )
    stubber.add_response(
        "get_service_quota",
        _quota(CONCURRENT_ACTIVE_CALLS_QUOTA, concurrent),
        {"ServiceCode": "connect", "QuotaCode": CONCURRENT_ACTIVE_CALLS_QUOTA, "ContextId": INSTANCE_ARN},
    )


def test_settings_within_the_quotas_pass() -> None:
    # Given the default quotas (2 calls/s for the account, 10 concurrent calls for the instance) and cdk.json's values
    quotas, stubber = stubbed("service-quotas")
    _quotas(stubber)

    # When preflight checks them
    results = check_quotas(clients(service_quotas=quotas), target())

    # Then both pass, naming the quota codes
    assert [result.status for result in results] == [Status.OK, Status.OK]
    rate_quota = f"rate quota of 2 ({START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA}, account {ACCOUNT}, Region {REGION})"
    assert f"callsPerSecond 2 is within the StartOutboundVoiceContact {rate_quota}" in results[0].message
    concurrent_quota = f"concurrent active calls quota of 10 ({CONCURRENT_ACTIVE_CALLS_QUOTA}, instance {INSTANCE_ID})"
    assert f"concurrentCallsLimit 10 is within the instance's {concurrent_quota}" in results[1].message


def test_settings_above_the_quotas_fail_naming_key_quota_and_value() -> None:
    # Given the default quotas and settings above both
    quotas, stubber = stubbed("service-quotas")
    _quotas(stubber)

    # When preflight checks them
    results = check_quotas(clients(service_quotas=quotas), target(callsPerSecond="4", concurrentCallsLimit="20"))

    # Then both fail, each naming its key, the quota and what to do
    assert [result.status for result in results] == [Status.FAIL, Status.FAIL]
    assert "callsPerSecond 4 exceeds the StartOutboundVoiceContact rate quota" in results[0].message
    assert "concurrentCallsLimit 20 exceeds the instance's concurrent active calls quota of 10" in results[1].message
    assert all("request an increase in Service Quotas" in result.message for result in results)


def test_a_quota_without_an_applied_value_is_read_from_its_default() -> None:
    # Given Service Quotas has no applied value for the instance's quota, whose default is 10
    quotas, stubber = stubbed("service-quotas")
    stubber.add_response("get_service_quota", _quota(START_OUTBOUND_VOICE_CONTACT_RATE_QUOTA, 5))
    stubber.add_client_error("get_service_quota", "NoSuchResourceException")
    stubber.add_response(
        "get_aws_default_service_quota",
        _quota(CONCURRENT_ACTIVE_CALLS_QUOTA, 10),
        {"ServiceCode": "connect", "QuotaCode": CONCURRENT_ACTIVE_CALLS_QUOTA},
    )

    # When preflight checks a limit above that default
    results = check_quotas(clients(service_quotas=quotas), target(concurrentCallsLimit="11"))

    # Then the default is the quota it compares with
    assert results[1].status is Status.FAIL
    assert "concurrentCallsLimit 11 exceeds" in results[1].message
    assert "quota of 10 (" in results[1].message


def test_credentials_that_may_not_read_quotas_fail_naming_the_permission() -> None:
    # Given credentials Service Quotas refuses
    quotas, stubber = stubbed("service-quotas")
    stubber.add_client_error("get_service_quota", "AccessDeniedException", http_status_code=403)

    # When preflight checks the quotas
    [result] = check_quotas(clients(service_quotas=quotas), target())

    # Then it fails, naming the permission it needs
    assert result.status is Status.FAIL
    assert "your credentials may not call servicequotas:GetServiceQuota" in result.message


def test_a_burst_above_connects_documented_burst_warns() -> None:
    # Given a callsBurst above the 5 Connect documents, which Service Quotas does not show
    quotas, stubber = stubbed("service-quotas")
    _quotas(stubber, rate=10)

    # When preflight checks the quotas
    results = check_quotas(clients(service_quotas=quotas), target(callsBurst="8"))

    # Then it warns, without failing the run
    assert [result.status for result in results] == [Status.OK, Status.OK, Status.WARN]
    assert "callsBurst 8 is above Connect's documented burst of 5" in results[2].message


@pytest.fixture
def deployed() -> Iterator[dict[str, Any]]:
    """moto's account with the stack deployed: its FunctionName output, the function, and the function's role."""
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="CallerRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler.py", "")
        lambda_ = boto3.client("lambda", region_name=REGION)
        lambda_.create_function(
            FunctionName=FUNCTION_NAME,
            Runtime="python3.12",
            Role=role,
            Handler="handler.h",
            Code={"ZipFile": code.read()},
        )
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"FunctionName": {"Value": FUNCTION_NAME}},
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="ConnectOutboundCaller", TemplateBody=json.dumps(template))
        yield {"role": role, "lambda_": lambda_, "cloudformation": cloudformation}


def _simulated(stubber: Stubber, role: str, decision: str) -> None:
    contacts = f"{INSTANCE_ARN}/contact/*"
    resources = [contacts]
    stubber.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {
                    "EvalActionName": "connect:StartOutboundVoiceContact",
                    "EvalDecision": decision,
                    "ResourceSpecificResults": [
                        {"EvalResourceName": arn, "EvalResourceDecision": "allowed" if arn != contacts else decision}
                        for arn in resources
                    ],
                }
            ]
        },
        {"PolicySourceArn": role, "ActionNames": ["connect:StartOutboundVoiceContact"], "ResourceArns": resources},
    )


def test_a_deployed_role_allowed_to_start_calls_passes(deployed: dict[str, Any]) -> None:
    # Given the stack is deployed and the simulator allows its function's role the action
    iam, stubber = stubbed("iam")
    _simulated(stubber, deployed["role"], "allowed")
    given = clients(iam=iam, lambda_=deployed["lambda_"], cloudformation=deployed["cloudformation"])

    # When preflight checks the permission
    [result] = check_permission(given, target())

    # Then it passes, naming the role the stack's function runs as
    assert result.status is Status.OK
    assert f"role {deployed['role']} may call connect:StartOutboundVoiceContact" in result.message


def test_a_deployed_role_denied_the_contacts_fails_naming_the_resource(deployed: dict[str, Any]) -> None:
    # Given the simulator denies the role the instance's contacts (deployed for another instance, say)
    iam, stubber = stubbed("iam")
    _simulated(stubber, deployed["role"], "implicitDeny")
    given = clients(iam=iam, lambda_=deployed["lambda_"], cloudformation=deployed["cloudformation"])

    # When preflight checks the permission
    [result] = check_permission(given, target())

    # Then it fails, naming the denied resource and what to do
    assert result.status is Status.FAIL
    assert f"{INSTANCE_ARN}/contact/* (implicitDeny)" in result.message
    assert "make deploy" in result.message


def test_the_permission_check_is_skipped_until_the_stack_is_deployed() -> None:
    # Given an account without the stack
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)

        # When preflight checks the permission
        [result] = check_permission(clients(cloudformation=cloudformation), target())

    # Then it is skipped, saying so and what to run
    assert result.status is Status.SKIP
    assert "stack ConnectOutboundCaller is not deployed in account 123456789012, Region eu-west-2" in result.message
    assert "make deploy" in result.message


def test_a_failed_instance_check_skips_the_checks_that_need_the_instance() -> None:
    # Given no instance with the configured ID; only the stack is still asked about (it is not deployed)
    connect, connect_stubber = stubbed("connect")
    connect_stubber.add_client_error("describe_instance", "ResourceNotFoundException")
    cloudformation, cloudformation_stubber = stubbed("cloudformation")
    cloudformation_stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id X does not exist")

    # When preflight runs every check (Service Quotas' client refuses any call)
    results = run_checks(clients(connect=connect, cloudformation=cloudformation), target())

    # Then flows, caller ID and quotas are skipped, saying why, not failed a second time
    assert [(result.check, result.status) for result in results] == [
        ("instance", Status.FAIL),
        ("flows", Status.SKIP),
        ("caller-id", Status.SKIP),
        ("quotas", Status.SKIP),
        ("permission", Status.SKIP),
    ]
    assert results[1].message == "skipped: the instance check failed"


def _ready_connect() -> Any:
    connect, stubber = stubbed("connect")
    instance = {"Id": INSTANCE_ID, "InstanceStatus": "ACTIVE", "OutboundCallsEnabled": True}
    stubber.add_response("describe_instance", {"Instance": instance})
    flow = {"Id": FLOW_ID, "Type": "CONTACT_FLOW", "State": "ACTIVE", "Status": "PUBLISHED"}
    stubber.add_response("describe_contact_flow", {"ContactFlow": flow})
    number = {"PhoneNumberId": "n-1", "PhoneNumber": SOURCE_NUMBER, "TargetArn": INSTANCE_ARN}
    stubber.add_response("list_phone_numbers_v2", {"ListPhoneNumbersSummaryList": [number]}, {"TargetArn": ANY})
    return connect


def _run(deployed: dict[str, Any], decision: str, *argv: str) -> tuple[int, str]:
    iam, iam_stubber = stubbed("iam")
    _simulated(iam_stubber, deployed["role"], decision)
    quotas, quota_stubber = stubbed("service-quotas")
    _quotas(quota_stubber)
    given = clients(
        connect=_ready_connect(),
        service_quotas=quotas,
        iam=iam,
        lambda_=deployed["lambda_"],
        cloudformation=deployed["cloudformation"],
        sts=boto3.client("sts", region_name=REGION),
    )
    out = io.StringIO()
    code = main(
        ["-c", f"connectInstanceId={INSTANCE_ID}", *argv],
        session=boto3.Session(region_name=REGION),
        clients=given,
        out=out,
    )
    return code, out.getvalue()


def test_the_command_line_reports_every_check_and_exits_0_when_none_failed(deployed: dict[str, Any]) -> None:
    # Given an account where everything is in place (the account from moto's STS)
    # When the operator runs python -m preflight with the instance ID on the command line
    code, output = _run(deployed, "allowed")

    # Then it names what it checked, prints one line per finding and a summary, and exits 0
    lines = output.splitlines()
    assert code == EXIT_OK
    assert (
        lines[0]
        == f"preflight: stack ConnectOutboundCaller, instance {INSTANCE_ID}, account {ACCOUNT}, Region {REGION}"
    )
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["ok", "instance"],
        ["ok", "flows"],
        ["ok", "caller-id"],
        ["ok", "quotas"],
        ["ok", "quotas"],
        ["ok", "permission"],
    ]
    assert lines[-1] == "6 ok: ready for a first call"
    assert SOURCE_NUMBER not in output


def test_the_command_line_exits_1_when_a_check_failed_and_says_so_in_json(deployed: dict[str, Any]) -> None:
    # Given the function's role may not start calls
    # When the operator asks for JSON
    code, output = _run(deployed, "implicitDeny", "--json")

    # Then the document says which check failed, and the exit status is 1
    document = json.loads(output)
    assert code == EXIT_FAILED
    assert document["passed"] is False
    assert [r["check"] for r in document["results"] if r["status"] == "fail"] == ["permission"]


def test_an_unreachable_aws_fails_the_check_that_asked_it() -> None:
    # Given Connect's endpoint refuses connections (nothing listens on the discard port)
    connect = boto3.client(
        "connect",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    # When preflight runs the instance check
    [result, *_] = run_checks(clients(connect=connect), target(), CHECKS[:1])

    # Then that check fails, saying so, instead of ending the run with a traceback
    assert result.status is Status.FAIL
    assert result.message.startswith("could not ask AWS: Could not connect to the endpoint URL")


def test_without_a_region_the_command_line_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no Region in the environment nor in any profile
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")

    # When the operator runs preflight
    code = main([])

    # Then one line says what to set, and nothing was checked
    error = capsys.readouterr().err
    assert code == EXIT_UNAVAILABLE
    assert (
        error
        == "preflight: no AWS Region: set AWS_REGION (as for make deploy) to the Region of your Connect instance\n"
    )


def test_without_credentials_the_command_line_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Region but no credentials anywhere botocore looks
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", REGION)

    # When the operator runs preflight
    code = main([])

    # Then one line says what to configure, and nothing was checked
    error = capsys.readouterr().err
    assert code == EXIT_UNAVAILABLE
    assert error.startswith("preflight: no AWS credentials: configure them")
    assert error.count("\n") == 1


def test_invalid_settings_stop_preflight_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an override that is not a valid setting
    # When the operator runs preflight with it
    code = main(["-c", "maxConcurrency=1"], session=boto3.Session(region_name=REGION))

    # Then it names the key, as synth would, and checks nothing
    assert code == EXIT_UNAVAILABLE
    assert "context value 'maxConcurrency'" in capsys.readouterr().err


def test_help_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    # When the operator asks for help
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])

    # Then every check is listed with what it verifies
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(f"  {check.name} " in text for check in CHECKS)
