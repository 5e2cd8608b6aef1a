"""cdk-nag's AwsSolutions checks run on every synth and find nothing unacknowledged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs

from tests.infra.synthesis import app_with, stack_of

FULL_CONFIGURATION = {
    "connectQueueId": "22222222-2222-2222-2222-222222222222",
    "allowedContactFlowIds": ["33333333-3333-3333-3333-333333333333"],
    "eventBusName": "calls",
    "eventSources": ["crm"],
    "queueProducerPrincipals": ["210987654321", "arn:aws:iam::123456789012:role/orders"],
    "operatorPrincipals": ["210987654322", "arn:aws:iam::123456789012:role/operations"],
    "snsTopicArns": ["arn:aws:sns:us-east-1:123456789012:crm-calls"],
    "batchSize": 50,
    "batchingWindowSeconds": 5,
    "maxConcurrency": 10,
    "callsPerSecond": 10,
    "alarmEmail": "ops@example.com",
    "alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:operations",
    "allowedDestinationCountries": ["US", "CA"],
    "callingHours": "Mon-Fri 09:00-20:00; Sat 10:00-14:00",
    "callingHolidays": "national",
    "callingBlackoutDates": ["2026-12-24"],
    "destinationCallLimit": "1/24h,3/7d",
    "sourceCallLimit": "200/1h",
    "redialOn": ["NoAnswer", "Busy"],
    "redialMaxAttempts": 3,
    "allowedQueueIds": ["44444444-4444-4444-4444-444444444444"],
    "agentPacing": True,
    "agentPacingRatio": 1.5,
}


def _nag_violations(outdir: Path) -> list[dict[str, Any]]:
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    return [
        {"rule": violation["ruleName"], "severity": violation["severity"], "at": construct["constructPath"]}
        for plugin in json.loads(report.read_text(encoding="utf-8"))["pluginReports"]
        if plugin["pluginName"] == "AwsSolutions"
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="cdk-json-defaults"),
        pytest.param(FULL_CONFIGURATION, id="every-option"),
        pytest.param(
            {
                "sourcePhoneNumber": None,
                "connectQueueId": "22222222-2222-2222-2222-222222222222",
                "allowedDestinationCountries": "*",
                "eventBusProducerPrincipals": ["210987654321", "arn:aws:iam::123456789012:role/orders"],
                "suppressionList": False,
            },
            id="queue-no-suppression-list",
        ),
    ],
)
def test_synthesis_has_no_unacknowledged_aws_solutions_findings(tmp_path: Path, overrides: dict[str, Any]) -> None:
    # Given the app with cdk-nag's AwsSolutions pack, as app.py builds it
    app = app_with(overrides, outdir=tmp_path)
    # When it is synthesized (a finding of error level would raise here)
    app.synth()
    # Then the validation report holds no AwsSolutions error or warning
    assert _nag_violations(tmp_path) == []


def test_nag_fails_synthesis_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Given the app with an unencrypted queue without a dead-letter queue or TLS policy added to the stack
    app = app_with(outdir=tmp_path)
    sqs.Queue(stack_of(app), "Insecure", encryption=sqs.QueueEncryption.UNENCRYPTED)
    # When it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    # Then cdk-nag reports the queue's findings: the check really runs on every synth
    rules = {
        violation["rule"] for violation in _nag_violations(tmp_path) if violation["at"].endswith("/Insecure/Resource")
    }
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules
