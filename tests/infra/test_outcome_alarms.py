"""Alarms on what the function counts: each watches a metric the function really emits, as it emits it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from outbound_caller.decisions import (
    IDEMPOTENCY_STORE_ERROR,
    OUTCOME_UNKNOWN,
    RETRIES_EXHAUSTED,
    SUPPRESSION_LIST_UNAVAILABLE,
)
from outbound_caller.names import (
    CALLS_DEAD_LETTERED,
    CALLS_RETRIED,
    ERROR_CODE_DIMENSION,
    FUNCTION_TIMEOUT_TOO_SHORT,
    PLACED_CALL_RECORDS_PENDING,
    RESULT_EVENTS_FAILED,
)
from tests.infra.emitted_metrics import EmittedMetric
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, under

# Metrics Insights: SELECT SUM(metric) FROM SCHEMA("namespace", dimension, ...) WHERE dimension = 'value'
_QUERY = re.compile(
    r"SELECT SUM\((?P<metric>\w+)\) FROM SCHEMA\(\"(?P<namespace>[^\"]+)\", (?P<dimensions>[\w, ]+)\)"
    r" WHERE (?P<key>\w+) = '(?P<value>[^']+)'"
)


def _alarm_with_description(template: Template, start: str) -> dict[str, Any]:
    (alarm,) = [
        alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["AlarmDescription"].startswith(start)
    ]
    return dict(alarm)


def _watched(alarm: dict[str, Any]) -> EmittedMetric:
    dimensions = {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}
    return EmittedMetric(alarm["Namespace"], alarm["MetricName"], dimensions)


def _emitted(emitted: list[EmittedMetric], name: str, **dimensions: str) -> EmittedMetric:
    (metric,) = [
        metric
        for metric in emitted
        if metric.name == name and all(metric.dimensions.get(key) == value for key, value in dimensions.items())
    ]
    return metric


@pytest.mark.parametrize(
    ("description", "metric_name", "error_code"),
    [
        pytest.param("Requests were dead-lettered OutcomeUnknown", CALLS_DEAD_LETTERED, OUTCOME_UNKNOWN, id="unknown"),
        pytest.param(
            "Requests were dead-lettered RetriesExhausted", CALLS_DEAD_LETTERED, RETRIES_EXHAUSTED, id="exhausted"
        ),
        pytest.param("The placed-calls table could not", CALLS_RETRIED, IDEMPOTENCY_STORE_ERROR, id="store-errors"),
        pytest.param(
            "The suppression list (its table or its HMAC key) could not be read",
            CALLS_RETRIED,
            SUPPRESSION_LIST_UNAVAILABLE,
            id="suppression-list-unavailable",
        ),
    ],
)
def test_error_code_alarms_watch_the_metric_the_function_emits_for_that_code(
    template: Template, emitted: list[EmittedMetric], description: str, metric_name: str, error_code: str
) -> None:
    # Given what the function prints when it counts the code, with the stack's namespace and service name
    printed = _emitted(emitted, metric_name, **{ERROR_CODE_DIMENSION: error_code})
    # When the alarm on that code is read
    alarm = _alarm_with_description(template, description)
    # Then it watches exactly that metric (namespace, name, every dimension and its value) ...
    assert _watched(alarm) == printed
    # ... and fires on one occurrence in 5 minutes, returning to OK after a quiet 5 minutes
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_pending_records_alarm_watches_the_metric_the_function_emits(
    template: Template, emitted: list[EmittedMetric]
) -> None:
    # Given what the function prints when placed calls are still to be recorded
    printed = _emitted(emitted, PLACED_CALL_RECORDS_PENDING)
    # When the alarm on pending records is read
    alarm = _alarm_with_description(template, "Calls were placed but the placed-calls table")
    # Then it watches that metric and fires when any container reports one
    assert _watched(alarm) == printed
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Maximum", 300, 0)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_lost_result_events_alarm_watches_the_metric_the_publisher_emits(
    template: Template, emitted: list[EmittedMetric]
) -> None:
    # Given what the function prints when it gives up on a result event
    printed = _emitted(emitted, RESULT_EVENTS_FAILED)
    # When the alarm on lost result events is read
    alarm = _alarm_with_description(template, "Result events could not be published")
    # Then it watches that metric and fires on a single lost event: a producer missed an outcome
    assert _watched(alarm) == printed
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 0)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_retries_alarm_sums_every_error_code_of_the_metric_the_function_emits(
    template: Template, emitted: list[EmittedMetric]
) -> None:
    # Given what the function prints when it leaves a record to be retried (for one of its codes)
    printed = _emitted(emitted, CALLS_RETRIED, **{ERROR_CODE_DIMENSION: IDEMPOTENCY_STORE_ERROR})
    # When the retries alarm's query is read
    alarm = _alarm_with_description(template, "Records failed transiently")
    ((query,),) = [[metric for metric in alarm["Metrics"] if metric.get("ReturnData", True)]]
    parsed = _QUERY.fullmatch(query["Expression"])
    assert parsed is not None, query["Expression"]
    # Then it sums that metric, in that namespace, over the same dimensions, whatever the ErrorCode
    assert (parsed["namespace"], parsed["metric"]) == (printed.namespace, printed.name)
    assert {name.strip() for name in parsed["dimensions"].split(",")} == set(printed.dimensions)
    (service_dimension,) = set(printed.dimensions) - {ERROR_CODE_DIMENSION}
    assert (parsed["key"], parsed["value"]) == (service_dimension, printed.dimensions[service_dimension])
    # And fires on one retry in 5 minutes
    assert (query["Period"], alarm["Threshold"], alarm["TreatMissingData"]) == (300, 0, "notBreaching")


def test_a_timeout_too_short_alarms_on_the_first_invocation_that_hands_its_records_back(
    template: Template, emitted: list[EmittedMetric]
) -> None:
    # Given what the function prints when an invocation's timeout cannot hold one record's reserve
    counted = _emitted(emitted, FUNCTION_TIMEOUT_TOO_SHORT)
    # When the alarm on it is read
    alarm = _alarm_with_description(template, "The outbound caller's timeout cannot hold one record's time reserve")
    # Then it watches that metric and fires on one such invocation in 5 minutes: no record is called meanwhile
    assert _watched(alarm) == counted
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_timeout_too_short_notifies_the_alarm_topic(synth: Any) -> None:
    # Given an alarm topic
    topic_arn = "arn:aws:sns:eu-west-1:123456789012:operations"
    template = synth(alarmTopicArn=topic_arn)
    # When the alarm on a timeout too short is read
    alarm = _alarm_with_description(template, "The outbound caller's timeout cannot hold one record's time reserve")
    # Then it notifies the topic, on alarm and when it is OK again, like every other alarm
    assert (alarm["AlarmActions"], alarm["OKActions"]) == ([topic_arn], [topic_arn])


def test_a_failed_opt_out_alarms_at_once_on_the_opt_out_functions_errors(template: Template) -> None:
    # Given the opt-out function
    (function_id,) = under(template, "AWS::Lambda::Function", OPT_OUT_CONSTRUCT_ID)
    # When the alarm on its failures is read
    alarm = _alarm_with_description(template, "The opt-out function failed")
    # Then it watches that function's errors and fires on one in a minute: a contact flow took its Error branch, or an
    # event is being retried, and a number that asked not to be called may not be on the list
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 60, 0)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_without_the_suppression_list_there_is_no_alarm_on_it(synth: Any) -> None:
    # Given the suppression list turned off
    template = synth(suppressionList=False)
    # When the alarms' descriptions are read
    descriptions = [
        alarm["Properties"]["AlarmDescription"] for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    # Then none is about a list or a function the stack does not have
    assert descriptions
    assert not [description for description in descriptions if "suppression list" in description.lower()]
    assert not [description for description in descriptions if "opt-out" in description.lower()]
