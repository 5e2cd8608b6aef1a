"""The least a Powertools function placing calls does: the yardstick for our function's init and per-record cost.

boto3 and the Powertools Logger imported, one Connect client created at init, one call and one log line per record.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger

logger = Logger()
connect = boto3.client("connect")


def handler(event: dict[str, Any], context: Any) -> dict[str, list[Any]]:
    """Place a call for each record."""
    for record in event["Records"]:
        request = json.loads(record["body"])
        response = connect.start_outbound_voice_contact(
            DestinationPhoneNumber=request["DestinationPhoneNumber"],
            ContactFlowId=os.environ["CONNECT_CONTACT_FLOW_ID"],
            InstanceId=os.environ["CONNECT_INSTANCE_ID"],
            SourcePhoneNumber=os.environ["CONNECT_SOURCE_PHONE_NUMBER"],
            Attributes=request.get("Attributes", {}),
        )
        logger.info("Call placed", extra={"contact_id": response["ContactId"]})
    return {"batchItemFailures": []}
