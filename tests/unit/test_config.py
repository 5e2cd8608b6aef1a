"""The function's configuration: parsed once, failing at start with the variable's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from outbound_caller.config.common import ConfigurationError
from outbound_caller.config.settings import load_settings
from tests.support.environment import DEFAULT_FLOW_ID, EXTRA_FLOW_ID, FUNCTION_ENVIRONMENT

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in FUNCTION_ENVIRONMENT.items() if k not in names}


@pytest.mark.parametrize("variable", ["CONNECT_INSTANCE_ID", "CONNECT_CONTACT_FLOW_ID", "DEAD_LETTER_QUEUE_URL"])
def test_missing_required_variable_is_named(variable: str) -> None:
    # Given an environment without one required variable
    # When the settings are loaded
    with pytest.raises(ConfigurationError) as caught:
        load_settings(without(variable))
    # Then the error names it
    assert f"{variable}: Field required" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CALLS_PER_SECOND", "0"),
        ("CALLS_PER_SECOND", "fast"),
        ("CALLS_PER_SECOND", "inf"),  # would switch pacing off
        ("CALLS_PER_SECOND", "nan"),
        ("MAX_CONCURRENCY", "1001"),
        ("CONNECT_ALLOWED_CONTACT_FLOW_IDS", "ok," + "f" * 501),
        ("MAX_CONCURRENCY", "1"),
        ("CONNECT_SOURCE_PHONE_NUMBER", "0800 123"),
        ("DEAD_LETTER_QUEUE_URL", "my-dlq"),
        ("CONNECT_INSTANCE_ID", "i" * 101),
        ("IDEMPOTENCY_TABLE_NAME", "no spaces allowed"),
        ("CALLS_BURST", "0.5"),  # could never start a call
        ("CONCURRENT_CALLS_LIMIT", "0"),
        ("MAX_DEFERRAL_SECONDS", str(7 * 24 * 60 * 60 + 1)),  # beyond what the ledger's retention covers
        ("MAX_DEFERRAL_SECONDS", "-1"),
        ("SOURCE_QUEUE_URL", "my-queue"),
        ("ALLOWED_DESTINATION_COUNTRIES", "GB,XX"),
        ("ALLOWED_DESTINATION_COUNTRIES", "UK"),  # the United Kingdom's code is GB
        ("BLOCKED_NUMBER_TYPES", "PREMIUM"),
        ("CALLING_HOURS", "8-21"),
        ("CALLING_HOURS", "08:00-25:00"),
        ("DESTINATION_CALL_LIMIT", "3/24"),
        ("DESTINATION_CALLS_TABLE_NAME", "no spaces allowed"),
        ("RESULT_EVENT_BUS_NAME", "no spaces allowed"),
        ("RESULT_EVENT_BUS_NAME", "arn:aws:sqs:us-east-1:123456789012:not-a-bus"),
    ],
)
def test_malformed_variable_is_named(variable: str, value: str) -> None:
    # Given a malformed value
    # When the settings are loaded
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**FUNCTION_ENVIRONMENT, variable: value})
    # Then the error names the variable
    assert variable in str(caught.value)


def test_defaults_and_lists() -> None:
    # Given only the required variables, with extra flows listed loosely
    env = without("CALLS_PER_SECOND", "MAX_CONCURRENCY", "CONNECT_SOURCE_PHONE_NUMBER")
    env["CONNECT_ALLOWED_CONTACT_FLOW_IDS"] = f" {EXTRA_FLOW_ID} , ,"
    env["CONNECT_QUEUE_ID"] = " "
    # When the settings are loaded
    settings = load_settings(env)
    # Then the quota share defaults to Connect's 2 calls/s over 2 invocations, blanks are unset
    assert (settings.calls_per_second, settings.max_concurrency) == (2.0, 2)
    assert settings.calls_per_second_per_invocation == 1.0
    assert settings.allowed_contact_flow_ids == {DEFAULT_FLOW_ID, EXTRA_FLOW_ID}
    assert (settings.source_phone_number, settings.queue_id) == (None, None)
    # And Connect's other defaults: a burst of 5 (2.5 per invocation), 10 concurrent calls, a day of deferral
    assert (settings.calls_burst_per_invocation, settings.concurrent_calls_limit) == (2.5, 10)
    assert (settings.max_deferral_seconds, settings.source_queue_url) == (86_400, None)


def test_an_invocation_s_burst_is_at_least_one_call() -> None:
    # Given a burst smaller than the number of concurrent invocations
    settings = load_settings({**FUNCTION_ENVIRONMENT, "CALLS_BURST": "1", "MAX_CONCURRENCY": "4"})
    # When an invocation's share is taken
    # Then it can still start a call
    assert settings.calls_burst_per_invocation == 1.0


def test_idempotency_table_is_optional() -> None:
    # Given no idempotency table, or a blank one
    # When the settings are loaded
    # Then durable idempotency is off (ClientToken only), not an error
    assert load_settings(without("IDEMPOTENCY_TABLE_NAME")).idempotency_table_name is None
    assert load_settings({**FUNCTION_ENVIRONMENT, "IDEMPOTENCY_TABLE_NAME": ""}).idempotency_table_name is None


def test_function_fails_at_start_naming_the_variable() -> None:
    # Given a function environment without CONNECT_INSTANCE_ID
    env = {**os.environ, **without("CONNECT_INSTANCE_ID"), "PYTHONPATH": str(LAMBDA_ROOT)}
    env.pop("CONNECT_INSTANCE_ID", None)
    # When the handler module is imported, as Lambda does at cold start
    result = subprocess.run(
        [sys.executable, "-c", "import outbound_caller.handler"], env=env, capture_output=True, text=True, check=False
    )
    # Then the import fails and says which variable is missing
    assert result.returncode != 0
    assert "CONNECT_INSTANCE_ID: Field required" in result.stderr


def test_calling_safety_defaults_block_premium_rate_and_shared_cost_and_nothing_else() -> None:
    # Given no calling-safety variable
    # When the settings are loaded
    settings = load_settings(FUNCTION_ENVIRONMENT)
    # Then any country, at any hour, as often as asked, but never a premium-rate or shared-cost number
    assert settings.allowed_destination_countries is None
    assert settings.calling_hours is None
    assert settings.destination_call_limit is None
    assert settings.blocked_number_types == {"PREMIUM_RATE", "SHARED_COST"}


def test_calling_safety_variables_are_read_as_the_operator_wrote_them() -> None:
    # Given every calling-safety variable, loosely written
    environment = {
        **FUNCTION_ENVIRONMENT,
        "ALLOWED_DESTINATION_COUNTRIES": " gb, US ",
        "BLOCKED_NUMBER_TYPES": "premium_rate, PERSONAL_NUMBER",
        "CALLING_HOURS": "08:00 - 21:00",
        "DESTINATION_CALL_LIMIT": "3/24h",
        "DESTINATION_CALLS_TABLE_NAME": "calls-per-destination",
    }
    # When the settings are loaded
    settings = load_settings(environment)
    # Then each is read exactly
    assert settings.allowed_destination_countries == frozenset({"GB", "US"})
    assert settings.blocked_number_types == {"PREMIUM_RATE", "PERSONAL_NUMBER"}
    assert str(settings.calling_hours) == "08:00-21:00"
    assert str(settings.destination_call_limit) == "3/24h"


def test_blocked_number_types_set_empty_blocks_none_and_blank_variables_are_unset() -> None:
    # Given BLOCKED_NUMBER_TYPES set to nothing, and the other safety variables blank
    blank = dict.fromkeys(["ALLOWED_DESTINATION_COUNTRIES", "CALLING_HOURS", "DESTINATION_CALL_LIMIT"], " ")
    # When the settings are loaded
    settings = load_settings({**FUNCTION_ENVIRONMENT, "BLOCKED_NUMBER_TYPES": "", **blank})
    # Then no type is blocked (the operator's explicit choice), and blank means unset
    assert settings.blocked_number_types == frozenset()
    assert (settings.allowed_destination_countries, settings.calling_hours, settings.destination_call_limit) == (
        None,
        None,
        None,
    )


def test_a_call_limit_without_its_table_fails_at_start_naming_both() -> None:
    # Given a call limit, and no table to count it in
    # When the settings are loaded
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**FUNCTION_ENVIRONMENT, "DESTINATION_CALL_LIMIT": "3/24h"})
    # Then the error names the limit and the missing table
    assert "DESTINATION_CALL_LIMIT" in str(caught.value)
    assert "DESTINATION_CALLS_TABLE_NAME" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("outbound-call-results", "outbound-call-results"),
        (
            "arn:aws:events:eu-west-1:123456789012:event-bus/outbound-call-results",
            "arn:aws:events:eu-west-1:123456789012:event-bus/outbound-call-results",
        ),
        (" ", None),
    ],
    ids=["name", "arn", "blank"],
)
def test_result_event_bus_is_a_name_or_an_arn_and_blank_is_unset(value: str, expected: str | None) -> None:
    # Given RESULT_EVENT_BUS_NAME as a bus name, a bus ARN, or blank
    # When the settings are loaded
    settings = load_settings({**FUNCTION_ENVIRONMENT, "RESULT_EVENT_BUS_NAME": value})
    # Then it is kept as written (PutEvents takes either), blank meaning no result events
    assert settings.result_event_bus_name == expected
