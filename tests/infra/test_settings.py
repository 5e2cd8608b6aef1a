"""Context values: parsing as cdk.json and -c give them, derived numbers, and refusal of bad values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.settings import (
    CONTEXT_KEYS,
    InvalidDeploymentSettings,
    load_cdk_json_settings,
    settings_from_context,
)
from outbound_caller.config.settings import (
    DEFAULT_CALLS_BURST,
    DEFAULT_CONCURRENT_CALLS_LIMIT,
    DEFAULT_MAX_DEFERRAL_SECONDS,
    MAX_CONCURRENT_CALLS_LIMIT,
)
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from tests.infra.contexts import DLQ_URL, FLOW, INSTANCE, MINIMAL, SIGNING_KEY, SOURCE_QUEUE_URL
from tests.infra.synthesis import app_with, cdk_json_context


def test_cdk_json_holds_every_setting_with_placeholder_values_that_validate() -> None:
    # Given cdk.json
    context = cdk_json_context()
    # When its settings are loaded
    settings = load_cdk_json_settings()
    # Then every setting is listed there (so users see them all) and the defaults are the documented ones
    assert set(CONTEXT_KEYS) <= set(context)
    assert settings.calls_per_second == 2
    assert settings.max_concurrency == 2
    assert settings.batch_size == 10
    assert settings.max_receive_count == 5
    assert settings.event_detail_types == ("Outbound Call Requested",)
    assert settings.event_bus_name is None
    assert settings.operator_principals == ()
    # and cdk.json's values for the busy-instance settings are the function's own defaults
    assert settings.calls_burst == DEFAULT_CALLS_BURST
    assert settings.concurrent_calls_limit == DEFAULT_CONCURRENT_CALLS_LIMIT
    assert settings.max_deferral_seconds == DEFAULT_MAX_DEFERRAL_SECONDS


def test_cdk_feature_flags_and_unrelated_context_are_ignored() -> None:
    # Given the settings among CDK's own context keys and a user key unrelated to any setting
    context = MINIMAL | {"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:bundling-stacks": [], "team": "x"}
    # When they are validated
    # Then validation succeeds
    assert settings_from_context(context).instance_id == INSTANCE


BAD_VALUES = [
    # A trailing newline passes re.match's "$" but not the function's own check: every cold start would fail.
    pytest.param({"sourcePhoneNumber": "+15555550100\n"}, "sourcePhoneNumber", id="caller-id-newline"),
    pytest.param({"allowedQueueIds": ["queue-1"]}, "allowedQueueIds", id="queue-not-uuid"),
    pytest.param({"connectInstanceId": "my-instance"}, "connectInstanceId", id="instance-not-uuid"),
    pytest.param(
        {"connectInstanceId": f"arn:aws:connect:eu-west-1:123456789012:instance/{INSTANCE}"},
        "connectInstanceId",
        id="instance-arn",
    ),
    pytest.param({"connectContactFlowId": "flow"}, "connectContactFlowId", id="flow-not-uuid"),
    pytest.param({"allowedContactFlowIds": "a,b"}, "allowedContactFlowIds", id="allowed-flows-not-uuids"),
    pytest.param({"sourcePhoneNumber": "0044123456"}, "sourcePhoneNumber", id="number-not-e164"),
    pytest.param({"sourcePhoneNumber": "+1234567890123456"}, "sourcePhoneNumber", id="number-too-long"),
    pytest.param({"connectQueueId": "queue"}, "connectQueueId", id="queue-not-uuid"),
    pytest.param({"sourcePhoneNumber": None}, "sourcePhoneNumber or connectQueueId", id="no-number-nor-queue"),
    pytest.param({"callsPerSecond": 0}, "callsPerSecond", id="rate-zero"),
    pytest.param({"callsPerSecond": "fast"}, "callsPerSecond", id="rate-not-number"),
    pytest.param({"maxConcurrency": 1}, "maxConcurrency", id="concurrency-below-2"),
    pytest.param({"maxConcurrency": "1001"}, "maxConcurrency", id="concurrency-above-1000"),
    pytest.param({"batchSize": 0}, "batchSize", id="batch-zero"),
    pytest.param({"batchSize": 11}, "batchingWindowSeconds", id="batch-above-10-without-window"),
    pytest.param({"batchSize": 5000, "batchingWindowSeconds": 1}, "batchSize=5000", id="batch-too-slow-for-900s"),
    pytest.param({"batchingWindowSeconds": 301}, "batchingWindowSeconds", id="window-above-300"),
    pytest.param({"maxReceiveCount": 0}, "maxReceiveCount", id="receive-count-zero"),
    pytest.param({"callsBurst": 0.5}, "callsBurst", id="burst-below-one-call"),
    pytest.param({"callsBurst": "inf"}, "callsBurst", id="burst-infinite"),
    pytest.param({"callsBurst": "lots"}, "callsBurst", id="burst-not-number"),
    pytest.param({"concurrentCallsLimit": 0}, "concurrentCallsLimit", id="instance-limit-zero"),
    pytest.param(
        {"concurrentCallsLimit": MAX_CONCURRENT_CALLS_LIMIT + 1}, "concurrentCallsLimit", id="instance-limit-too-high"
    ),
    pytest.param({"concurrentCallsLimit": "2.5"}, "concurrentCallsLimit", id="instance-limit-fraction"),
    pytest.param({"maxDeferralSeconds": -1}, "maxDeferralSeconds", id="deferral-negative"),
    pytest.param(
        {"maxDeferralSeconds": MAX_DEFERRAL_LIMIT_SECONDS + 1}, "maxDeferralSeconds", id="deferral-beyond-the-ledger"
    ),
    pytest.param({"maxDeferralSeconds": "1 day"}, "maxDeferralSeconds", id="deferral-not-seconds"),
    pytest.param({"eventBusName": "arn:aws:events:eu-west-1:1:event-bus/x"}, "eventBusName", id="bus-arn"),
    pytest.param({"eventDetailTypes": [], "eventSources": []}, "eventDetailTypes", id="empty-pattern"),
    pytest.param({"eventBusName": "calls"}, "eventSources", id="shared-bus-without-sources"),
    pytest.param(
        {"eventBusName": "default", "eventSources": []}, "eventBusName='default'", id="default-bus-no-sources"
    ),
    pytest.param(
        {"eventBusName": "calls", "eventSources": "crm", "eventBusProducerPrincipals": "210987654321"},
        "eventBusProducerPrincipals",
        id="bus-producers-on-a-shared-bus",
    ),
    pytest.param({"eventBusProducerPrincipals": ["*"]}, "eventBusProducerPrincipals", id="bus-producer-wildcard"),
    pytest.param({"queueProducerPrincipals": "1234"}, "queueProducerPrincipals", id="queue-producer-short-account"),
    pytest.param(
        {"queueProducerPrincipals": "arn:aws:iam::123456789012:root"},
        "queueProducerPrincipals",
        id="queue-producer-root-arn",
    ),
    pytest.param(
        {"queueProducerPrincipals": "arn:aws:iam::123456789012:role/*"},
        "queueProducerPrincipals",
        id="queue-producer-wildcard-role",
    ),
    pytest.param({"operatorPrincipals": "1234"}, "operatorPrincipals", id="operator-short-account"),
    pytest.param({"operatorPrincipals": "arn:aws:iam::123456789012:root"}, "operatorPrincipals", id="operator-root"),
    pytest.param({"operatorPrincipals": ["*"]}, "operatorPrincipals", id="operator-wildcard"),
    pytest.param({"snsTopicArns": "arn:aws:sns:eu-west-1:123456789012:calls.fifo"}, "snsTopicArns", id="fifo-topic"),
    pytest.param({"snsTopicArns": "calls"}, "snsTopicArns", id="topic-name-not-arn"),
    pytest.param({"alarmEmail": "ops"}, "alarmEmail", id="email-invalid"),
    pytest.param({"alarmTopicArn": "topic"}, "alarmTopicArn", id="topic-not-arn"),
    pytest.param({"oldestRequestAgeAlarmSeconds": 5}, "oldestRequestAgeAlarmSeconds", id="age-threshold-too-low"),
    pytest.param({"maxConcurency": 3}, "maxConcurrency", id="misspelt-key"),
    pytest.param({"allowedDestinationCountries": ["GB", "XX"]}, "'XX'", id="country-unknown"),
    pytest.param({"allowedDestinationCountries": "UK"}, "'UK'", id="country-uk-is-gb"),
    pytest.param({"allowedDestinationCountries": ["*", "GB"]}, "allowedDestinationCountries", id="any-and-some"),
    pytest.param({"allowedDestinationCountries": []}, "allowedDestinationCountries", id="countries-empty-list"),
    pytest.param(
        {"sourcePhoneNumber": None, "connectQueueId": FLOW}, "allowedDestinationCountries", id="no-caller-id-country"
    ),
    pytest.param({"blockedNumberTypes": ["PREMIUM"]}, "'PREMIUM'", id="number-type-unknown"),
    pytest.param({"callingHours": "8-21"}, "'8-21'", id="hours-malformed"),
    pytest.param({"callingHours": "21:00-21:00"}, "callingHours", id="hours-empty"),
    pytest.param({"destinationCallLimit": "3/24"}, "'3/24'", id="limit-without-unit"),
    pytest.param({"destinationCallLimit": "0/24h"}, "destinationCallLimit", id="limit-zero-calls"),
]


@pytest.mark.parametrize(("overrides", "named"), BAD_VALUES)
def test_bad_context_values_are_refused_naming_the_value(overrides: dict[str, Any], named: str) -> None:
    # Given cdk.json's context with one bad value
    context = cdk_json_context() | overrides
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings) as refused:
        settings_from_context(context)
    # Then the message names the offending context key
    assert named in str(refused.value)


def test_missing_required_value_is_refused_naming_it() -> None:
    # Given a context without the instance ID
    context = {key: value for key, value in cdk_json_context().items() if key != "connectInstanceId"}
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings, match="'connectInstanceId' is required"):
        settings_from_context(context)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"maxConcurrency": "1"}, "maxConcurrency"),
        ({"connectInstanceId": "not-a-uuid"}, "connectInstanceId"),
        ({"callsBurst": "0"}, "callsBurst"),
        ({"concurrentCallsLimit": "0"}, "concurrentCallsLimit"),
        ({"maxDeferralSeconds": str(MAX_DEFERRAL_LIMIT_SECONDS + 1)}, "maxDeferralSeconds"),
    ],
)
def test_synthesis_refuses_bad_context_values(overrides: dict[str, Any], named: str) -> None:
    # Given an app with a bad context value, as `cdk synth -c ...` would give it
    # When the app is built
    with pytest.raises(InvalidDeploymentSettings, match=named):
        app_with(overrides)
    # Then no stack is synthesized (the exception stops the app before it)


def test_settings_module_does_not_import_aws_cdk(tmp_path: Path) -> None:
    # Given a fresh interpreter
    import subprocess
    import sys

    probe = "import sys, infra.settings; print(json.dumps(sorted(m for m in sys.modules if m.startswith('aws_cdk'))))"
    # When it imports infra.settings only
    completed = subprocess.run(
        [sys.executable, "-c", f"import json; {probe}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    # Then aws_cdk was not loaded (local/ imports the settings cheaply)
    assert json.loads(completed.stdout) == []


def test_by_default_calls_may_only_go_to_the_caller_ids_country() -> None:
    # Given a London caller ID and no allowedDestinationCountries
    settings = settings_from_context(MINIMAL | {"sourcePhoneNumber": "+442079460123"})
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then the function may only call the UK, and the stack knows it chose that (it says so at synth)
    assert environment["ALLOWED_DESTINATION_COUNTRIES"] == "GB"
    assert settings.destination_countries_defaulted


def test_any_country_is_an_explicit_choice() -> None:
    # Given "*" for the countries
    settings = settings_from_context(MINIMAL | {"allowedDestinationCountries": "*"})
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then the function is given no allow-list (any country), and nothing is said at synth
    assert "ALLOWED_DESTINATION_COUNTRIES" not in environment
    assert not settings.destination_countries_defaulted


@pytest.mark.parametrize(
    "caller_id",
    [
        pytest.param("+99912345678", id="no-such-country-code"),
        pytest.param("+80012345678", id="international-freephone"),
    ],
)
def test_a_caller_id_of_no_country_is_refused_naming_both_keys_when_countries_are_unset(caller_id: str) -> None:
    # Given an E.164-shaped caller ID that belongs to no country, and no allowedDestinationCountries to use instead
    context = cdk_json_context() | {"sourcePhoneNumber": caller_id, "allowedDestinationCountries": None}
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings) as refused:
        settings_from_context(context)
    # Then the message names the caller ID's key and the one that would resolve it (not a traceback from the parser)
    assert "sourcePhoneNumber" in str(refused.value)
    assert "allowedDestinationCountries" in str(refused.value)


@pytest.mark.parametrize(
    ("key", "value", "variable"),
    [
        pytest.param("callsBurst", "0.5", "CALLS_BURST", id="burst-below-one-call"),
        pytest.param("callsBurst", "inf", "CALLS_BURST", id="burst-infinite"),
        pytest.param("concurrentCallsLimit", "0", "CONCURRENT_CALLS_LIMIT", id="instance-limit-zero"),
        pytest.param("maxDeferralSeconds", "-1", "MAX_DEFERRAL_SECONDS", id="deferral-negative"),
        pytest.param(
            "maxDeferralSeconds", str(MAX_DEFERRAL_LIMIT_SECONDS + 1), "MAX_DEFERRAL_SECONDS", id="deferral-too-long"
        ),
        pytest.param(
            "allowedSourcePhoneNumbers",
            "+15555550101,0044123456",
            "CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS",
            id="extra-caller-id-not-e164",
        ),
    ],
)
def test_what_the_function_would_refuse_at_its_cold_start_fails_synth_naming_the_context_key(
    key: str, value: str, variable: str
) -> None:
    # Given a context value, as `cdk synth -c key=value` gives it, that the function's own configuration refuses
    context = cdk_json_context() | {key: value}
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings) as refused:
        settings_from_context(context)
    # Then synth fails naming the context key, the value and the function's variable it would have reached
    message = str(refused.value)
    assert f"context value {key!r}" in message
    assert value.split(",")[-1] in message
    assert variable in message


def test_a_misspelt_key_and_a_value_the_function_refuses_are_reported_together() -> None:
    # Given a misspelt key and a burst the function refuses
    context = cdk_json_context() | {"maxConcurency": 3, "callsBurst": "0.5"}
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings) as refused:
        settings_from_context(context)
    # Then both are named at once, so one synth shows every problem
    assert "'maxConcurency'" in str(refused.value)
    assert "'callsBurst'" in str(refused.value)
