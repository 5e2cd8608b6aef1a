"""How long a request can come back, so the placed-calls ledger remembers its call at least that long.

The stack sets the queues' retention from these same constants (infra/intake.py).
"""

from __future__ import annotations

_DAY_SECONDS = 24 * 60 * 60
# SQS's default retention, stated explicitly: shorter than the dead-letter queue's, so a redriven message still
# has time left there.
SOURCE_QUEUE_RETENTION_DAYS = 4
# SQS's maximum retention: dead-lettered requests are kept as long as SQS allows.
DEAD_LETTER_QUEUE_RETENTION_DAYS = 14
# A request the function last saw can sit up to the dead-letter queue's retention there, then be redriven and
# wait up to the source queue's retention again before it is delivered.
PLACED_CALL_KEPT_SECONDS = (SOURCE_QUEUE_RETENTION_DAYS + DEAD_LETTER_QUEUE_RETENTION_DAYS) * _DAY_SECONDS
