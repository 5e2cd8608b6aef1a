"""The queues and the EventBridge rule: encryption, TLS, retention, redrive, routing and who may send."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk.assertions import Annotations, Match, Template

from infra.batch_timing import VISIBILITY_TIMEOUT_FACTOR
from infra.context_loading import InvalidDeploymentSettings
from infra.intake import CallRequestIntake, CallRequestIntakeProps
from infra.queue_retention import DEAD_LETTER_QUEUE_RETENTION_SECONDS
from outbound_caller.message_size import (
    FUNCTION_ATTRIBUTES_MAX_BYTES,
    SOURCE_QUEUE_MAX_MESSAGE_BYTES,
    SQS_MAX_MESSAGE_BYTES,
)
from outbound_caller.retention import PLACED_CALL_KEPT_SECONDS
from tests.infra.scopes import find, under
from tests.infra.synthesis import app_with, stack_of

SHARED_BUS_WARNING = Match.string_like_regexp("decide who can make it dial")


def _resources(template: Template, resource_type: str) -> dict[str, Any]:
    return dict(find(template, resource_type))


def _source_queue_id(template: Template) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, queue in _resources(template, "AWS::SQS::Queue").items()
        if "RedrivePolicy" in queue["Properties"]
    ]
    return logical_id


def _dead_letter_queue_id(template: Template) -> str:
    queue = _resources(template, "AWS::SQS::Queue")[_source_queue_id(template)]
    logical_id: str = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return logical_id


def _rule(template: Template) -> tuple[str, dict[str, Any]]:
    ((logical_id, rule),) = _resources(template, "AWS::Events::Rule").items()
    return logical_id, rule["Properties"]


def _rule_dead_letter_queue_id(template: Template) -> str:
    _, rule = _rule(template)
    logical_id: str = rule["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    return logical_id


def _queue_policy(template: Template, queue_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in _resources(template, "AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    statements: list[dict[str, Any]] = policy
    return statements


def test_there_are_exactly_three_queues_source_dead_letter_and_rule_dead_letter(template: Template) -> None:
    # Given the stack with default settings
    # When the queues are counted
    # Then there is the source queue, its dead-letter queue and the rule's dead-letter queue, all distinct
    assert len(find(template, "AWS::SQS::Queue")) == 3
    ids = {_source_queue_id(template), _dead_letter_queue_id(template), _rule_dead_letter_queue_id(template)}
    assert len(ids) == 3


def test_every_queue_states_sqs_managed_encryption(template: Template) -> None:
    # Given the stack
    # When its queues are inspected
    queues = _resources(template, "AWS::SQS::Queue")
    # Then each one explicitly enables SQS-managed server-side encryption
    assert queues
    assert all(queue["Properties"].get("SqsManagedSseEnabled") is True for queue in queues.values())


def test_every_queue_policy_denies_requests_without_tls(template: Template) -> None:
    # Given the stack
    queue_ids = _resources(template, "AWS::SQS::Queue")
    for queue_id in queue_ids:
        # When the queue's policy is read
        statements = _queue_policy(template, queue_id)
        # Then it denies every SQS action on the queue to any principal when aws:SecureTransport is false
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        } in statements


def test_dead_letter_queues_keep_messages_for_fourteen_days(template: Template) -> None:
    # Given the stack
    queues = _resources(template, "AWS::SQS::Queue")
    # When the retention of both dead-letter queues is read
    retentions = {
        queues[_dead_letter_queue_id(template)]["Properties"]["MessageRetentionPeriod"],
        queues[_rule_dead_letter_queue_id(template)]["Properties"]["MessageRetentionPeriod"],
    }
    # Then it is SQS's maximum, 14 days
    assert retentions == {DEAD_LETTER_QUEUE_RETENTION_SECONDS} == {1_209_600}


def test_source_queue_retention_is_shorter_than_the_dead_letter_queues(template: Template) -> None:
    # Given the stack
    queues = _resources(template, "AWS::SQS::Queue")
    # When the source queue's retention is compared with the dead-letter queue's
    source = queues[_source_queue_id(template)]["Properties"]["MessageRetentionPeriod"]
    # Then a redriven message (which keeps its enqueue time) still has time left in the dead-letter queue
    assert source < DEAD_LETTER_QUEUE_RETENTION_SECONDS


def test_a_body_the_source_queue_accepts_fits_with_the_functions_attributes_wherever_it_sends_it(
    template: Template,
) -> None:
    # Given the stack's queues, the call completion's and the opt-out function's dead-letter queues included
    queues = {key: queue["Properties"] for key, queue in template.find_resources("AWS::SQS::Queue").items()}
    source_id = _source_queue_id(template)
    # When their maximum message sizes are read
    sizes = {key: properties.get("MaximumMessageSize") for key, properties in queues.items()}
    # Then the source queue takes bodies small enough to come back to it, or go to a dead-letter queue, with the
    # attributes the function adds (its deferrals and dead-letters), the waiting room (whose requests are drawn into
    # the source queue) no more, and every dead-letter queue takes SQS's largest
    assert sizes.pop(source_id) == SOURCE_QUEUE_MAX_MESSAGE_BYTES
    (room_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomQueue")
    assert sizes.pop(room_id) == SOURCE_QUEUE_MAX_MESSAGE_BYTES
    assert len(sizes) == 5
    assert set(sizes.values()) == {SQS_MAX_MESSAGE_BYTES}
    assert SOURCE_QUEUE_MAX_MESSAGE_BYTES + FUNCTION_ATTRIBUTES_MAX_BYTES <= SQS_MAX_MESSAGE_BYTES


@pytest.mark.parametrize(
    ("overrides", "expected"), [({}, 5), ({"maxReceiveCount": 3}, 3), ({"maxReceiveCount": "8"}, 8)]
)
def test_source_queue_redrives_to_the_dead_letter_queue_after_max_receive_count(
    synth: Any, overrides: dict[str, Any], expected: int
) -> None:
    # Given the stack with a maxReceiveCount (default 5; "8" as it arrives from -c)
    template = synth(**overrides)
    # When the source queue's redrive policy is read
    redrive = _resources(template, "AWS::SQS::Queue")[_source_queue_id(template)]["Properties"]["RedrivePolicy"]
    # Then it names the dead-letter queue and the configured count
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": [_dead_letter_queue_id(template), "Arn"]},
        "maxReceiveCount": expected,
    }
    # And the function knows that same count, so it dead-letters the last receive itself, with its reason
    ((_, function),) = _resources(template, "AWS::Lambda::Function").items()
    assert function["Properties"]["Environment"]["Variables"]["MAX_RECEIVE_COUNT"] == str(expected)


def test_a_placed_call_is_remembered_as_long_as_its_request_can_come_back(template: Template) -> None:
    # Given the stack's queues: after the function last saw a request, it can wait in the source queue, be sent
    # to the dead-letter queue as a new message and wait there, then be redriven and wait in the source queue again
    queues = _resources(template, "AWS::SQS::Queue")
    source = queues[_source_queue_id(template)]["Properties"]["MessageRetentionPeriod"]
    dead_letter = queues[_dead_letter_queue_id(template)]["Properties"]["MessageRetentionPeriod"]
    # Then the placed-calls ledger keeps each call's record at least that long
    assert 2 * source + dead_letter <= PLACED_CALL_KEPT_SECONDS


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"batchSize": 50, "batchingWindowSeconds": 20},
        {"batchSize": 110, "batchingWindowSeconds": 1, "callsPerSecond": 1},  # near the 900 s cap
    ],
)
def test_visibility_timeout_is_at_least_six_times_the_function_timeout_plus_window(
    synth: Any, overrides: dict[str, Any]
) -> None:
    # Given the stack with some batch settings
    template = synth(**overrides)
    # When the source queue's visibility timeout and the function's timeout are read
    visibility = _resources(template, "AWS::SQS::Queue")[_source_queue_id(template)]["Properties"]["VisibilityTimeout"]
    ((_, function),) = _resources(template, "AWS::Lambda::Function").items()
    timeout = function["Properties"]["Timeout"]
    # Then SQS's guidance holds: visibility >= 6 x function timeout + batching window
    assert visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout + overrides.get("batchingWindowSeconds", 0)


def test_rule_listens_on_the_stacks_own_bus_for_the_detail_type_and_never_a_replay(template: Template) -> None:
    # Given the stack with default settings (no eventBusName)
    # When the rule and the buses are read
    _, rule = _rule(template)
    (bus_id,) = under(template, "AWS::Events::EventBus", "Intake")
    # Then the rule is on the bus the stack creates, for detail-type "Outbound Call Requested", replays excluded
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["EventPattern"] == {"detail-type": ["Outbound Call Requested"], "replay-name": [{"exists": False}]}


def test_rule_on_a_shared_bus_requires_the_configured_sources(synth: Any) -> None:
    # Given a named (shared) bus, two detail types and a source, the way -c passes them (strings)
    template = synth(eventBusName="calls", eventDetailTypes="Call Requested,Callback Requested", eventSources="crm")
    # When the rule is read
    _, rule = _rule(template)
    # Then it is on that bus with that pattern, replays excluded, and the stack neither creates nor governs a bus
    assert rule["EventBusName"] == "calls"
    assert rule["EventPattern"] == {
        "detail-type": ["Call Requested", "Callback Requested"],
        "source": ["crm"],
        "replay-name": [{"exists": False}],
    }
    assert under(template, "AWS::Events::EventBus", "Intake") == {}
    assert under(template, "AWS::Events::EventBusPolicy", "Intake") == {}


@pytest.mark.parametrize("bus", ["calls", "default"])
def test_synthesis_refuses_a_shared_bus_without_sources(bus: str) -> None:
    # Given a shared bus, the default one too, and no eventSources: anyone allowed PutEvents there could dial
    # When the app is built
    with pytest.raises(InvalidDeploymentSettings) as refused:
        app_with({"eventBusName": bus, "eventSources": []})
    # Then it is refused, naming both keys
    assert f"eventBusName={bus!r}" in str(refused.value)
    assert "eventSources" in str(refused.value)


def test_rule_targets_the_source_queue_with_a_retry_policy_and_its_own_dead_letter_queue(template: Template) -> None:
    # Given the stack
    # When the rule's target is read
    _, rule = _rule(template)
    (target,) = rule["Targets"]
    # Then it sends the whole event to the source queue, retries, and dead-letters to a queue of its own
    assert target["Arn"] == {"Fn::GetAtt": [_source_queue_id(template), "Arn"]}
    assert "Input" not in target
    assert "InputTransformer" not in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] == _rule_dead_letter_queue_id(template)
    assert _rule_dead_letter_queue_id(template) != _dead_letter_queue_id(template)


@pytest.mark.parametrize("queue_of", [_source_queue_id, _rule_dead_letter_queue_id])
def test_eventbridge_may_send_only_on_behalf_of_the_rule(template: Template, queue_of: Any) -> None:
    # Given the stack's rule
    rule_id, _ = _rule(template)
    # When the policy of a queue EventBridge writes to is read
    statements = _queue_policy(template, queue_of(template))
    allows = [statement for statement in statements if statement["Effect"] == "Allow"]
    # Then its only grant is to events.amazonaws.com, including SendMessage, with aws:SourceArn equal to the rule
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert "sqs:SendMessage" in (allow["Action"] if isinstance(allow["Action"], list) else [allow["Action"]])
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_dead_letter_queue_policy_grants_nobody_anything(template: Template) -> None:
    # Given the stack
    # When the function's dead-letter queue policy is read
    statements = _queue_policy(template, _dead_letter_queue_id(template))
    # Then it only denies (TLS, and senders other than its own: tests/infra/test_dead_letter_access.py); the
    # function's own role is what allows it to send
    assert {statement["Effect"] for statement in statements} == {"Deny"}


def test_queue_has_no_kms_key_that_would_drop_the_source_arn_condition(template: Template) -> None:
    # Given the stack
    # When the queues are searched for a customer-managed key
    # Then none has one (CDK omits the aws:SourceArn condition for KMS-encrypted target queues)
    template.all_resources_properties(
        "AWS::SQS::Queue", Match.not_(Match.object_like({"KmsMasterKeyId": Match.any_value()}))
    )


def test_on_a_shared_bus_synth_warns_that_sources_do_not_decide_who_can_dial() -> None:
    # Given a shared bus with a source named, as synth requires
    stack = stack_of(app_with({"eventBusName": "default", "eventSources": ["com.example.orders"]}))
    # When the stack is synthesized
    Template.from_stack(stack)
    # Then synth warns that a source is text any sender may choose: the bus's policy and IAM decide who can dial
    Annotations.from_stack(stack).has_warning("*", SHARED_BUS_WARNING)


def test_the_intake_stands_alone_on_its_props_secure_by_default() -> None:
    # Given a bare stack, no deployment settings, and the intake's props with only what has no default
    stack = Stack(App(), "Bare")
    props = CallRequestIntakeProps(
        visibility_timeout=Duration.seconds(360), max_receive_count=5, event_detail_types=("Outbound Call Requested",)
    )
    # When the intake is built from them alone
    CallRequestIntake(stack, "Intake", props)
    template = Template.from_stack(stack)
    # Then its three queues are encrypted and refuse plain HTTP, the source queue redrives to its dead-letter queue,
    # and the bus it creates denies PutEvents to every other account
    queues = _resources(template, "AWS::SQS::Queue")
    assert len(queues) == 3
    assert all(queue["Properties"].get("SqsManagedSseEnabled") is True for queue in queues.values())
    for queue_id in queues:
        assert any(
            statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in _queue_policy(template, queue_id)
        )
    assert queues[_source_queue_id(template)]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    template.has_resource_properties(
        "AWS::Events::EventBusPolicy",
        {"StatementId": "cdk-NobodyElseMayPutEvents", "Statement": Match.object_like({"Effect": "Deny"})},
    )
