"""The dead-letter queues' retention in seconds, the unit SQS's own API takes (the stack gives CDK the function's days).

Pure (no aws_cdk import): the local pipeline creates its dead-letter queue with it.
"""

from __future__ import annotations

from outbound_caller.retention import DEAD_LETTER_QUEUE_RETENTION_DAYS

SECONDS_PER_DAY = 24 * 60 * 60
DEAD_LETTER_QUEUE_RETENTION_SECONDS = DEAD_LETTER_QUEUE_RETENTION_DAYS * SECONDS_PER_DAY

# Receives of one waiting request before SQS moves it to the room's dead-letter queue. A draw receives one request
# at a time and deletes it once it is in the source queue, so only draws that failed (the source queue refusing it)
# count: ten is ten minutes of ticks failing on it, after which it stops holding its FIFO group (and every tick) up.
WAITING_ROOM_MAX_RECEIVE_COUNT = 10
