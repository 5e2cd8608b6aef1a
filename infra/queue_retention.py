"""The dead-letter queues' retention in seconds, the unit SQS's own API takes (the stack gives CDK the function's days).

Pure (no aws_cdk import): the local pipeline creates its dead-letter queue with it.
"""

from __future__ import annotations

from outbound_caller.retention import DEAD_LETTER_QUEUE_RETENTION_DAYS

SECONDS_PER_DAY = 24 * 60 * 60
DEAD_LETTER_QUEUE_RETENTION_SECONDS = DEAD_LETTER_QUEUE_RETENTION_DAYS * SECONDS_PER_DAY
