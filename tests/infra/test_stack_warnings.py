"""What synth warns about: valid settings that decide something the operator may not have meant (synth itself adds
them to the stack: tests/infra/test_calling_safety.py, test_intake.py, test_results.py, test_suppression.py)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.context_loading import settings_from_context
from infra.stack_warnings import warnings_for
from tests.infra.contexts import MINIMAL


def test_the_least_a_deployment_needs_is_warned_about_its_default_countries_and_placeholder_instance_only() -> None:
    # Given the least a deployment needs, with cdk.json's placeholder instance
    settings = settings_from_context(MINIMAL)
    # When the warnings are collected
    # Then synth says where calls may go and that the instance is a placeholder: the suppression list is on, no
    # redial is asked for
    assert sorted(warnings_for(settings)) == ["default-destination-countries", "placeholder-settings"]


def test_turning_the_suppression_list_off_is_warned_about() -> None:
    # Given the suppression list turned off
    settings = settings_from_context(MINIMAL | {"suppressionList": False})
    # When the warnings are collected
    warning = warnings_for(settings)["no-suppression-list"]
    # Then synth says what that means for a number that asked not to be called again
    assert "called like any other" in warning


@pytest.mark.parametrize(
    "redial",
    [
        pytest.param({"redialOn": "NoAnswer"}, id="outcomes-but-one-attempt"),
        pytest.param({"redialMaxAttempts": 3}, id="attempts-but-no-outcome"),
    ],
)
def test_half_a_redial_policy_is_warned_about_as_never_redialling(redial: dict[str, Any]) -> None:
    # Given a redial policy with outcomes and one attempt, or attempts and no outcome
    settings = settings_from_context(MINIMAL | redial)
    # When the warnings are collected
    # Then synth says no call will ever be redialled
    assert "no call is ever redialled" in warnings_for(settings)["no-redial"]


def test_redials_past_the_deferral_bound_are_warned_about() -> None:
    # Given 4 attempts an hour apart, and requests deferred two hours at most
    settings = settings_from_context(
        MINIMAL
        | {"redialOn": "NoAnswer", "redialMaxAttempts": 4, "redialIntervalSeconds": 3600, "maxDeferralSeconds": 7200}
    )
    # When the warnings are collected
    warning = warnings_for(settings)["redial-past-deferral-bound"]
    # Then synth says the last attempts cannot come for a request without a later ExpiresAt, with both figures
    assert "10800 s" in warning
    assert "(7200)" in warning


def test_a_redial_policy_within_the_bound_is_not_warned_about() -> None:
    # Given 3 attempts half an hour apart, within the default day of deferral
    settings = settings_from_context(MINIMAL | {"redialOn": "NoAnswer,Busy", "redialMaxAttempts": 3})
    # When the warnings are collected
    # Then there is nothing to say about redial
    assert not [warning for warning in warnings_for(settings) if "redial" in warning]
