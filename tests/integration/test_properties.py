"""Property: whatever a producer puts in a body, the batch completes and each record gets one outcome."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import DLQ_URL
from tests.support.lambda_events import eventbridge_body, sns_body, sqs_record

MEMBERS = [
    "DestinationPhoneNumber",
    "ContactFlowId",
    "InstanceId",
    "SourcePhoneNumber",
    "QueueId",
    "Attributes",
    "Name",
    "Description",
    "References",
    "RelatedContactId",
    "ClientToken",
    "RingTimeoutInSeconds",
    "TrafficType",
    "CampaignId",
    "AnswerMachineDetectionConfig",
    "OutboundStrategy",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
phone_numbers = st.from_regex(r"\A\+[1-9][0-9]{1,14}\Z") | st.text(max_size=20)
requests = st.fixed_dictionaries(
    {"DestinationPhoneNumber": phone_numbers},
    optional=dict.fromkeys(MEMBERS[1:], json_values)
    | {"RingTimeoutInSeconds": st.integers(0, 100), "TrafficType": st.sampled_from(["GENERAL", "CAMPAIGN", "x"])},
)
bodies = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    requests.map(json.dumps),
    requests.map(eventbridge_body),
    requests.map(lambda request: sns_body(json.dumps(request))),
)
connect_answers = st.sampled_from(
    [None, "DestinationNotAllowedException", "ThrottlingException", "InternalServiceException", "AccessDeniedException"]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(bodies, connect_answers), min_size=1, max_size=8))
def test_every_record_ends_placed_dead_lettered_deferred_or_retried(
    invoke: Any, connect: ConnectStub, no_backoff: None, deferred: Any, batch: list[tuple[str, str | None]]
) -> None:
    # Given a batch of arbitrary bodies, and Connect answering each call in some way
    # (message IDs are fresh per example: the idempotency table outlives examples)
    prefix = uuid.uuid4().hex[:8]
    answers = {f"{prefix}-{i}": answer for i, (_, answer) in enumerate(batch)}
    connect.rules[:] = []
    connect.contacts.clear()
    connect.hang_up_all()
    connect.rules.append(
        lambda request: ConnectError(answers[request["ClientToken"]]) if answers.get(request["ClientToken"]) else None
    )
    records = [sqs_record(body, message_id=f"{prefix}-{i}") for i, (body, _) in enumerate(batch)]
    # Force every delivery to use its SQS messageId as token, so answers can be matched to records
    for record in records:
        record["body"] = _with_token(record["body"], record["messageId"])
    # When the handler runs
    response = invoke(*records)
    # Then every record is exactly one of: retried, dead-lettered, placed, deferred (throttled beyond in-call retries,
    # or the rest of a batch that met back-pressure)
    retried = failed_ids(response)
    sqs = boto3.client("sqs")
    dead: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=DLQ_URL, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            dead.add(message["MessageAttributes"]["SourceMessageId"]["StringValue"])
            sqs.delete_message(QueueUrl=DLQ_URL, ReceiptHandle=message["ReceiptHandle"])
    placed = set(connect.placed)
    ids = {record["messageId"] for record in records}
    # (the source queue keeps earlier examples' deferrals: their messageIds have another prefix)
    later = {message["SourceMessageId"] for message in deferred()} & ids
    assert retried | dead | placed | later == ids
    outcomes = [retried, dead, placed, later]
    assert all(not a & b for i, a in enumerate(outcomes) for b in outcomes[i + 1 :])


def _with_token(body: str, token: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    if isinstance(data.get("detail"), dict):
        data["detail"]["ClientToken"] = token
    elif isinstance(data.get("Message"), str) and data.get("Type") == "Notification":
        try:
            inner = json.loads(data["Message"])
        except ValueError:
            return body
        if isinstance(inner, dict):
            inner["ClientToken"] = token
            data["Message"] = json.dumps(inner)
    else:
        data["ClientToken"] = token
    return json.dumps(data)
