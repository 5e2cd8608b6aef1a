"""The result event bus: created by default or named, PutEvents granted on it alone, its name and ARN output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from infra.context_loading import InvalidDeploymentSettings, settings_from_context
from infra.results import ResultEventBus
from outbound_caller.names import RESULT_SOURCE
from tests.infra.scopes import COMPLETION_CONSTRUCT_ID, OPT_OUT_CONSTRUCT_ID, find, under
from tests.infra.synthesis import app_with, cdk_json_context, stack_of

EXISTING_BUS = "team-call-results"
NOT_OWNED_WARNING = Match.string_like_regexp("only its owner can restrict who publishes on it")


def _put_events_statements(template: Template) -> list[dict[str, Any]]:
    policies: Mapping[str, Any] = find(template, "AWS::IAM::Policy")
    statements = [
        statement for policy in policies.values() for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return [statement for statement in statements if "events:PutEvents" in str(statement["Action"])]


def _environment(template: Template) -> dict[str, Any]:
    functions: Mapping[str, Any] = find(template, "AWS::Lambda::Function")
    (environment,) = [
        function["Properties"]["Environment"]["Variables"]
        for function in functions.values()
        if "CONNECT_INSTANCE_ID" in function["Properties"].get("Environment", {}).get("Variables", {})
    ]
    variables: dict[str, Any] = environment
    return variables


def test_by_default_the_stack_creates_the_bus_and_grants_put_events_on_it_only(template: Template) -> None:
    # Given the stack with cdk.json's defaults
    # When its event buses, grants, environment and outputs are read
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    bus_arn = {"Fn::GetAtt": [bus_id, "Arn"]}
    # Then the function may put events on that bus alone, and only with the contract's source
    assert _put_events_statements(template) == [
        {
            "Action": "events:PutEvents",
            "Condition": {"StringEquals": {"events:source": RESULT_SOURCE}},
            "Effect": "Allow",
            "Resource": bus_arn,
            "Sid": "PublishResultEvents",
        }
    ]
    # And the function is told the bus, and the outputs name it
    assert _environment(template)["RESULT_EVENT_BUS_NAME"] == bus_arn
    outputs = {name: output["Value"] for name, output in template.find_outputs("*").items()}
    assert outputs["ResultEventBusName"] == {"Ref": bus_id}
    assert outputs["ResultEventBusArn"] == bus_arn


def test_a_named_bus_is_used_as_it_is(synth: Any) -> None:
    # Given a deployment naming an existing result bus
    template = synth(resultEventBusName=EXISTING_BUS)
    # When the stack is read
    (statement,) = _put_events_statements(template)
    # Then no bus is created, and the grant, the environment and the output name the existing one
    assert under(template, "AWS::Events::EventBus", "Results") == {}
    assert EXISTING_BUS in str(statement["Resource"])
    assert EXISTING_BUS in str(_environment(template)["RESULT_EVENT_BUS_NAME"])
    template.has_output("ResultEventBusName", {"Value": EXISTING_BUS})


def test_result_events_can_be_switched_off(synth: Any) -> None:
    # Given a deployment with resultEvents false
    template = synth(resultEvents=False)
    # When the stack is read
    # Then there is no bus, no grant, no variable and no output for them
    assert under(template, "AWS::Events::EventBus", "Results") == {}
    assert _put_events_statements(template) == []
    assert "RESULT_EVENT_BUS_NAME" not in _environment(template)
    assert not [name for name in template.find_outputs("*") if name.startswith("ResultEventBus")]


@pytest.mark.parametrize(
    "value",
    [EXISTING_BUS, "arn:aws:events:eu-west-1:123456789012:event-bus/team-call-results"],
    ids=["name", "arn"],
)
def test_the_result_bus_is_a_name_or_an_arn(value: str) -> None:
    # Given resultEventBusName as a name or an ARN
    # When the settings are validated
    settings = settings_from_context(cdk_json_context() | {"resultEventBusName": value})
    # Then it is kept, and the function is told it
    assert settings.result_event_bus_name == value
    environment = settings.function_environment(
        "dlq", "table", source_queue_url="q", message_signing_key_secret_id="key", result_event_bus_name=value
    )
    assert environment["RESULT_EVENT_BUS_NAME"] == value


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"resultEventBusName": "not a bus"}, "must be an event bus name or ARN"),
        ({"resultEventBusName": "arn:aws:sqs:eu-west-1:123456789012:queue"}, "must be an event bus name or ARN"),
        ({"resultEvents": False, "resultEventBusName": EXISTING_BUS}, "resultEvents is false"),
        # A pasted line break: the functions' own check refuses it at every cold start, so synth must refuse it first.
        ({"resultEventBusName": "mybus\n"}, "must be an event bus name or ARN"),
        (
            {"resultEventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/x\n"},
            "must be an event bus name or ARN",
        ),
        (
            {"resultEventBusName": "calls", "eventBusName": "calls", "eventDetailTypes": [], "eventSources": []},
            "would come back as a call request",
        ),
        (
            {
                "resultEventBusName": "default",
                "eventBusName": "default",
                "eventSources": ["connect-outbound-caller"],
                "eventDetailTypes": ["Outbound Call Rejected"],
            },
            "would come back as a call request",
        ),
    ],
    ids=[
        "spaces",
        "not-a-bus-arn",
        "off-but-named",
        "name-newline",
        "arn-newline",
        "loop-any-event",
        "loop-default-bus",
    ],
)
def test_a_malformed_result_bus_setting_is_refused_naming_it(overrides: dict[str, Any], message: str) -> None:
    # Given a malformed or contradictory result-bus setting
    # When the settings are validated
    with pytest.raises(InvalidDeploymentSettings, match=message) as refused:
        settings_from_context(cdk_json_context() | overrides)
    # Then the error names the key and says what is wrong with it
    assert "resultEvent" in str(refused.value)


def test_the_intake_bus_may_carry_result_events_when_its_rule_cannot_match_them() -> None:
    # Given result events on the intake bus, whose rule matches only call requests' detail-type
    context = cdk_json_context() | {"resultEventBusName": "calls", "eventBusName": "calls", "eventSources": ["crm"]}
    # When the settings are validated
    settings = settings_from_context(context)
    # Then they are accepted: the rule never sees a result event
    assert settings.result_event_bus_name == settings.event_bus_name == "calls"


def test_the_default_bus_may_carry_result_events_when_the_intake_rule_is_on_the_stacks_own_bus() -> None:
    # Given result events on the default bus, and the intake rule on the bus the stack creates (eventBusName unset)
    context = cdk_json_context() | {"resultEventBusName": "default", "eventDetailTypes": ["Outbound Call Rejected"]}
    # When the settings are validated
    settings = settings_from_context(context)
    # Then they are accepted: the intake rule never sees the default bus's events
    assert settings.result_event_bus_name == "default"


def _result_bus_policies(template: Template) -> list[dict[str, Any]]:
    return [policy["Properties"] for policy in under(template, "AWS::Events::EventBusPolicy", "Results").values()]


def _role_arn(template: Template, construct_id: str) -> dict[str, Any]:
    (role_id,) = under(template, "AWS::IAM::Role", construct_id)
    return {"Fn::GetAtt": [role_id, "Arn"]}


def test_only_the_stacks_functions_may_publish_on_its_own_result_bus(template: Template) -> None:
    # Given the stack with the result bus it creates, and its three publishers
    (bus_id,) = under(template, "AWS::Events::EventBus", "Results")
    # When the bus's policy is read
    ((policy,),) = [_result_bus_policies(template)]
    statement = policy["Statement"]
    # Then it denies PutEvents on that bus to every IAM principal, this account's included, but the caller's, the
    # opt-out function's and the completion's roles: consumers trust what arrives there
    assert policy["EventBusName"] == {"Ref": bus_id}
    assert (statement["Effect"], statement["Action"], statement["Principal"]) == (
        "Deny",
        "events:PutEvents",
        {"AWS": "*"},
    )
    assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert statement["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [
                _role_arn(template, "Caller"),
                _role_arn(template, OPT_OUT_CONSTRUCT_ID),
                _role_arn(template, COMPLETION_CONSTRUCT_ID),
            ]
        },
        # Only requests an IAM principal signed: the negated operator alone would also match one without the key
        "Null": {"aws:PrincipalArn": "false"},
    }


def test_a_later_publisher_is_exempted_by_its_grant_alone() -> None:
    # Given the stack and a role of a function added later
    stack = stack_of(app_with())
    results = stack.node.find_child("Results")
    assert isinstance(results, ResultEventBus)
    role = iam.Role(stack, "LaterRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    # When it is granted publishing, the one call a publisher needs
    results.grant_publish(role, sid="PublishLater")
    template = Template.from_stack(stack)
    # Then it may put events with the contract's source, and the bus's policy no longer denies it
    ((policy,),) = [_result_bus_policies(template)]
    exempt = policy["Statement"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert exempt[-1] == _role_arn(template, "LaterRole")
    assert len(exempt) == 4
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^LaterRole")}],
            "PolicyDocument": {"Statement": [Match.object_like({"Sid": "PublishLater", "Action": "events:PutEvents"})]},
        },
    )


def test_a_named_result_bus_gets_no_policy_and_synth_warns_that_its_owner_decides_who_publishes() -> None:
    # Given a deployment naming an existing result bus
    stack = stack_of(app_with({"resultEventBusName": EXISTING_BUS}))
    # When the stack is synthesized
    template = Template.from_stack(stack)
    # Then the stack writes no policy for a bus it does not own, and says that only the owner can restrict publishers
    assert _result_bus_policies(template) == []
    Annotations.from_stack(stack).has_warning("*", NOT_OWNED_WARNING)


def test_a_result_bus_of_the_stacks_own_needs_no_such_warning() -> None:
    # Given the stack creating its result bus
    stack = stack_of(app_with())
    # When the stack is synthesized
    Template.from_stack(stack)
    # Then synth says nothing about who publishes
    Annotations.from_stack(stack).has_no_warning("*", NOT_OWNED_WARNING)
