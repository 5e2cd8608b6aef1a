"""Calling safety in the stack: the caller ID's country by default (said at synth), the rules as context values,
a table of calls only when a limit (per number or per caller ID) is set, the function allowed on it alone, and the
redial policy."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Annotations, Match, Template

from infra.application import build_app
from outbound_caller.names import PARTITION_KEY, TTL_ATTRIBUTE
from tests.infra.scopes import find
from tests.infra.synthesis import SKIP_BUNDLING, cdk_json_context, stack_of

DEFAULT_COUNTRIES_WARNING = Match.string_like_regexp("allowedDestinationCountries is not set: calls may only go to US")


def _variables(template: Template) -> dict[str, Any]:
    ((_, function),) = find(template, "AWS::Lambda::Function").items()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _dynamodb_statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in find(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            action.startswith("dynamodb:")
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        )
    ]


def test_by_default_calls_go_to_the_caller_ids_country_only_and_synth_says_so() -> None:
    # Given cdk.json's settings: a +1 caller ID, no allowedDestinationCountries
    stack = stack_of(build_app(cdk_json_context() | dict(SKIP_BUNDLING)))
    # When the stack is synthesized
    template = Template.from_stack(stack)
    # Then the function may call the US only, never a premium-rate or shared-cost number, and synth says why
    assert _variables(template)["ALLOWED_DESTINATION_COUNTRIES"] == "US"
    assert _variables(template)["BLOCKED_NUMBER_TYPES"] == "PREMIUM_RATE,SHARED_COST,UNKNOWN"
    Annotations.from_stack(stack).has_warning("*", DEFAULT_COUNTRIES_WARNING)
    # And, on the stack's own bus, nothing about a shared one
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("decide who can make it dial"))


def test_countries_the_operator_chose_are_passed_as_chosen_and_nothing_is_said() -> None:
    # Given the countries set explicitly
    stack = stack_of(build_app(cdk_json_context() | dict(SKIP_BUNDLING) | {"allowedDestinationCountries": "GB,IE"}))
    # When the stack is synthesized
    template = Template.from_stack(stack)
    # Then they reach the function, and there is no default to speak of
    assert _variables(template)["ALLOWED_DESTINATION_COUNTRIES"] == "GB,IE"
    Annotations.from_stack(stack).has_no_warning("*", DEFAULT_COUNTRIES_WARNING)


def test_calling_hours_reach_the_function_when_set(synth: Any) -> None:
    # Given calling hours as -c passes them
    template = synth(callingHours="08:00-21:00")
    # When the function's environment is read
    # Then it carries them under the contract's name, and no limit is set
    assert _variables(template)["CALLING_HOURS"] == "08:00-21:00"
    assert "DESTINATION_CALL_LIMIT" not in _variables(template)


def test_without_a_call_limit_there_is_no_table_of_calls_per_destination(template: Template) -> None:
    # Given cdk.json's settings (no limit)
    # When the tables and the function's DynamoDB grants are read
    # Then there is only the placed-calls table (besides the suppression list's), and no grant to count calls
    assert len(find(template, "AWS::DynamoDB::Table")) == 1
    assert [statement["Sid"] for statement in _dynamodb_statements(template)] == [
        "RecordPlacedCallsAndInstanceState",
        "CheckTheSuppressionList",
    ]


def test_a_call_limit_brings_its_own_encrypted_expiring_table_and_a_grant_on_it_alone(synth: Any) -> None:
    # Given a limit of three calls per number a day
    template = synth(destinationCallLimit="3/24h")
    # When the stack is synthesized
    variables = _variables(template)
    # Then the function counts in a table of its own, keyed and expiring as the function writes it
    table_id = variables["DESTINATION_CALLS_TABLE_NAME"]["Ref"]
    assert variables["DESTINATION_CALL_LIMIT"] == "3/24h"
    table = find(template, "AWS::DynamoDB::Table")[table_id]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    # And may only read and update single items of it, in a statement of its own
    [grant] = [
        statement for statement in _dynamodb_statements(template) if statement["Sid"] == "CountCallsPerDestination"
    ]
    assert grant["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert grant["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_a_caller_id_limit_alone_counts_in_the_same_table_and_a_redial_policy_reaches_the_function(
    synth: Any,
) -> None:
    # Given a limit per caller ID and no limit per number, and a redial policy, as -c passes them
    template = synth(sourceCallLimit="200/1h,1000/24h", redialOn="NoAnswer,Busy", redialMaxAttempts="3")
    # When the function's environment and its grants are read
    variables = _variables(template)
    # Then the caller ID's limit is counted in a table of calls the stack creates for it, with the grant to count
    table_id = variables["DESTINATION_CALLS_TABLE_NAME"]["Ref"]
    assert variables["SOURCE_CALL_LIMIT"] == "200/1h,1000/24h"
    assert "DESTINATION_CALL_LIMIT" not in variables
    (grant,) = [s for s in _dynamodb_statements(template) if s["Sid"] == "CountCallsPerDestination"]
    assert grant["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    # And the redial policy reaches the function whole, the defaults the operator did not set included
    assert {name: value for name, value in variables.items() if name.startswith("REDIAL_")} == {
        "REDIAL_ON": "Busy,NoAnswer",
        "REDIAL_MAX_ATTEMPTS": "3",
        "REDIAL_INTERVAL_SECONDS": "1800",
        "REDIAL_OUTCOME_WAIT_SECONDS": "3600",
    }
