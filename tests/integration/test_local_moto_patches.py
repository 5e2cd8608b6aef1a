"""local/moto_patches.py: the patched local AWS server answers exactly as unpatched moto, for less work."""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.utils import unix_time

from local.intake import expiring_table_definition
from local.moto_patches import unix_time_of
from local.moto_servers import LocalAws
from local.sdk_environment import local_sdk_environment, scoped_environment
from tests.support import moto_costs

REPO_ROOT = Path(__file__).resolve().parents[2]
# A delay no test outlasts: the delayed message is still delayed when the queue is counted.
LONG_DELAY_SECONDS = 600
Normalised = dict[str, Any]


def _message(message: dict[str, Any]) -> Normalised:
    """What of a received message does not change from one run to the next (no IDs, handles or times)."""
    return {
        "Body": message["Body"],
        "MD5OfBody": message["MD5OfBody"],
        "MD5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "MessageAttributes": message.get("MessageAttributes"),
        "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount"),
    }


def _counts(sqs: Any, queue_url: str) -> dict[str, str]:
    names = ["Messages", "MessagesNotVisible", "MessagesDelayed"]
    attributes = [f"ApproximateNumberOf{name}" for name in names]
    return dict(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=attributes)["Attributes"])


def _error_code(call: Callable[[], Any]) -> str | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return None


def sqs_answers() -> Normalised:
    """Sends to standard and FIFO queues, receives and counts: every answer that could change with the patches."""
    sqs = boto3.client("sqs")
    answers: Normalised = {}
    standard = sqs.create_queue(QueueName="standard")["QueueUrl"]
    attributes = {"Kind": {"DataType": "String", "StringValue": "reminder"}}
    sent = sqs.send_message(QueueUrl=standard, MessageBody="first", MessageAttributes=attributes)
    answers["sent"] = {key: sent.get(key) for key in ("MD5OfMessageBody", "MD5OfMessageAttributes")}
    sqs.send_message(QueueUrl=standard, MessageBody="later", DelaySeconds=LONG_DELAY_SECONDS)
    batch = sqs.send_message_batch(
        QueueUrl=standard, Entries=[{"Id": str(i), "MessageBody": f"batch {i}"} for i in range(3)]
    )
    answers["batch"] = sorted(entry["MD5OfMessageBody"] for entry in batch["Successful"])
    answers["standard counts after sends"] = _counts(sqs, standard)
    received = sqs.receive_message(
        QueueUrl=standard, MaxNumberOfMessages=2, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    answers["received"] = [_message(message) for message in received]
    answers["standard counts after receive"] = _counts(sqs, standard)
    deduplicated = sqs.create_queue(
        QueueName="deduplicated.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body in ("same", "same", "other"):
        sqs.send_message(QueueUrl=deduplicated, MessageBody=body, MessageGroupId="g")
    answers["fifo counts"] = _counts(sqs, deduplicated)
    answers["fifo bodies"] = [
        message["Body"] for message in sqs.receive_message(QueueUrl=deduplicated, MaxNumberOfMessages=10)["Messages"]
    ]
    strict = sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    answers["fifo send without a deduplication ID"] = _error_code(
        lambda: sqs.send_message(QueueUrl=strict, MessageBody="x", MessageGroupId="g")
    )
    answers["standard send with a group"] = _error_code(
        lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", MessageGroupId="g")
    )
    return answers


def forwarded_events() -> list[Normalised]:
    """Events put on a bus and forwarded by a rule to a queue, as the result sink receives them."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="results")
    events.put_rule(Name="to-sink", EventBusName="results", EventPattern=json.dumps({"source": ["caller"]}))
    events.put_targets(Rule="to-sink", EventBusName="results", Targets=[{"Id": "sink", "Arn": arn}])
    for index, detail_type in enumerate(("Outbound Call Placed", "Outbound Call Failed", "Outbound Call Placed")):
        detail = json.dumps({"n": index, "ErrorCode": None if index != 1 else "OutcomeUnknown"})
        events.put_events(
            Entries=[{"Source": "caller", "DetailType": detail_type, "Detail": detail, "EventBusName": "results"}]
        )
    events.put_events(Entries=[{"Source": "other", "DetailType": "x", "Detail": "{}", "EventBusName": "results"}])
    bodies = [
        json.loads(message["Body"])
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    return sorted(
        ({key: value for key, value in body.items() if key not in {"id", "time"}} for body in bodies),
        key=lambda body: str(body["detail"]["n"]),
    )


def index_answers() -> dict[str, Any]:
    """Queries of a table's index by its hash key, as the completion looks a contact up in the ledger: matches, none,
    several sharing the key, a filter, pages, a projection; and the table's own key."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(**expiring_table_definition("ledger", contact_id_index=True))
    for index in range(60):
        item = {"id": {"S": f"call#{index:03d}"}, "attempt": {"N": str(index % 3)}}
        if index % 5:  # every fifth call never reached Connect: not in the sparse index
            item["contact_id"] = {"S": f"contact-{index % 20:02d}"}  # three calls share each contact id
        dynamodb.put_item(TableName="ledger", Item=item)

    def by_contact(contact_id: str, **more: Any) -> Any:
        answer = dynamodb.query(
            TableName="ledger",
            IndexName="by-contact-id",
            KeyConditionExpression="contact_id = :c",
            ExpressionAttributeValues={":c": {"S": contact_id}, **more.pop("values", {})},
            **more,
        )
        return {key: answer.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}

    return {
        "one": by_contact("contact-01"),
        "none": by_contact("contact-99"),
        "filtered": by_contact("contact-02", FilterExpression="attempt = :a", values={":a": {"N": "2"}}),
        "first page": by_contact("contact-03", Limit=2),
        "backwards": by_contact("contact-04", ScanIndexForward=False),
        "projected": by_contact("contact-06", ProjectionExpression="id"),
        "own key": dynamodb.query(
            TableName="ledger", KeyConditionExpression="id = :i", ExpressionAttributeValues={":i": {"S": "call#007"}}
        )["Items"],
    }


def _on_the_patched_server(tmp_path: Path, scenario: Callable[[], Any]) -> Any:
    with LocalAws() as aws, scoped_environment(local_sdk_environment(aws.url, "http://127.0.0.1:9", tmp_path)):
        return scenario()


def _on_unpatched_moto(scenario: Callable[[], Any]) -> Any:
    with mock_aws():
        return scenario()


def test_queues_answer_as_unpatched_moto(tmp_path: Path) -> None:
    # Given the patched local server, and moto as it ships
    # When the same sends, receives and counts go to each, on standard and FIFO queues
    patched = _on_the_patched_server(tmp_path, sqs_answers)
    unpatched = _on_unpatched_moto(sqs_answers)
    # Then every answer is the same: checksums, counts (a delayed message included), deduplication, errors
    assert patched == unpatched
    assert patched["standard counts after sends"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert patched["fifo bodies"] == ["same", "other"]


def test_forwarded_events_arrive_as_unpatched_moto_sends_them(tmp_path: Path) -> None:
    # Given a rule forwarding a bus's events to a queue, on the patched server and on moto as it ships
    # When several events with different details are put, one at a time (each read through the same paths)
    patched = _on_the_patched_server(tmp_path, forwarded_events)
    unpatched = _on_unpatched_moto(forwarded_events)
    # Then each arrives whole and as its own, the same as unpatched moto forwards it
    assert patched == unpatched
    assert [event["detail"]["n"] for event in patched] == [0, 1, 2]
    assert patched[1]["detail-type"] == "Outbound Call Failed"


def test_index_queries_answer_as_unpatched_moto(tmp_path: Path) -> None:
    # Given the ledger's table with its sparse index by contact id, on the patched server and on moto as it ships
    # When it is queried by contact id as the completion does, and in every other way a query may ask
    patched = _on_the_patched_server(tmp_path, index_answers)
    unpatched = _on_unpatched_moto(index_answers)
    # Then every answer is the same: the items, their order, counts, pages, projections
    assert patched == unpatched
    assert patched["one"]["Count"] == 3
    assert patched["none"]["Items"] == []
    assert patched["first page"]["LastEvaluatedKey"] is not None


def test_the_clock_gives_moto_s_own_numbers() -> None:
    # Given moments over the whole range moto's clock may see, microsecond by microsecond
    chance = random.Random(5)
    moments = [0, 1, 999_999, 1_000_000, 86_400_000_000 - 1, *(chance.randrange(4 * 10**15) for _ in range(20_000))]
    # When moto's unix_time and the patch's arithmetic read each
    epoch = datetime.datetime(1970, 1, 1)
    moto_says = [unix_time(epoch + datetime.timedelta(microseconds=moment)) for moment in moments]
    # Then they give the very same floats
    assert [unix_time_of(moment) for moment in moments] == moto_says


def _costs(patched: bool) -> dict[str, int]:
    command = [sys.executable, "-m", "tests.support.moto_costs", *(["--patched"] if patched else [])]
    environment = os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    output = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=True)
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_a_send_does_not_scan_the_queue_and_event_paths_are_parsed_once() -> None:
    # Given moto with and without the patches, and a queue already holding a few hundred messages
    # When one more message is sent to it, and events are forwarded to it
    unpatched, patched = _costs(patched=False), _costs(patched=True)
    # Then unpatched moto checks every message's visibility to send one, the patched server none
    assert unpatched["visibility_checks_per_send"] >= 2 * moto_costs.QUEUE_LENGTH
    assert patched["visibility_checks_per_send"] == 0
    # And unpatched moto builds a parser per path per event, the patched server one per path
    assert unpatched["parsers_built"] == moto_costs.EVENTS_FORWARDED * patched["parsers_built"]
