"""preflight's checks of the Connect instance: moto's Connect for the instance, botocore's Stubber for the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.settings import PLACEHOLDER_INSTANCE_ID
from preflight.caller_id import check_caller_id
from preflight.instance import check_flows, check_instance
from preflight.result import Status
from tests.support.preflight_target import FLOW_ID, INSTANCE_ID, REGION, SOURCE_NUMBER, clients, stubbed, target

QUEUE_ID = "22222222-2222-4222-8222-222222222222"
OTHER_FLOW_ID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def moto_connect() -> Iterator[Any]:
    """moto's Amazon Connect, which serves CreateInstance and DescribeInstance."""
    with mock_aws():
        yield boto3.client("connect", region_name=REGION)


def _instance(connect: Any, *, outbound: bool) -> str:
    return str(
        connect.create_instance(
            IdentityManagementType="CONNECT_MANAGED", InboundCallsEnabled=True, OutboundCallsEnabled=outbound
        )["Id"]
    )


def test_an_active_instance_with_outbound_calls_passes(moto_connect: Any) -> None:
    # Given an instance that may place outbound calls
    instance_id = _instance(moto_connect, outbound=True)

    # When preflight checks it
    [result] = check_instance(clients(connect=moto_connect), target(connectInstanceId=instance_id))

    # Then it passes, naming the instance
    assert result.status is Status.OK
    assert instance_id in result.message
    assert "outbound calls enabled" in result.message


def test_an_instance_without_outbound_calls_fails_saying_where_to_turn_them_on(moto_connect: Any) -> None:
    # Given an instance created with outbound calls off
    instance_id = _instance(moto_connect, outbound=False)

    # When preflight checks it
    [result] = check_instance(clients(connect=moto_connect), target(connectInstanceId=instance_id))

    # Then it fails and says where the switch is
    assert result.status is Status.FAIL
    assert f"instance {instance_id} has outbound calls disabled" in result.message
    assert "Telephony" in result.message


def test_an_instance_that_is_not_there_fails_naming_account_and_region(moto_connect: Any) -> None:
    # Given no instance with the configured ID in this account and Region
    # When preflight checks it
    [result] = check_instance(clients(connect=moto_connect), target())

    # Then it fails, naming the ID, the account and the Region
    assert result.status is Status.FAIL
    assert f"instance {INSTANCE_ID} not found in account 123456789012, Region {REGION}" in result.message


def test_the_placeholder_instance_id_fails_without_calling_connect() -> None:
    # Given cdk.json's placeholder instance ID, and a Connect client that refuses any call
    # When preflight checks it
    [result] = check_instance(clients(), target(connectInstanceId=PLACEHOLDER_INSTANCE_ID))

    # Then it fails at once, saying which key to set
    assert result.status is Status.FAIL
    assert "connectInstanceId is still the placeholder" in result.message


def test_an_instance_still_being_created_fails() -> None:
    # Given an instance Connect is still creating
    connect, stubber = stubbed("connect")
    stubber.add_response(
        "describe_instance",
        {"Instance": {"Id": INSTANCE_ID, "InstanceStatus": "CREATION_IN_PROGRESS", "OutboundCallsEnabled": True}},
        {"InstanceId": INSTANCE_ID},
    )

    # When preflight checks it
    [result] = check_instance(clients(connect=connect), target())

    # Then it fails, saying its status
    assert result.status is Status.FAIL
    assert "is CREATION_IN_PROGRESS, not ACTIVE" in result.message


def test_credentials_that_may_not_describe_the_instance_fail_naming_the_permission() -> None:
    # Given credentials Connect refuses
    connect, stubber = stubbed("connect")
    stubber.add_client_error("describe_instance", "AccessDeniedException", http_status_code=403)

    # When preflight checks the instance
    [result] = check_instance(clients(connect=connect), target())

    # Then it fails, naming the permission it needs
    assert result.status is Status.FAIL
    assert "connect:DescribeInstance" in result.message


def _flow(flow_id: str, **fields: Any) -> dict[str, Any]:
    published = {"Type": "CONTACT_FLOW", "State": "ACTIVE", "Status": "PUBLISHED"}
    return {"ContactFlow": {"Id": flow_id, "Name": "Outbound greeting", **published, **fields}}


def _check_flows(*answers: Any, **context: Any) -> list[Any]:
    connect, stubber = stubbed("connect")
    for flow_id, answer in answers:
        params = {"InstanceId": INSTANCE_ID, "ContactFlowId": flow_id}
        if isinstance(answer, str):
            stubber.add_client_error("describe_contact_flow", answer, expected_params=params)
        else:
            stubber.add_response("describe_contact_flow", answer, params)
    results = check_flows(clients(connect=connect), target(**context))
    stubber.assert_no_pending_responses()
    return results


def test_published_contact_flows_pass_the_default_and_each_allowed_one() -> None:
    # Given the default flow and one allowed flow, both active, published contact flows
    # When preflight checks the flows
    results = _check_flows(
        (FLOW_ID, _flow(FLOW_ID)), (OTHER_FLOW_ID, _flow(OTHER_FLOW_ID)), allowedContactFlowIds=OTHER_FLOW_ID
    )

    # Then each passes, named with its context key
    assert [result.status for result in results] == [Status.OK, Status.OK]
    assert f"contact flow {FLOW_ID} (connectContactFlowId) 'Outbound greeting'" in results[0].message
    assert f"contact flow {OTHER_FLOW_ID} (allowedContactFlowIds)" in results[1].message


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_flow(FLOW_ID, Type="CUSTOMER_QUEUE"), "is of type CUSTOMER_QUEUE"),
        (_flow(FLOW_ID, Status="SAVED"), "is SAVED, not published: publish it"),
        (_flow(FLOW_ID, State="ARCHIVED"), "is ARCHIVED: restore it"),
        ("ContactFlowNotPublishedException", "is not published: publish it"),
        ("ResourceNotFoundException", f"not found in instance {INSTANCE_ID}: check connectContactFlowId"),
    ],
)
def test_a_flow_the_function_cannot_start_fails_saying_why(answer: Any, expected: str) -> None:
    # Given a default flow that is of the wrong type, unpublished, archived or missing
    # When preflight checks the flows
    [result] = _check_flows((FLOW_ID, answer))

    # Then it fails, saying what is wrong with which flow
    assert result.status is Status.FAIL
    assert f"contact flow {FLOW_ID}" in result.message
    assert expected in result.message


def _claimed(*numbers: str) -> dict[str, Any]:
    arn = f"arn:aws:connect:{REGION}:123456789012:instance/{INSTANCE_ID}"
    summaries = [{"PhoneNumberId": f"id-{n[-4:]}", "PhoneNumber": n, "TargetArn": arn} for n in numbers]
    return {"ListPhoneNumbersSummaryList": summaries}


def test_a_caller_id_claimed_by_the_instance_passes_and_is_shown_masked() -> None:
    # Given the instance has claimed the configured caller ID
    connect, stubber = stubbed("connect")
    instance_arn = f"arn:aws:connect:{REGION}:123456789012:instance/{INSTANCE_ID}"
    stubber.add_response("list_phone_numbers_v2", _claimed("+442071234567", SOURCE_NUMBER), {"TargetArn": instance_arn})

    # When preflight checks the caller ID
    [result] = check_caller_id(clients(connect=connect), target())

    # Then it passes, and the number appears only masked
    assert result.status is Status.OK
    assert "caller ID +*******0100 (sourcePhoneNumber) is claimed" in result.message
    assert SOURCE_NUMBER not in result.message


def test_a_caller_id_the_instance_has_not_claimed_fails_masked() -> None:
    # Given the instance has claimed another number only, and an allowed number it has not claimed either
    connect, stubber = stubbed("connect")
    stubber.add_response("list_phone_numbers_v2", _claimed("+442071234567"))

    # When preflight checks the caller IDs
    results = check_caller_id(clients(connect=connect), target(allowedSourcePhoneNumbers="+15555550199"))

    # Then both fail, each named by its key, masked
    assert [result.status for result in results] == [Status.FAIL, Status.FAIL]
    assert "caller ID +*******0100 (sourcePhoneNumber) is not claimed by instance" in results[0].message
    assert "(allowedSourcePhoneNumbers)" in results[1].message
    assert all("555555" not in result.message for result in results)


def _queue(caller_id: str | None) -> dict[str, Any]:
    config = {"OutboundCallerIdNumberId": caller_id} if caller_id else {}
    return {"Queue": {"QueueId": QUEUE_ID, "Name": "Outbound", "OutboundCallerConfig": config}}


def test_a_queue_with_an_outbound_caller_id_passes_without_a_source_number() -> None:
    # Given no sourcePhoneNumber and a queue whose outbound caller ID is set
    connect, stubber = stubbed("connect")
    stubber.add_response("describe_queue", _queue("number-id"), {"InstanceId": INSTANCE_ID, "QueueId": QUEUE_ID})

    # When preflight checks the caller ID
    [result] = check_caller_id(
        clients(connect=connect),
        target(sourcePhoneNumber="", connectQueueId=QUEUE_ID, allowedDestinationCountries="US"),
    )

    # Then it passes
    assert result.status is Status.OK
    assert f"queue {QUEUE_ID} (connectQueueId) 'Outbound' has an outbound caller ID number" in result.message


def test_a_queue_without_an_outbound_caller_id_fails_when_it_is_the_only_caller_id() -> None:
    # Given no sourcePhoneNumber and a queue without an outbound caller ID
    connect, stubber = stubbed("connect")
    stubber.add_response("describe_queue", _queue(None))

    # When preflight checks the caller ID
    [result] = check_caller_id(
        clients(connect=connect),
        target(sourcePhoneNumber="", connectQueueId=QUEUE_ID, allowedDestinationCountries="US"),
    )

    # Then it fails, saying both ways to fix it
    assert result.status is Status.FAIL
    assert "has no outbound caller ID number and sourcePhoneNumber is not set" in result.message
    assert "Routing → Queues" in result.message
