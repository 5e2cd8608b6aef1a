"""The deployment's settings: bad values refused naming their context key, values checked together, and calls
limited to the caller ID's country unless the operator chooses."""

from __future__ import annotations

from typing import Any

import pytest

from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from outbound_caller.config.pacing_fields import MAX_CONCURRENT_CALLS_LIMIT
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from tests.infra.contexts import DLQ_URL, FLOW, INSTANCE, MINIMAL, SIGNING_KEY, SOURCE_QUEUE_URL
from tests.infra.synthesis import cdk_json_context

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
    pytest.param({"destinationCallLimit": ["2/24h", "5/24h"]}, "names one window twice", id="limit-window-twice"),
    pytest.param({"sourceCallLimit": "200/1x"}, "sourceCallLimit", id="source-limit-malformed"),
    pytest.param({"sourceCallLimit": "200/60d"}, "sourceCallLimit", id="source-limit-window-too-long"),
    pytest.param({"callingHours": "Mon-Fri 09:00-20:00; Xyz 10:00-14:00"}, "callingHours", id="hours-unknown-day"),
    pytest.param({"callingHolidays": "regional"}, "callingHolidays", id="holidays-unknown-rule"),
    pytest.param({"callingBlackoutDates": ["2026-12-24", "24/12/2026"]}, "'24/12/2026'", id="blackout-not-iso"),
    pytest.param({"callingBlackoutDates": "2026-02-30"}, "callingBlackoutDates", id="blackout-not-a-day"),
    pytest.param({"suppressionList": "maybe"}, "suppressionList", id="suppression-not-bool"),
    pytest.param({"redialOn": ["NoAnswer", "Hangup"]}, "'Hangup'", id="redial-unknown-outcome"),
    pytest.param({"redialOn": "Answered"}, "redialOn", id="redial-answered"),
    pytest.param({"redialMaxAttempts": 0}, "redialMaxAttempts", id="redial-no-attempt"),
    pytest.param({"redialMaxAttempts": 11}, "redialMaxAttempts", id="redial-too-many-attempts"),
    pytest.param({"redialIntervalSeconds": 59}, "redialIntervalSeconds", id="redial-interval-too-short"),
    pytest.param({"redialOutcomeWaitSeconds": 59}, "redialOutcomeWaitSeconds", id="redial-wait-too-short"),
    pytest.param({"redialOutcomeWaitSeconds": 86_401}, "redialOutcomeWaitSeconds", id="redial-wait-too-long"),
    pytest.param(
        {"redialOn": "NoAnswer", "redialMaxAttempts": 3, "resultEvents": False}, "resultEvents", id="redial-no-outcomes"
    ),
    pytest.param(
        {"eventDetailTypes": ["Outbound Call Requested", "Outbound Call Opt Out"]},
        "opt-out detail-type",
        id="intake-takes-opt-outs",
    ),
    pytest.param(
        {
            "eventBusName": "calls",
            "eventSources": ["crm", "connect-outbound-caller"],
            "resultEventBusName": "calls",
        },
        "opt-out rule",
        id="opt-out-announcements-loop-into-the-opt-out-rule",
    ),
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


def test_the_wave_s_calling_safety_and_redial_values_are_read_as_the_function_writes_them() -> None:
    # Given weekly hours, holidays, blackout dates out of order and repeated, several limits as a JSON list and as
    # -c text, and a redial policy, as cdk.json or -c give them
    settings = settings_from_context(
        MINIMAL
        | {
            "callingHours": "Mon-Fri 09:00-20:00;Sat 10:00-14:00",
            "callingHolidays": "National",
            "callingBlackoutDates": "2026-12-31, 2026-12-24,2026-12-31",
            "destinationCallLimit": ["1/24h", "3/7d"],
            "sourceCallLimit": "200/1h,1000/24h",
            "redialOn": "Voicemail, NoAnswer,Busy",
            "redialMaxAttempts": "3",
            "redialIntervalSeconds": "900",
            "redialOutcomeWaitSeconds": "7200",
        }
    )
    # When they are validated
    # Then each is the function's own reading of it, in its canonical form
    assert settings.calling_hours == "Mon-Fri 09:00-20:00; Sat 10:00-14:00"
    assert settings.calling_holidays == "national"
    assert settings.calling_blackout_dates == ("2026-12-24", "2026-12-31")
    assert settings.destination_call_limit == "1/24h,3/7d"
    assert settings.source_call_limit == "200/1h,1000/24h"
    assert settings.redial_on == ("Busy", "NoAnswer", "Voicemail")
    assert (settings.redial_max_attempts, settings.redial_interval_seconds) == (3, 900)
    assert settings.redial_outcome_wait_seconds == 7200
    assert settings.redials
    assert settings.counts_calls


def test_the_suppression_list_is_on_and_redial_off_unless_the_operator_says_otherwise() -> None:
    # Given the least a deployment needs
    # When it is validated
    settings = settings_from_context(MINIMAL)
    # Then the deployment keeps a suppression list with its opt-out function, associated with the instance, and
    # places each call once
    assert settings.suppression_list is True
    assert settings.associate_opt_out_function is True
    assert settings.redials is False
    assert settings.counts_calls is False
