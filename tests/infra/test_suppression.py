"""The suppression list in the stack: a table of keyed hashes and its HMAC key, both kept when the stack goes, the key
readable by the stack's two functions alone, the caller allowed to check and the opt-out function to change."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Annotations, Match, Template

from outbound_caller.names import PARTITION_KEY
from tests.infra.emitted_metrics import function_environment
from tests.infra.scopes import OPT_OUT_CONSTRUCT_ID, SUPPRESSION_CONSTRUCT_ID, under
from tests.infra.synthesis import app_with, stack_of


def _one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = under(template, resource_type, SUPPRESSION_CONSTRUCT_ID).items()
    return logical_id, dict(resource)


def _statements_of(template: Template, construct_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in under(template, "AWS::IAM::Policy", construct_id).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _role_arn(template: Template, construct_id: str) -> dict[str, Any]:
    (role_id,) = under(template, "AWS::IAM::Role", construct_id)
    return {"Fn::GetAtt": [role_id, "Arn"]}


def test_the_table_is_keyed_as_the_function_writes_it_encrypted_restorable_and_never_expires(
    template: Template,
) -> None:
    # Given the stack with cdk.json's settings (the suppression list on by default)
    # When the list's table is read
    _, table = _one(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    # Then it is keyed by the one attribute the function keys each number's HMAC under, on demand, encrypted, with
    # point-in-time recovery and deletion protection, and no TTL: a number stays listed until it is taken off
    assert properties["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": PARTITION_KEY, "AttributeType": "S"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert "TimeToLiveSpecification" not in properties


def test_the_list_and_its_key_outlive_the_stack_and_any_replacement(template: Template) -> None:
    # Given the list's table and key
    _, table = _one(template, "AWS::DynamoDB::Table")
    _, key = _one(template, "AWS::SecretsManager::Secret")
    # When their deletion policies are read
    # Then neither is deleted with the stack nor by a replacement: the list is who asked not to be called, and a
    # table without its key could answer nothing
    for resource in (table, key):
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_key_is_generated_by_secrets_manager_never_written_in_the_template(template: Template) -> None:
    # Given the list's key
    _, key = _one(template, "AWS::SecretsManager::Secret")
    # When its properties are read
    properties = key["Properties"]
    # Then Secrets Manager generates it (long, letters and digits), and the template carries no value
    assert properties["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 64}
    assert "SecretString" not in properties


def test_only_the_stacks_two_functions_may_read_the_key(template: Template) -> None:
    # Given the key and its resource policy
    key_id, _ = _one(template, "AWS::SecretsManager::Secret")
    _, policy = _one(template, "AWS::SecretsManager::ResourcePolicy")
    # When its statements are read
    (statement,) = policy["Properties"]["ResourcePolicy"]["Statement"]
    # Then it denies GetSecretValue to every IAM principal, this account's included, but the caller's and the opt-out
    # function's roles, and only to requests an IAM principal signed
    assert policy["Properties"]["SecretId"] == {"Ref": key_id}
    assert (statement["Effect"], statement["Action"], statement["Principal"]) == (
        "Deny",
        "secretsmanager:GetSecretValue",
        {"AWS": "*"},
    )
    assert statement["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [_role_arn(template, "Caller"), _role_arn(template, OPT_OUT_CONSTRUCT_ID)]
        },
        "Null": {"aws:PrincipalArn": "false"},
    }


def test_the_caller_may_only_check_a_number_and_the_opt_out_function_change_the_list(template: Template) -> None:
    # Given the list's table and key
    table_id, _ = _one(template, "AWS::DynamoDB::Table")
    key_id, _ = _one(template, "AWS::SecretsManager::Secret")
    table, key = {"Fn::GetAtt": [table_id, "Arn"]}, {"Ref": key_id}
    # When each role's statements naming them are read
    granted = {
        construct_id: sorted(
            (json.dumps(statement["Action"]), json.dumps(statement["Resource"]))
            for statement in _statements_of(template, construct_id)
            if statement["Resource"] in (table, key)
        )
        for construct_id in ("Caller", OPT_OUT_CONSTRUCT_ID, "Completion")
    }
    # Then the caller reads one item and the key (whether a number is listed), the opt-out function puts, deletes and
    # reads single items and reads the key, and the completion nothing
    assert granted == {
        "Caller": sorted(
            [
                (json.dumps("dynamodb:GetItem"), json.dumps(table)),
                (json.dumps("secretsmanager:GetSecretValue"), json.dumps(key)),
            ]
        ),
        OPT_OUT_CONSTRUCT_ID: sorted(
            [
                (json.dumps(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]), json.dumps(table)),
                (json.dumps("secretsmanager:GetSecretValue"), json.dumps(key)),
            ]
        ),
        "Completion": [],
    }


def test_the_caller_checks_the_list_the_stack_creates_by_the_keys_exact_arn(template: Template) -> None:
    # Given the list's table and key
    table_id, _ = _one(template, "AWS::DynamoDB::Table")
    key_id, _ = _one(template, "AWS::SecretsManager::Secret")
    # When the caller's environment is read (its non-string values too)
    (caller,) = under(template, "AWS::Lambda::Function", "Caller").values()
    variables = caller["Properties"]["Environment"]["Variables"]
    # Then it names that table and that secret (Ref is the secret's full ARN, never a name another could answer to)
    assert variables["SUPPRESSION_TABLE_NAME"] == {"Ref": table_id}
    assert variables["SUPPRESSION_KEY_SECRET_ID"] == {"Ref": key_id}


def test_without_the_suppression_list_there_is_no_table_key_or_opt_out_function_and_synth_says_so() -> None:
    # Given the suppression list turned off (tests/infra/test_outcome_alarms.py: nor its alarms)
    stack = stack_of(app_with({"suppressionList": False}))
    # When the stack is synthesized
    template = Template.from_stack(stack)
    # Then there is no list, no key, no opt-out function or its rule, and the caller checks nothing
    assert under(template, "AWS::DynamoDB::Table", SUPPRESSION_CONSTRUCT_ID) == {}
    assert under(template, "AWS::SecretsManager::Secret", SUPPRESSION_CONSTRUCT_ID) == {}
    assert under(template, "AWS::Lambda::Function", OPT_OUT_CONSTRUCT_ID) == {}
    assert under(template, "AWS::Events::Rule", OPT_OUT_CONSTRUCT_ID) == {}
    assert not [variable for variable in function_environment(template) if variable.startswith("SUPPRESSION_")]
    assert "OptOutFunctionName" not in template.find_outputs("*")
    # And synth warns that numbers that asked not to be called are called like any other
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("suppressionList is false"))
