"""Property: whatever a hostile producer puts in a record's body and attributes, every record of the batch ends with
exactly one outcome and one log line saying so, every log line is written, and no phone number's digits reach a log.

The bodies are what an attacker would try: JSON nested thousands deep, lone surrogates and control characters in
tokens and envelope ids, archive replays, envelopes that only look like EventBridge or SNS, phone numbers in every
field. The attributes are the function's own names with forged values (far-future times, numbers of thousands of
digits, confirmations), with no MAC, a garbage one, or the function's real one over malformed values.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import DLQ_URL
from tests.support.lambda_events import signed_sqs_record, sqs_record

# Phone numbers of a shape libphonenumber parses, unlike any other digits the function logs.
PHONE_NUMBERS = ["+14155550123", "+442071838750", "+61412345678", "+33612345678"]
STEERING = [
    "ClientToken",
    "SourceMessageId",
    "FirstArrivalTime",
    "DeferralCount",
    "DeferralReason",
    "DeferredUntil",
    "ErrorCode",
    "OutcomeUnknownAttempt",
    "Attempt",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(PHONE_NUMBERS),
    st.sampled_from(
        ["9999-12-31T00:00:00+00:00", "OutcomeUnknown", "1", "0", "-1", "9" * 5000, "\u0001", "call +1 415"]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
requests = st.fixed_dictionaries(
    {"DestinationPhoneNumber": st.sampled_from(PHONE_NUMBERS) | hostile_text},
    optional={
        "ClientToken": hostile_text,
        "Attributes": st.dictionaries(st.from_regex(r"\A[a-z]{1,8}\Z"), hostile_text, max_size=3),
        "Name": hostile_text,
        "Description": hostile_text,
        "RingTimeoutInSeconds": st.integers(0, 100),
        "NotBefore": hostile_text,
        "ExpiresAt": hostile_text,
    },
)
# Raw text that json.dumps would never produce: escapes of lone surrogates, control characters, depth.
raw_hostile = st.one_of(
    st.integers(1, 12_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 12_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(
        [
            '{"DestinationPhoneNumber": "+14155550123", "ClientToken": "\\ud800"}',
            '{"detail-type": "x", "detail": {"DestinationPhoneNumber": "+14155550123"}, "id": "\\udfff"}',
            '{"detail-type": "x", "detail": {"DestinationPhoneNumber": "+14155550123"}, "id": "a\\u0000b"}',
            '{"Type": "Notification", "TopicArn": "t", "MessageId": "\\ud800", "Message": "{}"}',
        ]
    ),
)


def _eventbridge(detail: Any, event_id: str, replay: bool) -> str:
    event = {"version": "0", "id": event_id, "detail-type": "Outbound Call Requested", "source": "x", "detail": detail}
    if replay:
        event["replay-name"] = "replay"
    return json.dumps(event)


def _sns(message: str, message_id: str) -> str:
    return json.dumps({"Type": "Notification", "TopicArn": "arn:t", "MessageId": message_id, "Message": message})


bodies = st.one_of(
    hostile_text,
    raw_hostile,
    json_values.map(json.dumps),
    requests.map(json.dumps),
    st.builds(_eventbridge, requests | json_values, hostile_text, st.booleans()),
    st.builds(_sns, requests.map(json.dumps) | hostile_text, hostile_text),
)
attributes = st.dictionaries(st.sampled_from(STEERING) | st.text(min_size=1, max_size=8), hostile_text, max_size=5)
# How a record's attributes are presented: as a producer sets them, with a garbage MAC, or under the function's MAC.
presentations = st.sampled_from(["producer", "garbage-mac", "signed"])
connect_answers = st.sampled_from([None, "DestinationNotAllowedException", "ThrottlingException"])


def _record(body: str, message_id: str, attrs: dict[str, str], presentation: str) -> dict[str, Any]:
    clean = {name: value for name, value in attrs.items() if value}  # SQS refuses empty attribute values
    if presentation == "signed":
        # Under its MAC, the token and the first message's ID are the function's own (IDs, never personal data)
        clean |= {name: str(uuid.uuid4()) for name in ("ClientToken", "SourceMessageId") if name in clean}
        return signed_sqs_record(body, message_id=message_id, attributes=clean)
    if presentation == "garbage-mac":
        clean["CallerSignature"] = "hmac-sha256-v1:" + "0" * 64
    return sqs_record(body, message_id=message_id, attributes=clean)


# A run of digits as a phone number may be written: single spaces, dots, dashes or parentheses between them.
_DIGIT_RUN = re.compile(r"\d(?:[\s().-]?\d)*")


def _digits_leaked(text: str) -> list[str]:
    """The phone numbers whose digits, all but the last four (masking keeps those), appear in a run of ``text``."""
    runs = [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(text)]
    return [number for number in PHONE_NUMBERS if any(re.sub(r"\D", "", number)[:-4] in run for run in runs)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(bodies, attributes, presentations, connect_answers), min_size=1, max_size=6))
def test_every_hostile_record_ends_with_one_outcome_and_leaks_no_number(
    invoke: Any,
    connect: ConnectStub,
    no_backoff: None,
    deferred: Any,
    log_lines: Any,
    capsys: pytest.CaptureFixture[str],
    batch: list[tuple[str, dict[str, str], str, str | None]],
) -> None:
    # Given a batch of hostile records (fresh message IDs per example: the ledger outlives examples)
    prefix = uuid.uuid4().hex[:8]
    connect.rules[:] = []
    connect.hang_up_all()
    answers = [answer for _, _, _, answer in batch]
    connect.rules.append(lambda request: _answer_for(request, answers))
    records = [_record(body, f"{prefix}-{i}", attrs, how) for i, (body, attrs, how, _) in enumerate(batch)]
    ids = {record["messageId"] for record in records}
    capsys.readouterr()
    before = len(log_lines())
    # When the handler runs
    response = invoke(*records)
    # Then every record is exactly one of: retried, dead-lettered, placed, deferred
    retried = failed_ids(response)
    dead = _drain_dead_letters()
    sent_back = {message["SourceMessageId"] for message in deferred()} & ids
    lines = log_lines()[before:]
    outcome_lines = [line for line in lines if "outcome" in line]
    by_record = {line.get("message_id") for line in outcome_lines}
    assert ids <= by_record | dead | sent_back | retried
    assert len(outcome_lines) == len(records)
    assert {line["message_id"] for line in outcome_lines} == ids
    assert not retried & dead
    assert not retried & sent_back
    assert not dead & sent_back
    # and every log line was written (no logging error), and none shows a phone number's digits
    output = capsys.readouterr()
    assert "Logging error" not in output.err
    assert _digits_leaked(json.dumps(lines)) == []
    assert _digits_leaked(output.out) == []


def _answer_for(request: dict[str, Any], answers: list[str | None]) -> ConnectError | None:
    """Connect answers each call by the record it came from, when the token names it (else it places it)."""
    for index, answer in enumerate(answers):
        if answer and str(request.get("ClientToken", "")).endswith(f"-{index}"):
            return ConnectError(answer)
    return None


def _drain_dead_letters() -> set[str]:
    """The SourceMessageIds of every message in the dead-letter queue, removed from it."""
    sqs = boto3.client("sqs")
    named: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=DLQ_URL, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            assert not _digits_leaked(json.dumps(message.get("MessageAttributes", {}))), "a number in DLQ attributes"
            named.add(message["MessageAttributes"]["SourceMessageId"]["StringValue"])
            sqs.delete_message(QueueUrl=DLQ_URL, ReceiptHandle=message["ReceiptHandle"])
    return named
