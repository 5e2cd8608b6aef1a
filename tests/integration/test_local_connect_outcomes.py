"""How the local Connect's calls turn out, as DescribeContact tells it through an unmodified boto3 client: scripted
destinations, shares of a draw, answering-machine statuses only when detection was asked for, and disconnect facts
only once a call has ended."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.connect_outcomes import OutcomeMix
from tests.support.local_connect import (
    INSTANCE_ID,
    PAST_SHORT_CALL_SECONDS,
    SHORT_CALL_SECONDS,
    call,
    described,
)

RINGS_OUT_FIRST = "+12125550150"
BUSY = "+12125550141"
VOICEMAIL = "+12125550131"
INVALID = "+12125550121"
DETECTION = {"TrafficType": "CAMPAIGN", "AnswerMachineDetectionConfig": {"EnableAnswerMachineDetection": True}}


def test_scripted_destinations_tell_their_story_once_the_call_has_ended(serve: Any) -> None:
    # Given a local Connect whose calls and rings are short
    _, client = serve(call_duration_seconds=SHORT_CALL_SECONDS, outcomes=OutcomeMix(ring_seconds=SHORT_CALL_SECONDS))
    # When each scripted destination is called (the first twice), answering-machine detection asked for on some
    first, second = call(client, RINGS_OUT_FIRST), None
    busy, voicemail, invalid = call(client, BUSY), call(client, VOICEMAIL, **DETECTION), call(client, INVALID)
    in_progress = described(client, voicemail)
    time.sleep(PAST_SHORT_CALL_SECONDS)
    second = call(client, RINGS_OUT_FIRST, **DETECTION)
    # Then a call in progress has no disconnect facts yet, but a machine's answer is known as it connects
    assert "DisconnectReason" not in in_progress
    assert "DisconnectTimestamp" not in in_progress
    assert in_progress["AnsweringMachineDetectionStatus"] == "VOICEMAIL_BEEP"
    time.sleep(PAST_SHORT_CALL_SECONDS)
    stories = {
        name: described(client, response)
        for name, response in [("first", first), ("second", second), ("busy", busy), ("invalid", invalid)]
    }
    # And once ended, each has Connect's codes: the first call to the number rang out, the second was answered
    assert stories["first"]["DisconnectReason"] == "TELECOM_UNANSWERED"
    assert "ConnectedToSystemTimestamp" not in stories["first"]
    assert "AnsweringMachineDetectionStatus" not in stories["first"]  # detection was not asked for
    assert stories["second"]["AnsweringMachineDetectionStatus"] == "HUMAN_ANSWERED"
    assert stories["second"]["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    assert stories["second"]["ConnectedToSystemTimestamp"] is not None
    assert stories["busy"]["DisconnectReason"] == "TELECOM_BUSY"
    assert stories["invalid"]["DisconnectReason"] == "TELECOM_NUMBER_INVALID"
    # And DescribeContact never returns the customer's number
    assert all("CustomerEndpoint" not in story for story in stories.values())


def test_shares_of_the_draw_give_the_mix_asked_for(serve: Any) -> None:
    # Given an instance where 20% of calls ring out and 10% are busy, seeded
    endpoint, client = serve(seed=7, outcomes=OutcomeMix(no_answer_rate=0.2, busy_rate=0.1))
    # When 1,000 ordinary numbers are called
    for _ in range(1000):
        call(client)
    # Then about those shares turned out so, and the rest were answered
    outcomes = Counter(placed.story.outcome for placed in endpoint.instance.placed_calls)
    assert 160 <= outcomes["NoAnswer"] <= 240
    assert 70 <= outcomes["Busy"] <= 130
    assert outcomes["Answered"] == 1000 - outcomes["NoAnswer"] - outcomes["Busy"]


def test_an_unknown_contact_is_not_found(serve: Any) -> None:
    _, client = serve()
    with pytest.raises(ClientError) as raised:
        client.describe_contact(InstanceId=INSTANCE_ID, ContactId="00000000-0000-4000-8000-000000000000")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({"no_answer_rate": 1.5}, "between 0 and 1"),
        ({"no_answer_rate": 0.6, "busy_rate": 0.6}, "must not exceed 1"),
        ({"ring_seconds": -1}, "ring_seconds"),
    ],
)
def test_an_impossible_mix_is_refused(shares: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OutcomeMix(**shares)
