"""The operators' dashboard: a graph for each question, on the metrics the function and AWS really publish."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from outbound_caller.names import (
    CALLS_DEAD_LETTERED,
    CALLS_DEFERRED,
    CALLS_PLACED,
    CALLS_RETRIED,
    CALLS_SUPPRESSED,
    ERROR_CODE_DIMENSION,
    FUNCTION_TIMEOUT_TOO_SHORT,
    PLACED_CALL_RECORDS_PENDING,
    REASON_DIMENSION,
    SERVICE_DIMENSION,
    SUPPRESSION_CHANGES,
)
from tests.infra.emitted_metrics import EmittedMetric, function_environment, resolve_join
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, under

# SEARCH('{namespace,dimension,...} MetricName="name" dimension="value"', 'Sum', period)
_SEARCH = re.compile(
    r"SEARCH\('\{(?P<schema>[^}]+)\} MetricName=\"(?P<metric>\w+)\" (?P<key>\w+)=\"(?P<value>[^\"]+)\"', 'Sum', \d+\)"
)
CONNECT_VOICE_METRICS = (
    "ThrottledCalls",
    "CallsBreachingConcurrencyQuota",
    "ConcurrentCalls",
    "ConcurrentCallsPercentage",
)


@pytest.fixture(scope="module")
def widgets(template: Template) -> dict[str, dict[str, Any]]:
    """The dashboard's widgets by title, its body's Fn::Join resolved (references shown as ${...})."""
    ((dashboard,),) = [list(template.find_resources("AWS::CloudWatch::Dashboard").values())]
    body = json.loads(resolve_join(dashboard["Properties"]["DashboardBody"]))
    return {widget["properties"]["title"]: widget["properties"] for widget in body["widgets"]}


def _graphed(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) of each metric a graph draws (expressions left out)."""
    graphed = []
    for line in widget["metrics"]:
        if isinstance(line[0], dict):
            continue
        *fields, options = line if isinstance(line[-1], dict) else [*line, {}]
        namespace, name, *pairs = fields
        graphed.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return graphed


def _searches(widget: dict[str, Any]) -> list[re.Match[str]]:
    found = [_SEARCH.fullmatch(line[0]["expression"]) for line in widget["metrics"] if isinstance(line[0], dict)]
    assert all(found), widget["metrics"]
    return [match for match in found if match is not None]


def _queue_ids(template: Template) -> tuple[str, set[str]]:
    """The source queue, and every dead-letter queue (the waiting room is neither)."""
    queues: dict[str, Any] = dict(template.find_resources("AWS::SQS::Queue"))
    (room_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomQueue")
    (source_id,) = [key for key, queue in queues.items() if "RedrivePolicy" in queue["Properties"] and key != room_id]
    return source_id, set(queues) - {source_id, room_id}


@pytest.mark.parametrize(
    ("title", "metric_name"),
    [
        ("Calls placed", CALLS_PLACED),
        ("Placed calls not yet recorded", PLACED_CALL_RECORDS_PENDING),
        ("Calls suppressed (destination on the list)", CALLS_SUPPRESSED),
        ("Suppression list: numbers added or removed", SUPPRESSION_CHANGES),
    ],
)
def test_call_graphs_draw_the_metrics_the_function_emits(
    widgets: dict[str, dict[str, Any]], emitted: list[EmittedMetric], title: str, metric_name: str
) -> None:
    # Given what the function prints for the metric
    (printed,) = [metric for metric in emitted if metric.name == metric_name]
    # When the graph is read
    ((namespace, name, dimensions, _),) = _graphed(widgets[title])
    # Then it draws exactly that metric
    assert EmittedMetric(namespace, name, dimensions) == printed


@pytest.mark.parametrize(
    ("title", "metric_name", "dimension"),
    [
        ("Calls deferred, by reason", CALLS_DEFERRED, REASON_DIMENSION),
        ("Calls dead-lettered, by ErrorCode", CALLS_DEAD_LETTERED, ERROR_CODE_DIMENSION),
        ("Calls retried, by ErrorCode", CALLS_RETRIED, ERROR_CODE_DIMENSION),
    ],
)
def test_outcome_graphs_search_every_value_of_the_dimension_the_function_emits(
    widgets: dict[str, dict[str, Any]], emitted: list[EmittedMetric], title: str, metric_name: str, dimension: str
) -> None:
    # Given what the function prints when it counts one such outcome
    printed = [metric for metric in emitted if metric.name == metric_name]
    assert printed
    # When the graph's SEARCH is read
    ((search,),) = [_searches(widgets[title])]
    namespace, *dimensions = search["schema"].split(",")
    # Then it searches that metric in that namespace, with exactly its dimensions, one series per value of the
    # dimension (Connect's own error codes included, which no list could name), under the function's service
    for metric in printed:
        assert (namespace, search["metric"]) == (metric.namespace, metric.name)
        assert set(dimensions) == set(metric.dimensions)
        assert metric.dimensions[search["key"]] == search["value"]
        assert dimension in dimensions
        assert search["key"] != dimension


def test_connect_graphs_draw_the_instances_voice_call_metrics(
    template: Template, widgets: dict[str, dict[str, Any]]
) -> None:
    # Given the instance the function calls through
    instance_id = function_environment(template)["CONNECT_INSTANCE_ID"]
    # When the Connect graphs are read
    graphed = [
        line
        for title in ("Connect: calls throttled or over the concurrency quota", "Connect: concurrent calls")
        for line in _graphed(widgets[title])
    ]
    # Then each of Connect's voice-call metrics is drawn for that instance, under MetricGroup VoiceCalls
    assert sorted(name for _, name, _, _ in graphed) == sorted(CONNECT_VOICE_METRICS)
    for namespace, _, dimensions, options in graphed:
        assert namespace == "AWS/Connect"
        assert dimensions == {"InstanceId": instance_id, "MetricGroup": "VoiceCalls"}
        assert options["period"] == 60


def test_queue_and_function_graphs_draw_this_stacks_resources(
    template: Template, widgets: dict[str, dict[str, Any]]
) -> None:
    # Given the stack's queues and function
    source_id, dead_letter_ids = _queue_ids(template)
    (function_id,) = under(template, "AWS::Lambda::Function", "Caller")
    # When the queue and function graphs are read
    (age,) = _graphed(widgets["Age of the oldest waiting request (s)"])
    dead_letters = _graphed(widgets["Dead-letter queues"])
    function = _graphed(widgets["Function: errors and throttles"]) + _graphed(widgets["Function: duration (ms)"])
    # Then the age is the source queue's, each dead-letter queue shows what it holds and what was sent to it ...
    assert age[:3] == ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": f"${{{source_id}.QueueName}}"})
    assert sorted((name, dimensions["QueueName"]) for _, name, dimensions, _ in dead_letters) == sorted(
        (name, f"${{{queue_id}.QueueName}}")
        for queue_id in dead_letter_ids
        for name in ("ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent")
    )
    # ... and the function's errors, throttles and duration are this function's
    assert sorted((name, options["stat"]) for _, name, _, options in function) == [
        ("Duration", "Maximum"),
        ("Duration", "p99"),
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
    ]
    assert all(dimensions == {"FunctionName": f"${{Ref:{function_id}}}"} for _, _, dimensions, _ in function)


def test_dashboard_shows_every_alarms_state(template: Template, widgets: dict[str, dict[str, Any]]) -> None:
    # Given the stack's alarms
    alarm_ids = set(template.find_resources("AWS::CloudWatch::Alarm"))
    # When the alarm widget is read
    shown = widgets["Alarms"]["alarms"]
    # Then it shows each of them once
    assert sorted(shown) == sorted(f"${{{alarm_id}.Arn}}" for alarm_id in alarm_ids)


def test_outputs_name_the_dashboard_and_link_to_it(template: Template) -> None:
    # Given the stack's dashboard
    (dashboard_id,) = template.find_resources("AWS::CloudWatch::Dashboard")
    # When the outputs are read
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    # Then they give its name and its console address in the stack's Region
    assert outputs["DashboardName"] == {"Ref": dashboard_id}
    assert resolve_join(outputs["DashboardUrl"]) == (
        "https://${Ref:AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${Ref:AWS::Region}"
        f"#dashboards:name=${{Ref:{dashboard_id}}}"
    )


def test_invocations_whose_timeout_was_too_short_are_drawn_under_the_functions_service(
    template: Template, widgets: dict[str, dict[str, Any]]
) -> None:
    # Given the namespace and service name the stack gives the function's Powertools
    environment = function_environment(template)
    # When the graph of invocations whose timeout was too short is read
    ((namespace, name, dimensions, options),) = _graphed(widgets["Function: invocations whose timeout was too short"])
    # Then it draws the function's count, with Powertools' service as its only dimension, summed
    assert (namespace, name) == (environment["POWERTOOLS_METRICS_NAMESPACE"], FUNCTION_TIMEOUT_TOO_SHORT)
    assert dimensions == {SERVICE_DIMENSION: environment["POWERTOOLS_SERVICE_NAME"]}
    assert options["stat"] == "Sum"


def test_the_opt_out_functions_invocations_and_errors_are_drawn(
    template: Template, widgets: dict[str, dict[str, Any]]
) -> None:
    # Given the opt-out function
    (function_id,) = under(template, "AWS::Lambda::Function", OPT_OUT_CONSTRUCT_ID)
    # When its graph is read
    graphed = _graphed(widgets["Opt-out function: invocations and errors"])
    # Then it draws that function's invocations and errors, summed
    assert sorted((name, options["stat"]) for _, name, _, options in graphed) == [
        ("Errors", "Sum"),
        ("Invocations", "Sum"),
    ]
    assert all(dimensions == {"FunctionName": f"${{Ref:{function_id}}}"} for _, _, dimensions, _ in graphed)
