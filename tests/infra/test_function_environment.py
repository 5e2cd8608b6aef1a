"""The function's environment: the contract's variables from the settings and the stack's resources, which the
function's own configuration reads back as the stack meant them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infra.context_loading import CONTEXT_KEYS, settings_from_context
from infra.function_check import CONTEXT_KEY_OF_VARIABLE, STACK_VARIABLES
from infra.settings import DeploymentSettings
from outbound_caller.config.pacing_fields import MAX_CONCURRENT_CALLS_LIMIT
from outbound_caller.config.redial import RedialPolicy
from outbound_caller.config.settings import load_settings
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from tests.infra.contexts import DLQ_URL, FLOW, INSTANCE, MINIMAL, SIGNING_KEY, SOURCE_QUEUE_URL

RESULT_BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/results"
SUPPRESSION_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:suppression-AbCdEf"


def test_environment_omits_unset_optional_variables() -> None:
    # Given a source number, no queue and no extra flows
    settings = settings_from_context(MINIMAL)
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then it holds exactly the contract's variables that have a value
    assert environment == {
        "CONNECT_INSTANCE_ID": INSTANCE,
        "CONNECT_CONTACT_FLOW_ID": FLOW,
        "CONNECT_SOURCE_PHONE_NUMBER": "+15555550100",
        "DEAD_LETTER_QUEUE_URL": DLQ_URL,
        "SOURCE_QUEUE_URL": SOURCE_QUEUE_URL,
        "IDEMPOTENCY_TABLE_NAME": "placed-calls",
        "MESSAGE_SIGNING_KEY_SECRET_ID": SIGNING_KEY,
        "CALLS_PER_SECOND": "2",
        "CALLS_BURST": "5",
        "MAX_CONCURRENCY": "2",
        "CONCURRENT_CALLS_LIMIT": "10",
        "MAX_RECEIVE_COUNT": "5",
        "MAX_DEFERRAL_SECONDS": "86400",
        # calling safety: the caller ID's country only (by default), never premium-rate or shared-cost numbers, nor
        # numbers libphonenumber cannot validate
        "ALLOWED_DESTINATION_COUNTRIES": "US",
        "BLOCKED_NUMBER_TYPES": "PREMIUM_RATE,SHARED_COST,UNKNOWN",
        "POWERTOOLS_SERVICE_NAME": "connect-outbound-caller",
        "POWERTOOLS_METRICS_NAMESPACE": "ConnectOutboundCaller",
    }


def test_the_source_queue_url_is_required_and_only_by_name() -> None:
    # Given valid settings
    settings = settings_from_context(MINIMAL)
    # When the environment is built the old way, without the source queue, or with it in third position
    # Then it fails at once: a caller that does not say where deferred requests go is a bug, not a default
    with pytest.raises(TypeError, match="source_queue_url"):
        settings.function_environment(DLQ_URL, "placed-calls")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        settings.function_environment(DLQ_URL, "placed-calls", SOURCE_QUEUE_URL)  # type: ignore[call-arg]


def test_the_function_reads_back_the_source_queue_the_stack_passes() -> None:
    # Given valid settings and a source queue's URL
    settings = settings_from_context(MINIMAL)
    # When the function's own configuration parses the environment the stack builds
    function_settings = load_settings(
        settings.function_environment(
            DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
        )
    )
    # Then deferred requests go back to that queue
    assert function_settings.source_queue_url == SOURCE_QUEUE_URL


def test_allow_lists_reach_the_function_as_the_contract_names_them() -> None:
    # Given extra caller IDs and queues a request may name, and related contacts allowed
    settings = settings_from_context(
        {
            **MINIMAL,
            "allowedSourcePhoneNumbers": "+15555550101,+15555550102",
            "allowedQueueIds": [FLOW.upper()],
            "allowRelatedContact": "true",
        }
    )
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then the function reads them under the contract's names (IDs normalised to lower case)
    assert environment["CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS"] == "+15555550101,+15555550102"
    assert environment["CONNECT_ALLOWED_QUEUE_IDS"] == FLOW
    assert environment["ALLOW_RELATED_CONTACT"] == "true"


def test_the_function_reads_back_the_busy_instance_settings_the_stack_passes() -> None:
    # Given a burst, an instance limit and a deferral bound other than the defaults
    settings = settings_from_context(
        MINIMAL | {"callsBurst": 12.5, "concurrentCallsLimit": 250, "maxDeferralSeconds": 7200}
    )
    # When the function's own configuration parses the environment the stack builds
    function_settings = load_settings(
        settings.function_environment(
            DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
        )
    )
    # Then it holds the same values
    assert function_settings.calls_burst == 12.5
    assert function_settings.concurrent_calls_limit == 250
    assert function_settings.max_deferral_seconds == 7200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"callsBurst": 1}, id="burst-minimum"),
        pytest.param({"concurrentCallsLimit": 1}, id="instance-limit-minimum"),
        pytest.param({"concurrentCallsLimit": MAX_CONCURRENT_CALLS_LIMIT}, id="instance-limit-maximum"),
        pytest.param({"maxDeferralSeconds": 0}, id="deferral-minimum"),
        pytest.param({"maxDeferralSeconds": MAX_DEFERRAL_LIMIT_SECONDS}, id="deferral-maximum"),
    ],
)
def test_busy_instance_settings_accept_their_bounds_and_the_function_accepts_them_too(
    overrides: dict[str, Any],
) -> None:
    # Given a busy-instance setting at the edge of its range
    # When the stack validates it and the function parses the environment built from it
    settings = settings_from_context(MINIMAL | overrides)
    # Then both accept it: the stack never passes a value the function would refuse at its cold start
    load_settings(
        settings.function_environment(
            DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
        )
    )


def test_the_function_reads_back_the_calling_safety_settings_the_stack_passes() -> None:
    # Given every calling-safety setting, as `cdk -c` or cdk.json would give them
    settings = settings_from_context(
        MINIMAL
        | {
            "allowedDestinationCountries": "us, ca",
            "blockedNumberTypes": [],
            "callingHours": " 08:00-21:00 ",
            "destinationCallLimit": "3/24h",
        }
    )
    # When the function's own configuration parses the environment the stack builds
    function_settings = load_settings(
        settings.function_environment(
            DLQ_URL,
            "placed-calls",
            source_queue_url=SOURCE_QUEUE_URL,
            message_signing_key_secret_id=SIGNING_KEY,
            destination_calls_table_name="per-number",
        )
    )
    # Then it holds the same rules: an empty list of blocked types blocks none (not the default two)
    assert function_settings.allowed_destination_countries == frozenset({"CA", "US"})
    assert function_settings.blocked_number_types == frozenset()
    assert str(function_settings.calling_hours) == "08:00-21:00"
    assert str(function_settings.destination_call_limit) == "3/24h"
    assert function_settings.destination_calls_table_name == "per-number"


def test_a_call_limit_without_its_table_is_a_bug_in_the_stack() -> None:
    # Given a call limit
    settings = settings_from_context(MINIMAL | {"destinationCallLimit": "3/24h"})
    # When the environment is built without the table that counts it
    # Then it fails at synth, not at the function's cold start
    with pytest.raises(ValueError, match="destinationCallLimit"):
        settings.function_environment(
            DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
        )


EVERY_OPTION = {
    "connectQueueId": FLOW,
    "allowedContactFlowIds": [FLOW],
    "allowedSourcePhoneNumbers": ["+15555550101"],
    "allowedQueueIds": [FLOW],
    "allowRelatedContact": True,
    "callingHours": "Mon-Fri 09:00-20:00; Sat 10:00-14:00",
    "callingHolidays": "national",
    "callingBlackoutDates": ["2026-12-24", "2026-12-31"],
    "destinationCallLimit": "1/24h,3/7d",
    "sourceCallLimit": "200/1h",
    "redialOn": ["NoAnswer", "Busy", "Voicemail"],
    "redialMaxAttempts": 3,
    "redialIntervalSeconds": 900,
    "redialOutcomeWaitSeconds": 7200,
}


def _every_option_environment(settings: DeploymentSettings) -> dict[str, str]:
    return settings.function_environment(
        DLQ_URL,
        "placed-calls",
        source_queue_url=SOURCE_QUEUE_URL,
        message_signing_key_secret_id=SIGNING_KEY,
        destination_calls_table_name="per-number",
        result_event_bus_name=RESULT_BUS,
        suppression_table_name="do-not-call",
        suppression_key_secret_id=SUPPRESSION_KEY,
    )


def test_the_function_reads_back_the_waves_calling_safety_suppression_and_redial_as_the_stack_meant_them() -> None:
    # Given weekly hours, holidays, blackout dates, limits per number and per caller ID, and a redial policy
    settings = settings_from_context(MINIMAL | EVERY_OPTION)
    # When the function's own configuration parses the environment the stack builds, with the suppression list
    function_settings = load_settings(_every_option_environment(settings))
    # Then it holds the same rules, counted in the one table, the list and its key, the same redial policy
    assert str(function_settings.calling_hours) == "Mon-Fri 09:00-20:00; Sat 10:00-14:00"
    assert function_settings.calling_holidays == "national"
    assert function_settings.calling_blackout_dates == frozenset({date(2026, 12, 24), date(2026, 12, 31)})
    assert str(function_settings.destination_call_limit) == "1/24h,3/7d"
    assert str(function_settings.source_call_limit) == "200/1h"
    assert function_settings.destination_calls_table_name == "per-number"
    assert function_settings.suppression_table_name == "do-not-call"
    assert function_settings.suppression_key_secret_id == SUPPRESSION_KEY
    assert function_settings.redial_policy == RedialPolicy(
        on=frozenset({"NoAnswer", "Busy", "Voicemail"}), max_attempts=3, interval_seconds=900, outcome_wait_seconds=7200
    )


@pytest.mark.parametrize(
    "redial",
    [
        pytest.param({}, id="unset"),
        pytest.param({"redialOn": "NoAnswer"}, id="outcomes-but-one-attempt"),
        pytest.param({"redialMaxAttempts": 3}, id="attempts-but-no-outcome"),
    ],
)
def test_a_policy_that_never_redials_writes_no_redial_variable(redial: dict[str, Any]) -> None:
    # Given a redial policy under which no call is ever followed by another
    settings = settings_from_context(MINIMAL | redial)
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then no REDIAL_ variable is written: the function places each call once, as by default
    assert [variable for variable in environment if variable.startswith("REDIAL_")] == []
    assert load_settings(environment).redial_policy.redials is False


def test_a_caller_id_limit_without_the_table_counting_it_is_a_bug_in_the_stack() -> None:
    # Given a limit per caller ID alone
    settings = settings_from_context(MINIMAL | {"sourceCallLimit": "200/1h"})
    # When the environment is built without the table that counts it
    # Then it fails at synth, naming the setting
    with pytest.raises(ValueError, match="sourceCallLimit"):
        settings.function_environment(
            DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
        )


def test_the_suppression_list_without_its_key_is_a_bug_in_the_stack() -> None:
    # Given valid settings
    settings = settings_from_context(MINIMAL)
    # When the environment is built with the list's table but not its key
    # Then it fails at synth: the function would refuse one without the other at every cold start
    with pytest.raises(ValueError, match="together"):
        settings.function_environment(
            DLQ_URL,
            "placed-calls",
            source_queue_url=SOURCE_QUEUE_URL,
            message_signing_key_secret_id=SIGNING_KEY,
            suppression_table_name="do-not-call",
        )


def test_every_variable_the_stack_writes_is_traced_to_its_context_key_or_to_the_stack() -> None:
    # Given settings that set every optional value, so the environment holds every variable the stack can write
    settings = settings_from_context(MINIMAL | EVERY_OPTION)
    # When the environment is built
    environment = _every_option_environment(settings)
    # Then each variable is either a context value's (so a refusal by the function names that key) or the stack's own
    untraced = set(environment) - set(CONTEXT_KEY_OF_VARIABLE) - STACK_VARIABLES
    assert untraced == set()
    # and every context key it names is a setting
    assert set(CONTEXT_KEY_OF_VARIABLE.values()) <= set(CONTEXT_KEYS)
