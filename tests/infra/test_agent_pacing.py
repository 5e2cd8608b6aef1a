"""Agent pacing in the stack: its context values checked with the function's bounds, the caller's variables and its
GetCurrentMetricData grant on the instance and the routed queues, the completion's CONNECTED_TO_AGENT events and
AGENT_PACING, and the alarm on failed reads."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from outbound_caller.config.pacing_fields import MAX_AGENT_METRICS_TTL_SECONDS, MAX_AGENT_PACING_RATIO
from outbound_caller.config.settings import load_settings
from outbound_caller.names import AGENT_METRICS_UNAVAILABLE
from tests.infra.contexts import DLQ_URL, INSTANCE, MINIMAL, SIGNING_KEY, SOURCE_QUEUE_URL
from tests.infra.emitted_metrics import EmittedMetric
from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, under

QUEUE = "22222222-2222-2222-2222-222222222222"
OTHER_QUEUE = "44444444-4444-4444-4444-444444444444"
PACED = {"agentPacing": True, "connectQueueId": QUEUE}


@pytest.fixture(scope="module")
def paced(synth: Any) -> Template:
    """The stack with agent pacing on, a default queue and no other."""
    template: Template = synth(**PACED)
    return template


def _statements(template: Template, construct_id: str) -> dict[str, dict[str, Any]]:
    return {
        statement["Sid"]: statement
        for policy in under(template, "AWS::IAM::Policy", construct_id).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "Sid" in statement
    }


def _variables(template: Template, construct_id: str) -> dict[str, Any]:
    ((_, function),) = under(template, "AWS::Lambda::Function", construct_id).items()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _arn_tail(arn: dict[str, Any]) -> str:
    """The last literal part of a Fn::Join ARN (after the account)."""
    return str(arn["Fn::Join"][1][-1])


def test_the_function_reads_back_the_agent_pacing_the_stack_gives_it() -> None:
    # Given agent pacing with a ratio and a TTL
    settings = settings_from_context(MINIMAL | PACED | {"agentPacingRatio": "1.5", "agentMetricsTtlSeconds": 10})
    # When the caller's environment is built and its own configuration reads it
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    function = load_settings(environment)
    # Then it paces to agents as the stack meant
    assert (environment["AGENT_PACING"], environment["AGENT_PACING_RATIO"]) == ("true", "1.5")
    assert function.agent_pacing is True
    assert function.agent_pacing_ratio == 1.5
    assert function.agent_metrics_ttl_seconds == 10


def test_without_agent_pacing_no_variable_is_written() -> None:
    # Given the defaults, a ratio and TTL set but pacing off
    settings = settings_from_context(MINIMAL | {"agentPacingRatio": 2, "agentMetricsTtlSeconds": 30})
    # When the environment is built
    environment = settings.function_environment(
        DLQ_URL, "placed-calls", source_queue_url=SOURCE_QUEUE_URL, message_signing_key_secret_id=SIGNING_KEY
    )
    # Then nothing of agent pacing is in it
    assert not [name for name in environment if name.startswith("AGENT_")]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"agentPacingRatio": 0}, "agentPacingRatio"),
        ({"agentPacingRatio": MAX_AGENT_PACING_RATIO + 0.5}, "agentPacingRatio"),
        ({"agentMetricsTtlSeconds": 0}, "agentMetricsTtlSeconds"),
        ({"agentMetricsTtlSeconds": MAX_AGENT_METRICS_TTL_SECONDS + 1}, "agentMetricsTtlSeconds"),
        ({"agentPacing": True}, "connectQueueId"),
        (PACED | {"resultEvents": False}, "resultEvents"),
        ({"waitingRoom": True, "resultEvents": False}, "resultEvents"),
    ],
)
def test_values_out_of_the_functions_bounds_or_without_what_they_need_are_refused(
    overrides: dict[str, Any], named: str
) -> None:
    # Given a value the function would refuse, or pacing without a queue or without the completion function
    # When the settings are loaded
    # Then synth refuses them, naming what to set
    with pytest.raises(InvalidDeploymentSettings, match=named):
        settings_from_context(MINIMAL | overrides)


def test_the_caller_may_read_the_available_agents_of_the_routed_queues_only(synth: Any) -> None:
    # Given agent pacing with a default queue and an allowed one
    template = synth(**PACED, allowedQueueIds=[OTHER_QUEUE])
    # When the caller's grant is read
    statement = _statements(template, "Caller")["ReadTheQueuesAvailableAgents"]
    # Then it is GetCurrentMetricData on the instance and on each queue a call may be routed to, no wildcard
    assert statement["Action"] == "connect:GetCurrentMetricData"
    assert [_arn_tail(arn) for arn in statement["Resource"]] == [
        f":instance/{INSTANCE}",
        f":instance/{INSTANCE}/queue/{QUEUE}",
        f":instance/{INSTANCE}/queue/{OTHER_QUEUE}",
    ]


def test_with_agent_pacing_the_completion_hears_contacts_connect_to_agents(paced: Template) -> None:
    # Given the completion's contact-events rule and function
    ((_, rule),) = under(paced, "AWS::Events::Rule", f"{COMPLETION_CONSTRUCT_ID}DisconnectedRule").items()
    # Then the rule passes a contact connecting to an agent beside its end, and the function knows to end claims
    assert rule["Properties"]["EventPattern"]["detail"]["eventType"] == ["DISCONNECTED", "CONNECTED_TO_AGENT"]
    assert _variables(paced, COMPLETION_CONSTRUCT_ID)["AGENT_PACING"] == "true"
    # And the caller gets its three variables
    caller = _variables(paced, "Caller")
    assert (caller["AGENT_PACING"], caller["AGENT_PACING_RATIO"], caller["AGENT_METRICS_TTL_SECONDS"]) == (
        "true",
        "1",
        "5",
    )


def test_without_agent_pacing_there_is_no_grant_no_variable_and_no_alarm(template: Template) -> None:
    # Given cdk.json's values (agent pacing off)
    # Then neither function is told of it, the caller may not read metrics, and nothing alarms on them
    assert "ReadTheQueuesAvailableAgents" not in _statements(template, "Caller")
    assert "AGENT_PACING" not in _variables(template, "Caller")
    assert "AGENT_PACING" not in _variables(template, COMPLETION_CONSTRUCT_ID)
    assert not [key for key in template.find_resources("AWS::CloudWatch::Alarm") if "AgentMetrics" in key]


def test_failed_agent_reads_alarm_on_the_metric_the_function_emits(
    paced: Template, emitted: list[EmittedMetric]
) -> None:
    # Given the stack with agent pacing, and what the function prints when a read fails
    (printed,) = [metric for metric in emitted if metric.name == AGENT_METRICS_UNAVAILABLE]
    (alarm,) = [
        alarm["Properties"]
        for key, alarm in paced.find_resources("AWS::CloudWatch::Alarm").items()
        if "AgentMetricsUnavailable" in key
    ]
    # Then it watches that very metric (name, namespace, dimensions), on the first failed read
    assert alarm["MetricName"] == printed.name
    assert alarm["Namespace"] == printed.namespace
    assert alarm["Dimensions"] == [{"Name": name, "Value": value} for name, value in printed.dimensions.items()]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
