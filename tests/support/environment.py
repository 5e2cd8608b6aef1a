"""The function configuration every test runs with (the values moto will answer to)."""

from __future__ import annotations

INSTANCE_ID = "11111111-2222-4333-8444-555555555555"
DEFAULT_FLOW_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
EXTRA_FLOW_ID = "ffffffff-1111-4222-8333-444444444444"
QUEUE_ID = "99999999-8888-4777-8666-555555555555"
SOURCE_NUMBER = "+15550100000"
# A caller ID requests may name beyond the default (a London number of the examples).
EXTRA_SOURCE_NUMBER = "+442071838750"
DLQ_NAME = "outbound-call-requests-dlq"
# moto's queue URL for DLQ_NAME in its default account and Region.
DLQ_URL = f"https://sqs.us-east-1.amazonaws.com/123456789012/{DLQ_NAME}"
IDEMPOTENCY_TABLE = "outbound-calls-placed"
# The secret keying the MAC of the function's own message attributes (created in moto by the tests that need it).
SIGNING_SECRET_NAME = "connect-outbound-caller/message-signing-key"
SIGNING_KEY = "test-message-signing-key"
# The queue the records come from (lambda_events.QUEUE_ARN): deferred requests are sent back there.
SOURCE_QUEUE_NAME = "outbound-call-requests"
SOURCE_QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/123456789012/{SOURCE_QUEUE_NAME}"

FUNCTION_ENVIRONMENT = {
    "CONNECT_INSTANCE_ID": INSTANCE_ID,
    "CONNECT_CONTACT_FLOW_ID": DEFAULT_FLOW_ID,
    "CONNECT_ALLOWED_CONTACT_FLOW_IDS": EXTRA_FLOW_ID,
    "CONNECT_SOURCE_PHONE_NUMBER": SOURCE_NUMBER,
    "CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS": EXTRA_SOURCE_NUMBER,
    "CONNECT_ALLOWED_QUEUE_IDS": QUEUE_ID,
    "ALLOW_RELATED_CONTACT": "true",
    "DEAD_LETTER_QUEUE_URL": DLQ_URL,
    "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
    "MESSAGE_SIGNING_KEY_SECRET_ID": SIGNING_SECRET_NAME,
    # Fast enough that pacing never slows the suite; pacing itself is tested with a fake clock.
    "CALLS_PER_SECOND": "10000",
    "MAX_CONCURRENCY": "2",
    "MAX_RECEIVE_COUNT": "5",
    "POWERTOOLS_SERVICE_NAME": "connect-outbound-caller",
    "POWERTOOLS_METRICS_NAMESPACE": "ConnectOutboundCallerTests",
}
