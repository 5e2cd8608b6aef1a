"""The function's role: Connect only on the configured instance, SQS send only to its two queues, one table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Template

from tests.infra.scopes import SUPPRESSION_CONSTRUCT_ID, find, under

INSTANCE = "00000000-0000-0000-0000-000000000000"
FLOW = "11111111-1111-1111-1111-111111111111"
EXTRA_FLOW = "33333333-3333-3333-3333-333333333333"
QUEUE = "22222222-2222-2222-2222-222222222222"


def _statements(template: Template) -> list[dict[str, Any]]:
    policies: Mapping[str, Any] = find(template, "AWS::IAM::Policy")
    return [
        statement for policy in policies.values() for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _arn_suffix(resource: Any) -> str:
    """The literal tail of an ARN built with Fn::Join over partition, region and account."""
    if isinstance(resource, str):
        return resource
    parts = resource["Fn::Join"][1]
    assert parts[:6] == [
        "arn:",
        {"Ref": "AWS::Partition"},
        ":connect:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
    ]
    tail: str = parts[6]
    return tail


def _connect_resources(template: Template) -> list[str]:
    statements = [
        statement for statement in _statements(template) if any(a.startswith("connect:") for a in _actions(statement))
    ]
    assert all(_actions(statement) == ["connect:StartOutboundVoiceContact"] for statement in statements)
    assert all(statement["Effect"] == "Allow" and "Condition" not in statement for statement in statements)
    return sorted(_arn_suffix(resource) for statement in statements for resource in _resources(statement))


CONTACTS = f":instance/{INSTANCE}/contact/*"


def test_connect_permission_is_only_start_outbound_voice_contact_on_the_instances_contacts(template: Template) -> None:
    # Given the stack with a source number and no queue
    # When the Connect grants are collected
    resources = _connect_resources(template)
    # Then they name the one resource type the Service Authorization Reference lists for
    # connect:StartOutboundVoiceContact, `contact` (arn:...:instance/${InstanceId}/contact/*), of this instance only:
    # without it every call would be answered AccessDeniedException. No phone number: such an ARN authorizes nothing
    assert resources == [CONTACTS]


def test_allowed_flows_and_a_queue_add_no_resource_the_action_is_not_authorized_on(synth: Any) -> None:
    # Given a queue instead of a source number, and an extra allowed flow
    template = synth(
        sourcePhoneNumber=None,
        allowedDestinationCountries="US",
        connectQueueId=QUEUE,
        allowedContactFlowIds=[EXTRA_FLOW],
    )
    # When the Connect grants are collected
    resources = _connect_resources(template)
    # Then they still name the instance's contacts alone: a flow's or a queue's ARN would look like a scope but match
    # no request of the action, so which flow and queue a call uses is the function's allow-lists' decision
    assert resources == [CONTACTS]
    assert not [resource for resource in resources if "/contact-flow/" in resource or "/queue/" in resource]


def test_no_connect_grant_uses_a_wildcard_beyond_the_instances_contacts(template: Template) -> None:
    # Given the stack
    # When the Connect grants are collected
    resources = _connect_resources(template)
    # Then none is "*", and the only wildcard is the instance's contacts: a call's contact ID does not exist before
    # the call
    assert "*" not in resources
    assert [resource for resource in resources if "*" in resource] == [CONTACTS]


def _source_and_dead_letter_queue_ids(template: Template) -> tuple[str, str]:
    queues: Mapping[str, Any] = find(template, "AWS::SQS::Queue")
    ((source_id, source),) = [(key, queue) for key, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    dead_letter_queue_id: str = source["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return source_id, dead_letter_queue_id


def test_send_message_is_granted_on_the_dead_letter_queue_and_the_source_queue_only(template: Template) -> None:
    # Given the stack, its source queue and that queue's dead-letter queue
    source_id, dead_letter_queue_id = _source_and_dead_letter_queue_ids(template)
    # When the statements allowing sqs:SendMessage are collected
    send = [statement for statement in _statements(template) if "sqs:SendMessage" in _actions(statement)]
    (room_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomQueue")
    # Then there are three, with no other action and no condition: dead-lettering to the dead-letter queue, deferral
    # back to the source queue, parking in the waiting room (not to the rule's dead-letter queue, nor any other)
    assert sorted(send, key=lambda statement: str(statement["Sid"])) == [
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [dead_letter_queue_id, "Arn"]},
            "Sid": "DeadLetterPermanentFailures",
        },
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [source_id, "Arn"]},
            "Sid": "DeferToTheSourceQueue",
        },
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [room_id, "Arn"]},
            "Sid": "ParkInTheWaitingRoom",
        },
    ]


def test_the_event_source_grant_only_consumes_from_the_source_queue(template: Template) -> None:
    # Given the stack and its source queue
    source_id, _ = _source_and_dead_letter_queue_ids(template)
    # When the statements allowing sqs:ReceiveMessage are collected
    receive = [statement for statement in _statements(template) if "sqs:ReceiveMessage" in _actions(statement)]
    # Then there is the event source mapping's own one, unchanged by the deferral grant: consume, on that queue
    assert receive == [
        {
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [source_id, "Arn"]},
        }
    ]


def test_sending_to_the_queues_needs_no_kms_grant_because_sqs_manages_their_keys(template: Template) -> None:
    # Given the queues the function sends to
    source_id, dead_letter_queue_id = _source_and_dead_letter_queue_ids(template)
    queues: Mapping[str, Any] = find(template, "AWS::SQS::Queue")
    # When their encryption and the role's KMS permissions are read
    kms = [statement for statement in _statements(template) if any(a.startswith("kms:") for a in _actions(statement))]
    # Then both use SQS-managed SSE, not a KMS key (a KMS key would also need kms:GenerateDataKey and kms:Decrypt
    # on it for SendMessage: this test fails first if one is introduced), and the role holds no KMS permission
    for queue_id in (source_id, dead_letter_queue_id):
        properties = queues[queue_id]["Properties"]
        assert properties["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in properties
    assert kms == []


def test_the_tables_are_read_and_written_by_single_item_only(template: Template) -> None:
    # Given the stack, its placed-calls table and its suppression list
    ((table_id, _),) = find(template, "AWS::DynamoDB::Table").items()
    (suppression_id,) = under(template, "AWS::DynamoDB::Table", SUPPRESSION_CONSTRUCT_ID)
    # When the statements allowing any DynamoDB action are collected
    dynamodb = [
        statement for statement in _statements(template) if any(a.startswith("dynamodb:") for a in _actions(statement))
    ]
    # Then there are two: GetItem (the busy-instance state) and UpdateItem (conditional ledger writes) on the
    # placed-calls table, and GetItem alone on the suppression list (whether a number is listed, never a change)
    assert dynamodb == [
        {
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
            "Sid": "RecordPlacedCallsAndInstanceState",
        },
        {
            "Action": "dynamodb:GetItem",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [suppression_id, "Arn"]},
            "Sid": "CheckTheSuppressionList",
        },
    ]


def test_no_action_is_a_wildcard(template: Template) -> None:
    # Given the stack
    # When every action granted to the function's role is collected
    actions = [action for statement in _statements(template) for action in _actions(statement)]
    # Then each names one API action
    assert actions
    assert not [action for action in actions if "*" in action]


def test_only_xray_is_granted_on_every_resource(template: Template) -> None:
    # Given the stack
    # When the statements on "*" are collected
    wildcard = [statement for statement in _statements(template) if "*" in _resources(statement)]
    # Then only X-Ray's, which has no resource-level permissions, use it
    assert [sorted(_actions(statement)) for statement in wildcard] == [
        ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    ]


def test_function_role_has_no_managed_policies(template: Template) -> None:
    # Given the stack
    # When the roles are read
    roles: Mapping[str, Any] = find(template, "AWS::IAM::Role")
    # Then none attaches an AWS managed policy (logging is granted on the function's own log group)
    assert roles
    assert all("ManagedPolicyArns" not in role["Properties"] for role in roles.values())
    assert "logs:*" not in json.dumps(_statements(template))
