"""From the app's context to the settings: cdk.json's values, CDK's own keys let through, every problem named by its
context key at once (typos guessed), what the function would refuse at its cold start refused at synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.context_loading import CONTEXT_KEYS, InvalidDeploymentSettings, load_cdk_json_settings, settings_from_context
from outbound_caller.config.pacing_fields import DEFAULT_CALLS_BURST, DEFAULT_CONCURRENT_CALLS_LIMIT
from outbound_caller.config.settings import DEFAULT_MAX_DEFERRAL_SECONDS
from outbound_caller.retention import MAX_DEFERRAL_LIMIT_SECONDS
from tests.infra.contexts import INSTANCE, MINIMAL
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


def test_the_modules_local_and_preflight_import_do_not_import_aws_cdk(tmp_path: Path) -> None:
    # Given a fresh interpreter
    import subprocess
    import sys

    modules = "infra.context_loading, infra.deployment, infra.queue_retention"
    probe = f"import sys, {modules}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('aws_cdk'))))"
    # When it imports the settings' loading (and with it the settings' own modules), the stack's name and retention
    completed = subprocess.run(
        [sys.executable, "-c", f"import json; {probe}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    # Then aws_cdk was not loaded (local/ imports the settings cheaply)
    assert json.loads(completed.stdout) == []


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
