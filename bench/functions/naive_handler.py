"""The naive baseline: a bare loop calling Connect for each record, as the public samples do.

No pacing, no back-pressure, boto3's defaults (the legacy retry mode: up to 5 attempts of any 429), and no
ClientToken: botocore fills in a random one per call, as the API model marks it an idempotency token, so a
redelivered request is a new call. No error handling either, as in the public samples (their handlers have no
try/except around StartOutboundVoiceContact): the first exception fails the whole invocation, SQS redelivers the
whole batch after the visibility timeout, the calls already placed in it included, and moves a message to the
dead-letter queue itself after maxReceiveCount receives. A deployment with a queue (CONNECT_QUEUE_ID) routes every
call to it, as the power-dialer samples do, with no look at its agents.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

connect = boto3.client("connect")


def handler(event: dict[str, Any], context: Any) -> None:
    """Place a call for each record, in order; any failure fails the batch."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        # The benchmark sends half its requests as EventBridge events, whose rule puts the whole event on the queue.
        request = body.get("detail", body)
        params: dict[str, Any] = {
            "DestinationPhoneNumber": request["DestinationPhoneNumber"],
            "ContactFlowId": os.environ["CONNECT_CONTACT_FLOW_ID"],
            "InstanceId": os.environ["CONNECT_INSTANCE_ID"],
            "SourcePhoneNumber": os.environ["CONNECT_SOURCE_PHONE_NUMBER"],
            "Attributes": request.get("Attributes", {}),
        }
        if os.environ.get("CONNECT_QUEUE_ID"):
            params["QueueId"] = os.environ["CONNECT_QUEUE_ID"]
        connect.start_outbound_voice_contact(**params)
