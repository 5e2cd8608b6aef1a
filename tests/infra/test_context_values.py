"""How one context value is read: strings and lists as `cdk -c` gives them, pasted line breaks, and the defaults that
unset values keep."""

from __future__ import annotations

from typing import Any

import pytest

from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from outbound_caller.config.settings import load_settings
from tests.infra.contexts import DLQ_URL, MINIMAL, SIGNING_KEY, SOURCE_QUEUE_URL
from tests.infra.synthesis import cdk_json_context


def test_command_line_strings_are_accepted_for_numbers_and_lists() -> None:
    # Given values as `cdk -c key=value` delivers them: strings
    context = MINIMAL | {
        "callsPerSecond": "4.5",
        "maxConcurrency": "3",
        "batchSize": "20",
        "batchingWindowSeconds": "2",
        "maxReceiveCount": "7",
        "callsBurst": "7.5",
        "concurrentCallsLimit": "50",
        "maxDeferralSeconds": "3600",
        "allowedContactFlowIds": "33333333-3333-3333-3333-333333333333, 44444444-4444-4444-4444-444444444444",
        "eventDetailTypes": '["A", "B"]',
        "connectQueueId": "",
    }
    # When they are validated
    settings = settings_from_context(context)
    # Then they are parsed into numbers, lists and unset values
    assert settings.calls_per_second == 4.5
    assert settings.max_concurrency == 3
    assert settings.batch_size == 20
    assert settings.batching_window_seconds == 2
    assert settings.max_receive_count == 7
    assert settings.calls_burst == 7.5
    assert settings.concurrent_calls_limit == 50
    assert settings.max_deferral_seconds == 3600
    assert settings.allowed_contact_flow_ids == (
        "33333333-3333-3333-3333-333333333333",
        "44444444-4444-4444-4444-444444444444",
    )
    assert settings.event_detail_types == ("A", "B")
    assert settings.queue_id is None


def test_producer_lists_are_accepted_as_command_line_strings() -> None:
    # Given the producer settings as `-c key=a,b` delivers them, and the default bus named as a shared bus
    context = MINIMAL | {
        "eventBusName": "default",
        "eventSources": "crm,orders",
        "queueProducerPrincipals": "210987654321, arn:aws:iam::123456789012:role/team/orders",
        "operatorPrincipals": "arn:aws:iam::123456789012:role/operations,210987654321",
        "snsTopicArns": "arn:aws:sns:eu-west-1:123456789012:calls",
    }
    # When they are validated
    settings = settings_from_context(context)
    # Then they are lists, and "default" stays a bus name: the default bus is a shared bus like any other
    assert settings.event_bus_name == "default"
    assert settings.event_sources == ("crm", "orders")
    assert settings.queue_producer_principals == ("210987654321", "arn:aws:iam::123456789012:role/team/orders")
    assert settings.operator_principals == ("arn:aws:iam::123456789012:role/operations", "210987654321")
    assert settings.sns_topic_arns == ("arn:aws:sns:eu-west-1:123456789012:calls",)


@pytest.mark.parametrize("unset", [None, "", "null"])
def test_blocked_number_types_left_unset_keep_the_default_and_only_an_empty_list_blocks_none(unset: Any) -> None:
    # Given blockedNumberTypes null (as cdk.json writes "use the default") or empty on the command line
    # When the settings are validated
    settings = settings_from_context(MINIMAL | {"blockedNumberTypes": unset})
    # Then the default blocks stay: unset never silently turns off the toll-fraud guard
    assert settings.blocked_number_types == ("PREMIUM_RATE", "SHARED_COST", "UNKNOWN")
    # And only an explicit empty list blocks no type
    assert settings_from_context(MINIMAL | {"blockedNumberTypes": []}).blocked_number_types == ()


def test_the_stack_refuses_numbers_libphonenumber_cannot_validate_by_default() -> None:
    # Given a German premium-rate number with one digit too many: libphonenumber calls it UNKNOWN, not PREMIUM_RATE,
    # and an open numbering plan may still connect it
    from outbound_caller.safety.destinations import destination_of

    assert destination_of("+4990012345679").number_type == "UNKNOWN"
    # When the stack's defaults are read
    settings = settings_from_context(MINIMAL)
    # Then UNKNOWN is blocked with the contract's two
    assert "UNKNOWN" in settings.blocked_number_types


def test_pasted_line_breaks_around_producers_are_dropped_not_shipped() -> None:
    # Given producer principals and a topic ARN pasted with their line breaks
    context = cdk_json_context() | {
        "eventBusProducerPrincipals": ["210987654321\n"],
        "queueProducerPrincipals": ["arn:aws:iam::123456789012:role/orders\n"],
        "snsTopicArns": ["arn:aws:sns:eu-west-1:123456789012:calls\n"],
    }
    # When the settings are validated
    settings = settings_from_context(context)
    # Then the policies name the principals themselves, not strings no principal matches
    assert settings.event_bus_producer_principals == ("210987654321",)
    assert settings.queue_producer_principals == ("arn:aws:iam::123456789012:role/orders",)
    assert settings.sns_topic_arns == ("arn:aws:sns:eu-west-1:123456789012:calls",)


# Values with a stray trailing newline (a pasted value, `-c key="$(cat file)"`): re.match's "$" matches before it.
@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("alarmEmail", "ops@example.com\n", id="alarm-email"),
        pytest.param("alarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:ops\n", id="alarm-topic"),
        pytest.param("eventBusName", "calls\n", id="event-bus"),
    ],
)
def test_a_trailing_newline_is_refused_at_synth_not_at_deploy(key: str, value: str) -> None:
    # Given a value the stack hands to CloudFormation as it is (a subscription's endpoint, a topic, a rule's bus)
    context = cdk_json_context() | {key: value}
    # When the settings are validated
    # Then they are refused naming the key, rather than failing the deployment (or subscribing a mangled address)
    with pytest.raises(InvalidDeploymentSettings, match=key):
        settings_from_context(context)


@pytest.mark.parametrize(
    "extra_caller_ids",
    [
        pytest.param("+12025550100\n", id="command-line-string"),
        pytest.param('["+12025550100\\n"]', id="command-line-json-list"),
        pytest.param(["+12025550100\n"], id="cdk-json-list"),
    ],
)
def test_a_trailing_newline_in_a_list_is_trimmed_before_it_reaches_the_function(extra_caller_ids: Any) -> None:
    # Given the caller ID with a trailing newline in the list of extra caller IDs, in each form -c or cdk.json
    # gives it
    settings = settings_from_context(MINIMAL | {"allowedSourcePhoneNumbers": extra_caller_ids})
    # When the function parses the environment the stack builds
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    function_settings = load_settings(environment)
    # Then it holds the number without the newline, and starts
    assert environment["CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS"] == "+12025550100"
    assert "+12025550100" in function_settings.allowed_source_phone_numbers
