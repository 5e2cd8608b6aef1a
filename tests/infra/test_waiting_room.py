"""The waiting room in the stack: a FIFO queue the caller parks in and the completion draws from, its dead-letter
queue, who may send there, the completion's hand-over environment and grants, its minute's tick (which the handler
tells by EventBridge's `aws.events` / `Scheduled Event`: tests/unit), and its alarm."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.completion import TICK_RETRY_ATTEMPTS
from infra.queue_retention import WAITING_ROOM_MAX_RECEIVE_COUNT
from outbound_caller.config.completion import load_completion_settings
from outbound_caller.message_size import SOURCE_QUEUE_MAX_MESSAGE_BYTES
from outbound_caller.retention import DEAD_LETTER_QUEUE_RETENTION_DAYS, MAX_DEFERRAL_LIMIT_SECONDS
from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, WAITING_ROOM_CONSTRUCT_ID, find, under

DAY = 24 * 60 * 60
OPERATOR_ROLE = "arn:aws:iam::123456789012:role/operations"


def _one(template: Template, resource_type: str, construct_id: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = under(template, resource_type, construct_id).items()
    return logical_id, resource["Properties"]


def _room(template: Template) -> tuple[str, dict[str, Any]]:
    return _one(template, "AWS::SQS::Queue", f"{WAITING_ROOM_CONSTRUCT_ID}Queue")


def _room_dead_letter(template: Template) -> tuple[str, dict[str, Any]]:
    return _one(template, "AWS::SQS::Queue", f"{WAITING_ROOM_CONSTRUCT_ID}DeadLetterQueue")


def _statements(template: Template, construct_id: str) -> dict[str, dict[str, Any]]:
    return {
        statement["Sid"]: statement
        for policy in under(template, "AWS::IAM::Policy", construct_id).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "Sid" in statement
    }


def _queue_policy(template: Template, queue_id: str) -> list[dict[str, Any]]:
    (statements,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    result: list[dict[str, Any]] = statements
    return result


def test_the_waiting_room_is_a_secure_high_throughput_fifo_queue_with_a_fifo_dead_letter_queue(
    template: Template,
) -> None:
    # Given the stack with cdk.json's values (result events on, waitingRoom unset)
    # When the waiting room and its dead-letter queue are read
    _, room = _room(template)
    dead_letter_id, dead_letter = _room_dead_letter(template)
    # Then the room is FIFO (the oldest drawn first), its groups and their deduplication each on their own
    assert room["FifoQueue"] is True
    assert (room["DeduplicationScope"], room["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    # And encrypted, taking no message the source queue would refuse, and keeping a parked request past the longest
    # bound any request may have (it stays one message while it waits: SQS's retention must never delete it first)
    assert room["SqsManagedSseEnabled"] is True
    assert room["MessageRetentionPeriod"] > MAX_DEFERRAL_LIMIT_SECONDS
    assert room["MessageRetentionPeriod"] == DEAD_LETTER_QUEUE_RETENTION_DAYS * DAY
    assert room["MaximumMessageSize"] == SOURCE_QUEUE_MAX_MESSAGE_BYTES
    # And a request not drawn after its receives goes to a FIFO dead-letter queue kept as long as the others
    assert room["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
        "maxReceiveCount": WAITING_ROOM_MAX_RECEIVE_COUNT,
    }
    assert dead_letter["FifoQueue"] is True
    assert dead_letter["SqsManagedSseEnabled"] is True
    assert dead_letter["MessageRetentionPeriod"] == DEAD_LETTER_QUEUE_RETENTION_DAYS * DAY


def test_both_queues_refuse_plain_http(template: Template) -> None:
    # Given the room and its dead-letter queue
    for queue_id in (_room(template)[0], _room_dead_letter(template)[0]):
        # When their policies are read
        statements = _queue_policy(template, queue_id)
        # Then each denies every request not sent over TLS
        assert any(
            statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in statements
        )


@pytest.mark.parametrize("overrides", [{}, {"queueProducerPrincipals": ["210987654321"]}], ids=["open", "producers"])
def test_only_the_caller_and_the_operators_may_send_to_the_room(synth: Any, overrides: dict[str, Any]) -> None:
    # Given the stack with operators named, whether or not the source queue names its producers
    template = synth(operatorPrincipals=[OPERATOR_ROLE], **overrides)
    (caller_role,) = under(template, "AWS::IAM::Role", "Caller")
    room_id, _ = _room(template)
    dead_letter_id, _ = _room_dead_letter(template)
    # When the queues' denials of SendMessage are read
    (room_denial,) = [s for s in _queue_policy(template, room_id) if s.get("Sid") == "OnlyTheCallerAndOperatorsMayPark"]
    (dead_letter_denial,) = [
        s
        for s in _queue_policy(template, dead_letter_id)
        if s.get("Sid") == "OnlyOperatorsMayDeadLetterWaitingRequests"
    ]
    # Then every IAM principal but the caller's role and the operators is denied the room (what is planted there is
    # drawn into the source queue), and every one but the operators its dead-letter queue (SQS moves requests there)
    for denial in (room_denial, dead_letter_denial):
        assert (denial["Effect"], denial["Action"], denial["Principal"]) == ("Deny", "sqs:SendMessage", {"AWS": "*"})
        assert denial["Condition"]["Null"] == {"aws:PrincipalArn": "false"}
    assert room_denial["Condition"]["ArnNotEquals"] == {
        "aws:PrincipalArn": [OPERATOR_ROLE, {"Fn::GetAtt": [caller_role, "Arn"]}]
    }
    assert dead_letter_denial["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": [OPERATOR_ROLE]}


def test_the_caller_parks_in_the_room_and_the_completion_draws_it_into_the_source_queue(template: Template) -> None:
    # Given the room, the source queue, the signing key and both functions
    room_id, _ = _room(template)
    ((source_id, _),) = [
        (key, queue)
        for key, queue in find(template, "AWS::SQS::Queue").items()
        if "RedrivePolicy" in queue["Properties"]
    ]
    (signing_key,) = under(template, "AWS::SecretsManager::Secret", "CallerMessageSigningKey")
    caller, completion = _statements(template, "Caller"), _statements(template, COMPLETION_CONSTRUCT_ID)
    # Then the caller may only send to the room ...
    assert caller["ParkInTheWaitingRoom"]["Action"] == "sqs:SendMessage"
    assert caller["ParkInTheWaitingRoom"]["Resource"] == {"Fn::GetAtt": [room_id, "Arn"]}
    assert [sid for sid, statement in caller.items() if room_id in str(statement["Resource"])] == [
        "ParkInTheWaitingRoom"
    ]
    # ... and the completion receive and delete there, send to the source queue, and read the signing key
    assert sorted(completion["DrawFromTheWaitingRoom"]["Action"]) == ["sqs:DeleteMessage", "sqs:ReceiveMessage"]
    assert completion["DrawFromTheWaitingRoom"]["Resource"] == {"Fn::GetAtt": [room_id, "Arn"]}
    assert completion["DrawIntoTheSourceQueue"]["Action"] == "sqs:SendMessage"
    assert completion["DrawIntoTheSourceQueue"]["Resource"] == {"Fn::GetAtt": [source_id, "Arn"]}
    key_reads = [
        statement
        for policy in under(template, "AWS::IAM::Policy", COMPLETION_CONSTRUCT_ID).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == {"Ref": signing_key}
    ]
    assert [sorted(statement["Action"]) for statement in key_reads] == [
        ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    ]


def test_the_completion_reads_back_the_hand_over_the_stack_gives_it(template: Template) -> None:
    # Given both functions' environments
    _, caller = _one(template, "AWS::Lambda::Function", "Caller")
    _, completion = _one(template, "AWS::Lambda::Function", COMPLETION_CONSTRUCT_ID)
    caller_variables = caller["Environment"]["Variables"]
    variables = completion["Environment"]["Variables"]
    room_id, _ = _room(template)
    # Then both name the room, and the completion the caller's source queue, key and concurrent calls
    assert caller_variables["WAITING_ROOM_QUEUE_URL"] == variables["WAITING_ROOM_QUEUE_URL"] == {"Ref": room_id}
    for name in ("SOURCE_QUEUE_URL", "MESSAGE_SIGNING_KEY_SECRET_ID", "CONCURRENT_CALLS_LIMIT"):
        assert variables[name] == caller_variables[name]
    # And the completion's own configuration reads them as a hand-over (tokens stand for the resources)
    resolved = {name: value for name, value in variables.items() if isinstance(value, str)} | {
        "IDEMPOTENCY_TABLE_NAME": "placed-calls",
        "RESULT_EVENT_BUS_NAME": "results",
        "WAITING_ROOM_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/room.fifo",
        "SOURCE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/requests",
        "MESSAGE_SIGNING_KEY_SECRET_ID": "signing-key",
    }
    settings = load_completion_settings(resolved)
    assert settings.waiting_room_queue_url is not None
    assert settings.concurrent_calls_limit == int(caller_variables["CONCURRENT_CALLS_LIMIT"])


def test_a_tick_invokes_the_completion_every_minute_as_the_handler_recognises_it(template: Template) -> None:
    # Given the completion's tick rule and function
    completion_dead_letter = next(iter(under(template, "AWS::SQS::Queue", COMPLETION_CONSTRUCT_ID)))
    (function_id,) = under(template, "AWS::Lambda::Function", COMPLETION_CONSTRUCT_ID)
    _, rule = _one(template, "AWS::Events::Rule", f"{COMPLETION_CONSTRUCT_ID}TickRule")
    # Then it is a schedule on the default bus, every minute, targeting the function
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert "EventBusName" not in rule
    assert "EventPattern" not in rule
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    # And a tick is tried within its minute, then dead-lettered with the completion's other failures
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": TICK_RETRY_ATTEMPTS}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [completion_dead_letter, "Arn"]}}


def test_the_rooms_oldest_request_alarms_at_the_source_queues_threshold(synth: Any) -> None:
    # Given a configured threshold
    template = synth(oldestRequestAgeAlarmSeconds=600)
    room_id, _ = _room(template)
    # When the age alarms are read
    (alarm,) = [
        alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
        and alarm["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [room_id, "QueueName"]}
    ]
    # Then the room's oldest request alarms past the same threshold as the source queue's
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (600, "GreaterThanThreshold")


@pytest.mark.parametrize("overrides", [{"waitingRoom": False}, {"resultEvents": False}], ids=["off", "no-results"])
def test_without_the_room_nothing_of_it_is_created_nor_named(synth: Any, overrides: dict[str, Any]) -> None:
    # Given the waiting room switched off, or result events off (no completion to draw it)
    template = synth(**overrides)
    # Then there is no room, no tick, no variable naming it, no grant on it
    assert under(template, "AWS::SQS::Queue", WAITING_ROOM_CONSTRUCT_ID) == {}
    assert under(template, "AWS::Events::Rule", f"{COMPLETION_CONSTRUCT_ID}TickRule") == {}
    for function in template.find_resources("AWS::Lambda::Function").values():
        assert "WAITING_ROOM_QUEUE_URL" not in function["Properties"].get("Environment", {}).get("Variables", {})
    assert "ParkInTheWaitingRoom" not in _statements(template, "Caller")
