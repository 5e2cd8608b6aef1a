"""Context values the settings tests start from (the least a deployment needs, with cdk.json's placeholder IDs), and
the stack's resources they build the function's environment with."""

from __future__ import annotations

INSTANCE = "00000000-0000-0000-0000-000000000000"
FLOW = "11111111-1111-1111-1111-111111111111"
MINIMAL = {"connectInstanceId": INSTANCE, "connectContactFlowId": FLOW, "sourcePhoneNumber": "+15555550100"}

DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq"
SOURCE_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/requests"
SIGNING_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf"
