"""A function for testing deaths injected at the function's own AWS requests: each record's JSON body names one.

{"do": "call", "destination": "+1..."} places a call with Connect's StartOutboundVoiceContact, the record's
messageId as its ClientToken. {"do": "record", "table": t, "key": k, "client": c} sets the item's status to
"completed" with DynamoDB UpdateItem, through a client of boto3's default session (c = "default", as
boto3.client() makes) or of a session of its own (c = "own_session", as Powertools' persistence layer makes).
Clients are created at init, as the real function creates its own, and find their endpoints through the standard
AWS_ENDPOINT_URL_<SERVICE> variables.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

# The local Connect accepts any instance and flow unless told otherwise; these only have to be well-formed.
INSTANCE_ID = "00000000-0000-0000-0000-000000000000"
CONTACT_FLOW_ID = "11111111-1111-1111-1111-111111111111"
SOURCE_PHONE_NUMBER = "+15555550199"  # NANP range reserved for fiction
ITEM_KEY = "pk"

connect = boto3.client("connect")
dynamodb = {"default": boto3.client("dynamodb"), "own_session": boto3.session.Session().client("dynamodb")}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Make each record's request; any failure fails the invocation."""
    for record in event["Records"]:
        action = json.loads(record["body"])
        if action["do"] == "call":
            connect.start_outbound_voice_contact(
                DestinationPhoneNumber=action["destination"],
                ContactFlowId=CONTACT_FLOW_ID,
                InstanceId=INSTANCE_ID,
                SourcePhoneNumber=SOURCE_PHONE_NUMBER,
                ClientToken=record["messageId"],
            )
        elif action["do"] == "record":
            dynamodb[action["client"]].update_item(
                TableName=action["table"],
                Key={ITEM_KEY: {"S": action["key"]}},
                UpdateExpression="SET #status = :completed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":completed": {"S": "completed"}},
            )
    return {"batchItemFailures": []}
