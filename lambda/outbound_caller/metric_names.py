"""The names of the function's metrics and their dimensions, shared with the stack's alarms and dashboard.

Pure (no AWS clients, no Powertools objects), so the stack can import it without configuring the function.
"""

from __future__ import annotations

CALLS_PLACED = "CallsPlaced"
CALLS_DEAD_LETTERED = "CallsDeadLettered"
CALLS_RETRIED = "CallsRetried"
CALLS_DEFERRED = "CallsDeferred"
# Placed calls whose placed-calls record is still to be completed (they are never dialled again meanwhile).
PLACED_CALL_RECORDS_PENDING = "PlacedCallRecordsPending"
# Invocations whose function timeout cannot hold one record's time reserve: every record is handed back.
FUNCTION_TIMEOUT_TOO_SHORT = "FunctionTimeoutTooShort"

# Powertools names the service dimension so, on every metric it emits.
SERVICE_DIMENSION = "service"
# The dimension of CallsDeadLettered and CallsRetried: the record's ErrorCode (settling.outcomes).
ERROR_CODE_DIMENSION = "ErrorCode"
# The dimension of CallsDeferred: the deferral's reason (settling.deferral.DEFERRAL_REASONS).
REASON_DIMENSION = "Reason"
