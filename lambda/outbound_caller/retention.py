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
# The longest MAX_DEFERRAL_SECONDS a deployment may set: a deferred request is sent again as a new message, so it
# outlives the source queue's retention by up to this long.
MAX_DEFERRAL_DAYS = 7
MAX_DEFERRAL_LIMIT_SECONDS = MAX_DEFERRAL_DAYS * _DAY_SECONDS
# After the ledger last changed a token's item, its request can still wait in the source queue (its retention),
# hop through deferrals (a crash between a deferral's send and the original's acknowledgement leaves a copy),
# be dead-lettered by the function as a new message (the dead-letter queue's retention from then), be redriven
# and wait in the source queue again before it is delivered.
PLACED_CALL_KEPT_SECONDS = (
    2 * SOURCE_QUEUE_RETENTION_DAYS + MAX_DEFERRAL_DAYS + DEAD_LETTER_QUEUE_RETENTION_DAYS
) * _DAY_SECONDS
