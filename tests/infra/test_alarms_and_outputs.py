"""Alarms an operator needs, their optional notifications, and the outputs producers wire to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, OPT_OUT_CONSTRUCT_ID, find, under

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:operations"


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    alarms: Mapping[str, Any] = find(template, "AWS::CloudWatch::Alarm")
    return {logical_id: alarm["Properties"] for logical_id, alarm in alarms.items()}


def _alarm_on(template: Template, namespace: str, metric_name: str) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in _alarms(template).values()
        if alarm.get("Namespace") == namespace and alarm.get("MetricName") == metric_name
    ]


def _queue_ids(template: Template) -> tuple[str, str, str]:
    queues: Mapping[str, Any] = find(template, "AWS::SQS::Queue")
    ((source_id, source),) = [(key, queue) for key, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    dead_letter_id = source["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    (rule_dead_letter_id,) = set(queues) - {source_id, dead_letter_id}
    return source_id, dead_letter_id, rule_dead_letter_id


def _queue_metric(query: dict[str, Any]) -> tuple[str, str, str]:
    """(namespace, metric name, queue logical ID) of an alarm's metric query on one queue."""
    metric = query["MetricStat"]["Metric"]
    (dimension,) = metric["Dimensions"]
    assert dimension["Name"] == "QueueName"
    return metric["Namespace"], metric["MetricName"], dimension["Value"]["Fn::GetAtt"][0]


def test_each_dead_letter_queue_alarms_on_new_arrivals_sent_or_moved_not_on_depth(template: Template) -> None:
    # Given the stack's queues
    _, dead_letter_id, rule_dead_letter_id = _queue_ids(template)
    # When the alarms on metric math are read
    alarms = [alarm for alarm in _alarms(template).values() if "Metrics" in alarm]
    arrivals = {}
    for alarm in alarms:
        queries = {query["Id"]: query for query in alarm["Metrics"]}
        if set(queries) != {"expr_1", "sent", "visible"}:
            continue
        sent, visible = _queue_metric(queries["sent"]), _queue_metric(queries["visible"])
        arrivals[sent[2]] = (alarm, queries)
        # Then each compares one queue's sends (SendMessage) with the rise of its visible count (SQS's own moves)
        assert sent == ("AWS/SQS", "NumberOfMessagesSent", visible[2])
        assert visible[:2] == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert queries["sent"]["MetricStat"]["Stat"] == "Sum"
        assert queries["visible"]["MetricStat"]["Stat"] == "Maximum"
        assert queries["expr_1"]["Expression"] == "MAX([FILL(sent, 0), DIFF(FILL(visible, 0))])"
        assert {query["MetricStat"]["Period"] for query in (queries["sent"], queries["visible"])} == {300}
        # And fires on one arrival in either of two periods, then returns to OK: no depth stays in ALARM
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 1)
        assert alarm["TreatMissingData"] == "notBreaching"
    # And every dead-letter queue has one, the call completion's too (a producer missed an Outbound Call Completed),
    # the opt-out function's (someone who asked not to be called may still be) and the waiting room's (a waiting
    # request no longer drawn)
    (completion_dead_letter_id,) = under(template, "AWS::SQS::Queue", COMPLETION_CONSTRUCT_ID)
    (opt_out_dead_letter_id,) = under(template, "AWS::SQS::Queue", OPT_OUT_CONSTRUCT_ID)
    (room_dead_letter_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomDeadLetterQueue")
    assert sorted(arrivals) == sorted(
        [dead_letter_id, rule_dead_letter_id, completion_dead_letter_id, opt_out_dead_letter_id, room_dead_letter_id]
    )
    assert _alarm_on(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible") == []


def test_age_of_the_oldest_request_alarms_at_the_configured_threshold(synth: Any) -> None:
    # Given a configured threshold
    template = synth(oldestRequestAgeAlarmSeconds=600)
    source_id, _, _ = _queue_ids(template)
    # When the age alarm on the source queue is read
    (alarm,) = [
        alarm
        for alarm in _alarm_on(template, "AWS/SQS", "ApproximateAgeOfOldestMessage")
        if alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == source_id
    ]
    # Then it watches the source queue at that threshold
    assert alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == source_id
    assert alarm["Threshold"] == 600
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_function_errors_and_throttles_alarm_above_zero(template: Template) -> None:
    # Given the stack's function
    (function_id,) = find(template, "AWS::Lambda::Function")
    for metric_name in ("Errors", "Throttles"):
        # When the alarm on the metric for this function is read
        (alarm,) = [
            alarm
            for alarm in _alarm_on(template, "AWS/Lambda", metric_name)
            if alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
        ]
        # Then it fires on any occurrence
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_without_notification_settings_there_is_no_topic_and_no_alarm_action(template: Template) -> None:
    # Given no alarmEmail and no alarmTopicArn
    # When topics and alarm actions are read
    # Then there are none
    template.resource_count_is("AWS::SNS::Topic", 0)
    assert all("AlarmActions" not in alarm for alarm in _alarms(template).values())


def test_alarm_email_creates_an_encrypted_topic_every_alarm_notifies(synth: Any) -> None:
    # Given an alarm email
    template = synth(alarmEmail="ops@example.com")
    # When the topic, its subscription and the alarms are read
    ((topic_id, topic),) = find(template, "AWS::SNS::Topic").items()
    # Then the topic is KMS-encrypted, TLS-only, emails the address, and every alarm notifies it
    assert "KmsMasterKeyId" in topic["Properties"]
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": {"Ref": topic_id}}
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    alarms = _alarms(template)
    assert alarms  # every one of them, however many the stack has
    assert all(alarm["AlarmActions"] == [{"Ref": topic_id}] for alarm in alarms.values())
    # And each says when it is OK again: alarms watch new events, so OK is news too
    assert all(alarm["OKActions"] == [{"Ref": topic_id}] for alarm in alarms.values())


def test_only_this_accounts_alarms_may_use_the_topic_key(synth: Any) -> None:
    # Given an alarm email, which creates the topic's key
    template = synth(alarmEmail="ops@example.com")
    # When the key policy's statements for CloudWatch are read
    ((key,),) = [list(find(template, "AWS::KMS::Key").values())]
    statements = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    # Then there is one, and it is bound to this account and its alarms (no confused deputy)
    assert len(statements) == 1
    conditions = statements[0]["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "aws:SourceArn" in conditions["ArnLike"]


def test_alarm_topic_arn_is_notified_without_creating_a_topic(synth: Any) -> None:
    # Given an existing topic's ARN
    template = synth(alarmTopicArn=TOPIC_ARN)
    # When topics and alarm actions are read
    # Then no topic is created and every alarm notifies the existing one
    template.resource_count_is("AWS::SNS::Topic", 0)
    assert all(alarm["AlarmActions"] == [TOPIC_ARN] for alarm in _alarms(template).values())


def test_outputs_give_producers_the_queue_bus_and_rule(template: Template) -> None:
    # Given the stack
    source_id, dead_letter_id, _ = _queue_ids(template)
    ((rule_id, _),) = find(template, "AWS::Events::Rule").items()
    # When the outputs are read
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    # Then the queue URL and ARN, the dead-letter queue URL, the bus and the rule are there
    assert outputs["QueueUrl"] == {"Ref": source_id}
    assert outputs["QueueArn"] == {"Fn::GetAtt": [source_id, "Arn"]}
    assert outputs["DeadLetterQueueUrl"] == {"Ref": dead_letter_id}
    assert outputs["DeadLetterQueueArn"] == {"Fn::GetAtt": [dead_letter_id, "Arn"]}
    assert outputs["EventBusName"] == {"Ref": next(iter(template.find_resources("AWS::Events::EventBus")))}
    assert outputs["RuleName"] == {"Ref": rule_id}


def test_event_bus_output_names_a_configured_bus(synth: Any) -> None:
    # Given a named (shared) bus, which requires the sources it accepts
    template = synth(eventBusName="calls", eventSources="crm")
    # When the bus output is read
    # Then it names that bus
    template.has_output("EventBusName", {"Value": "calls"})
