"""The completion and opt-out functions' environments: every variable the stack's resources, read back by each
function's own configuration, and a refusal caught at synth naming the function."""

from __future__ import annotations

from infra.function_check import stack_function_refusals
from infra.function_environment import completion_environment, optout_environment
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.config.optout import load_optout_settings
from tests.infra.contexts import INSTANCE

RESULT_BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/results"
SUPPRESSION_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:suppression-AbCdEf"


def test_the_completion_and_opt_out_functions_accept_the_environments_the_stack_builds() -> None:
    # Given the environments the stack gives the completion function and the opt-out function (with and without a
    # result bus)
    completion = completion_environment(INSTANCE, "placed-calls", RESULT_BUS)
    optouts = [optout_environment("do-not-call", SUPPRESSION_KEY, bus) for bus in (RESULT_BUS, None)]
    # When their own configurations parse them
    # Then they read the stack's resources, and neither refuses its environment
    assert load_completion_settings(completion).instance_id == INSTANCE
    assert [load_optout_settings(optout).result_event_bus_name for optout in optouts] == [RESULT_BUS, None]
    assert stack_function_refusals(completion, optouts[0]) == []


def test_a_function_environment_the_function_would_refuse_fails_synth_naming_the_function() -> None:
    # Given a completion environment without the instance, and an opt-out environment without the key
    completion = {
        key: value
        for key, value in completion_environment(INSTANCE, "t", RESULT_BUS).items()
        if key != "CONNECT_INSTANCE_ID"
    }
    optout = {key: value for key, value in optout_environment("t", SUPPRESSION_KEY, None).items() if "KEY" not in key}
    # When the stack's check reads them
    problems = stack_function_refusals(completion, optout)
    # Then each function's refusal is reported, naming the function and the variable
    assert len(problems) == 2
    assert "completion function" in problems[0]
    assert "CONNECT_INSTANCE_ID" in problems[0]
    assert "opt-out function" in problems[1]
    assert "SUPPRESSION_KEY_SECRET_ID" in problems[1]
