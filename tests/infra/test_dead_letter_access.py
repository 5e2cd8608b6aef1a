"""Who may send to the dead-letter queues (a message planted there is redriven into the source queue), and who may
redrive into a source queue that names its producers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, find, under

OPERATOR_ACCOUNT = "210987654321"
OPERATOR_ROLE = "arn:aws:iam::123456789012:role/operations"
PRODUCER_ROLE = "arn:aws:iam::123456789012:role/orders"
# The deny's condition that limits it to requests an IAM principal signed: SQS's own redrive moves carry none.
SIGNED_BY_AN_IAM_PRINCIPAL = {"aws:PrincipalArn": "false"}


@pytest.fixture(scope="module")
def with_operators(synth: Any) -> Template:
    """The stack with an operator account and an operator role named."""
    template: Template = synth(operatorPrincipals=[OPERATOR_ACCOUNT, OPERATOR_ROLE])
    return template


def _arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _queues(template: Template) -> dict[str, str]:
    """Logical IDs of the source queue and of each dead-letter queue, by what it is."""
    queues: Mapping[str, Any] = find(template, "AWS::SQS::Queue")
    ((source_id, source),) = [(key, queue) for key, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    (rule,) = find(template, "AWS::Events::Rule").values()
    (completion_dead_letter_id,) = under(template, "AWS::SQS::Queue", COMPLETION_CONSTRUCT_ID)
    return {
        "source": source_id,
        "dead-letter": source["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "rule-dead-letter": rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0],
        "completion-dead-letter": completion_dead_letter_id,
    }


def _send_denials(template: Template, queue_id: str) -> list[dict[str, Any]]:
    """The queue policy's Deny statements on sqs:SendMessage other than the TLS one."""
    (statements,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    return [
        statement
        for statement in statements
        if statement["Effect"] == "Deny"
        and statement["Action"] == "sqs:SendMessage"
        and "aws:SecureTransport" not in str(statement["Condition"])
    ]


def _role_id(template: Template, construct_id: str) -> str:
    (role_id,) = under(template, "AWS::IAM::Role", construct_id)
    return str(role_id)


def _rule_id(template: Template, construct_id: str) -> str:
    (rule_id,) = under(template, "AWS::Events::Rule", construct_id)
    return str(rule_id)


def _room_ids(template: Template) -> tuple[str, str]:
    """The waiting room's queue and its dead-letter queue."""
    (room_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomQueue")
    (dead_letter_id,) = under(template, "AWS::SQS::Queue", "WaitingRoomDeadLetterQueue")
    return room_id, dead_letter_id


def test_each_dead_letter_queue_denies_sending_to_every_iam_principal_but_its_own_senders(template: Template) -> None:
    # Given the stack with no queue producers and no operators named: secure by default
    queues = _queues(template)
    caller_role, completion_role = _role_id(template, "Caller"), _role_id(template, COMPLETION_CONSTRUCT_ID)
    intake_rule = _rule_id(template, "Intake")
    completion_rule = _rule_id(template, f"{COMPLETION_CONSTRUCT_ID}DisconnectedRule")
    tick_rule = _rule_id(template, f"{COMPLETION_CONSTRUCT_ID}TickRule")
    # When each dead-letter queue's denials of SendMessage are read
    denials = {name: _send_denials(template, queues[name]) for name in queues if name != "source"}
    # Then each denies it to any IAM principal ...
    for (statement,) in denials.values():
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"]["Null"] == SIGNED_BY_AN_IAM_PRINCIPAL
    # ... but the role that must send there, or the service sending for the rule that dead-letters there: the caller
    # to its dead-letter queue, EventBridge for the intake rule to the rule's, and the completion function (Lambda
    # dead-letters a failed asynchronous event with its role) or EventBridge for its rules (contact events, the tick)
    # to the completion's
    ((dead_letter,),) = [denials["dead-letter"]]
    assert dead_letter["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": [_arn_of(caller_role)]}
    ((rule_dead_letter,),) = [denials["rule-dead-letter"]]
    assert rule_dead_letter["Condition"]["ArnNotEquals"] == {"aws:SourceArn": [_arn_of(intake_rule)]}
    ((completion,),) = [denials["completion-dead-letter"]]
    assert completion["Condition"]["ArnNotEquals"] == {
        "aws:PrincipalArn": [_arn_of(completion_role)],
        "aws:SourceArn": [_arn_of(completion_rule), _arn_of(tick_rule)],
    }
    # And the waiting room's dead-letter queue is denied to every IAM principal: only SQS moves requests there
    (room_dead_letter,) = _send_denials(template, _room_ids(template)[1])
    assert room_dead_letter["Principal"] == {"AWS": "*"}
    assert room_dead_letter["Condition"] == {"Null": SIGNED_BY_AN_IAM_PRINCIPAL}
    # And no account is exempt: without operatorPrincipals nobody else may send, this account's principals included
    assert all("StringNotEquals" not in statement["Condition"] for (statement,) in denials.values())


def test_named_operators_may_send_to_every_dead_letter_queue(with_operators: Template) -> None:
    # Given the stack with an operator account and an operator role
    queues = _queues(with_operators)
    # When each dead-letter queue's denial of SendMessage is read
    room_dead_letter = _room_ids(with_operators)[1]
    for queue_id in [
        *(queues[name] for name in ("dead-letter", "rule-dead-letter", "completion-dead-letter")),
        room_dead_letter,
    ]:
        ((statement,),) = [_send_denials(with_operators, queue_id)]
        conditions = statement["Condition"]
        # Then the operators escape it: the role by its ARN, every principal of the account by the account
        assert OPERATOR_ROLE in conditions["ArnNotEquals"]["aws:PrincipalArn"]
        assert conditions["StringNotEquals"] == {"aws:PrincipalAccount": [OPERATOR_ACCOUNT]}
        # And it still applies to IAM principals only
        assert conditions["Null"] == SIGNED_BY_AN_IAM_PRINCIPAL


def test_named_operators_may_redrive_into_a_source_queue_that_names_its_producers(synth: Any) -> None:
    # Given a source queue restricted to a named producer, and a named operator role and account
    template = synth(queueProducerPrincipals=[PRODUCER_ROLE], operatorPrincipals=[OPERATOR_ACCOUNT, OPERATOR_ROLE])
    # When the source queue's denial of SendMessage is read
    ((statement,),) = [_send_denials(template, _queues(template)["source"])]
    # Then the operators escape it too (a message move task sends with the rights of whoever starts it), beside the
    # producer, the caller's role (its deferrals) and the completion's (the waiting requests it draws)
    conditions = statement["Condition"]
    assert conditions["ArnNotEquals"]["aws:PrincipalArn"] == [
        PRODUCER_ROLE,
        OPERATOR_ROLE,
        _arn_of(_role_id(template, "Caller")),
        _arn_of(_role_id(template, COMPLETION_CONSTRUCT_ID)),
    ]
    assert conditions["StringNotEquals"] == {"aws:PrincipalAccount": [OPERATOR_ACCOUNT]}


def test_dead_letter_queues_no_queue_redrives_to_refuse_to_become_a_redrive_target(template: Template) -> None:
    # Given the dead-letter queues of the rules and of the completion function, which SQS's redrive never targets
    queues: Mapping[str, Any] = find(template, "AWS::SQS::Queue")
    names = _queues(template)
    completion_queue = template.find_resources("AWS::SQS::Queue")[names["completion-dead-letter"]]
    # When their redrive-allow policies are read
    policies = [
        queues[names["rule-dead-letter"]]["Properties"]["RedriveAllowPolicy"],
        completion_queue["Properties"]["RedriveAllowPolicy"],
    ]
    # Then no queue may name them its dead-letter queue: SQS's own moves would carry no principal to deny
    assert policies == [{"redrivePermission": "denyAll"}] * 2
