"""Phone numbers, attribute values and producers' free text never reach logs, metrics or dead-letter attributes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.support.connect_stub import ConnectError, ConnectStub
from tests.support.environment import EXTRA_SOURCE_NUMBER
from tests.support.lambda_events import eventbridge_body, sqs_record

SECRETS = {
    "placed": "+14155550123",
    "refused": "+447700900123",
    "throttled": "+33142685300",
    "unreachable": "+33142685399",
    "caller_id": EXTRA_SOURCE_NUMBER,
    "too_long": "+1415555012345678",
    "in_token": "+12025550199",
}
ATTRIBUTE_VALUE = "Ada Lovelace, 12 Crescent Road"
# A producer's free text: a token and an attribute key that name a person.
FREE_TEXT = {"token": "jane.doe@example.com-1", "key": "ada.lovelace@example.com"}


@pytest.mark.usefixtures("no_backoff")
def test_no_phone_number_or_attribute_value_is_ever_written(
    invoke: Any,
    connect: ConnectStub,
    dead_letters: Any,
    deferred: Any,
    log_lines: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given placed, refused (with Connect quoting the number), throttled and invalid requests,
    # all carrying personal attribute values
    connect.fail_destination(
        SECRETS["refused"], ConnectError("DestinationNotAllowedException", f"{SECRETS['refused']} not allowed")
    )
    connect.fail_destination(SECRETS["throttled"], ConnectError("ThrottlingException", status=429))
    connect.fail_destination(SECRETS["unreachable"], EndpointConnectionError(endpoint_url="https://connect"))
    attributes = {"customer": ATTRIBUTE_VALUE}

    def request(number: str) -> dict[str, Any]:
        return {"DestinationPhoneNumber": number, "SourcePhoneNumber": SECRETS["caller_id"], "Attributes": attributes}

    records = [
        sqs_record(json.dumps(request(SECRETS["placed"]))),
        sqs_record(eventbridge_body(request(SECRETS["refused"]))),
        sqs_record(json.dumps(request(SECRETS["unreachable"]))),
        sqs_record(json.dumps(request(SECRETS["too_long"]))),
        sqs_record(json.dumps({**request(SECRETS["placed"]), "Attributes": {"bad key": ATTRIBUTE_VALUE}})),
        sqs_record(json.dumps({**request(SECRETS["placed"]), "ClientToken": f"callback-{SECRETS['in_token']}"})),
        sqs_record(json.dumps({**request(SECRETS["refused"]), "ClientToken": FREE_TEXT["token"]})),
        sqs_record(json.dumps({**request(SECRETS["placed"]), "Attributes": {FREE_TEXT["key"]: ATTRIBUTE_VALUE}})),
        # Last: back-pressure stops the rest of a batch.
        sqs_record(json.dumps({**request(SECRETS["throttled"]), "ClientToken": FREE_TEXT["token"] + "-later"})),
    ]
    # When the handler runs
    invoke(*records)
    # Then all three outcomes happened
    written_logs = json.dumps(log_lines())
    assert {line["outcome"] for line in log_lines() if "outcome" in line} == {
        "placed",
        "dead_lettered",
        "retried",
        "deferred",
    }
    # And no log line, metric, dead-letter or deferral attribute holds a full number or an attribute value
    letters = dead_letters()
    assert len(letters) == 5
    sent = [*letters, *deferred()]
    assert len(sent) == 6
    attributes_written = json.dumps([{k: v for k, v in message.items() if k != "body"} for message in sent])
    printed = capsys.readouterr()
    for text in (written_logs, printed.out, printed.err, attributes_written):
        for number in SECRETS.values():
            assert number.lstrip("+") not in text
        assert ATTRIBUTE_VALUE not in text
        for free_text in FREE_TEXT.values():
            assert free_text not in text
    # But the dead-letter bodies are the original requests, unchanged, so operators can redrive them
    assert all(ATTRIBUTE_VALUE in letter["body"] for letter in letters)
