"""The local Connect endpoint, called through an unmodified boto3 client: the REST-JSON protocol botocore reads.

What the instance decides is in test_local_connect_rules.py, what it records in test_local_connect_instance.py,
the faults injected after a contact is created in test_local_connect_faults.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.connect_rules import PLACED
from tests.support.local_connect import (
    CALLABLE,
    INSTANCE_ID,
    REFUSED,
    UNGRANTED_FLOW_ID,
    call,
    error_of,
)


def test_a_call_is_placed_and_botocore_parses_the_contact_id(serve: Any) -> None:
    # Given a local Connect
    endpoint, client = serve()
    # When a valid request is sent through boto3
    response = call(client, Attributes={"request_id": "r-1"})
    # Then botocore parses a ContactId, and the instance recorded exactly that call with the request's attributes
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    [placed] = endpoint.instance.placed_calls
    assert response["ContactId"] == placed.contact_id
    assert placed.destination == CALLABLE
    assert placed.attributes == {"request_id": "r-1"}
    assert endpoint.instance.stats.responses == {PLACED: 1}
    assert endpoint.instance.stats.contacts_created == 1


def test_errors_arrive_as_client_errors_with_the_modelled_code_and_status(serve: Any) -> None:
    # Given an instance that refuses a prefix and does not grant one flow
    _, client = serve(denied_contact_flow_ids=frozenset({UNGRANTED_FLOW_ID}))
    # When requests meet each permanent error
    # Then botocore raises ClientError with the code from x-amzn-ErrorType and the model's status
    assert error_of(client, REFUSED) == ("DestinationNotAllowedException", 403)
    assert error_of(client, ContactFlowId=UNGRANTED_FLOW_ID) == ("AccessDeniedException", 403)
    assert error_of(client, InstanceId="99999999-0000-0000-0000-000000000000") == ("ResourceNotFoundException", 404)
    assert error_of(client, SourcePhoneNumber=None) == ("InvalidRequestException", 400)


def test_other_operations_are_unknown(serve: Any) -> None:
    # Given a local Connect
    _, client = serve()
    # When boto3 calls an operation it does not serve
    with pytest.raises(ClientError) as raised:
        client.stop_contact(ContactId="c", InstanceId=INSTANCE_ID)
    # Then the answer is a 404 UnknownOperationException rather than a hang or a crash
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"
