"""The names the function shares with its stack, its producers and its operators: message attributes, table keys,
metrics and result events.

Pure (no AWS clients, no Powertools objects): every layer of the function, the stack and the tests import these
without configuring anything, and each name is spelt here once.
"""

from __future__ import annotations

# Message attributes the function sets on every message it sends itself (dead-letters, deferrals).
# The token that travels with the request, so that a redriven or deferred message keeps it.
CLIENT_TOKEN_ATTRIBUTE = "ClientToken"  # noqa: S105 - a name, not a secret
# Why a request was dead-lettered, and what an operator reads.
ERROR_CODE_ATTRIBUTE = "ErrorCode"
ERROR_MESSAGE_ATTRIBUTE = "ErrorMessage"
# On an OutcomeUnknown dead-letter: the placed-calls attempt whose outcome is unknown, which its redrive confirms.
UNCERTAIN_ATTEMPT_ATTRIBUTE = "OutcomeUnknownAttempt"
# The message that first brought the request, named on every message the function sends on its behalf.
SOURCE_MESSAGE_ID_ATTRIBUTE = "SourceMessageId"
# On a deferred request: when it first arrived, how often and why it was deferred, and until when.
FIRST_ARRIVAL_ATTRIBUTE = "FirstArrivalTime"
DEFERRAL_COUNT_ATTRIBUTE = "DeferralCount"
DEFERRAL_REASON_ATTRIBUTE = "DeferralReason"
DEFERRED_UNTIL_ATTRIBUTE = "DeferredUntil"
# Which attempt of a redialled request a message is for (contract v3, "Outcomes, answering machines and redial").
ATTEMPT_ATTRIBUTE = "Attempt"
# On a request drawn from the waiting room when one of this deployment's calls ended: when its slot was handed over.
# It calls at once, with no hold of the full instance to wait out (the slot is the one the ended call freed).
SLOT_HANDED_OVER_ATTRIBUTE = "SlotHandedOver"
# The function's MAC over the attributes above and the body (request/signing.py).
SIGNATURE_ATTRIBUTE = "CallerSignature"

# The tables' layout (the stack creates them with these names: infra/tables.py): one partition key, one TTL attribute.
PARTITION_KEY = "id"
TTL_ATTRIBUTE = "expiration"
# Stable key prefixes, so items survive a function rename or a code move; each kind of item has its own.
PLACED_CALL_KEY_PREFIX = "connect-outbound-caller#call"
INSTANCE_STATE_KEY_PREFIX = "connect-outbound-caller#instance"
DESTINATION_KEY_PREFIX = "connect-outbound-caller#destination"
SOURCE_KEY_PREFIX = "connect-outbound-caller#source"
# One item per queue paced to its agents (AGENT_PACING): its available agents, and the calls counting on them.
AGENTS_KEY_PREFIX = "connect-outbound-caller#agents"
# The item saying which copy of a redialled request goes on from each of its deferrals (connect/redial_copies.py).
REDIAL_COPY_KEY_PREFIX = "connect-outbound-caller#redial"
# On a placed call's ledger item: the queue it was routed to, whose agent claim its end releases.
AGENT_QUEUE_ATTRIBUTE = "agent_queue"
# A placed call's ContactId, and the sparse index on it through which the completion finds the call of a contact.
CONTACT_ID_ATTRIBUTE = "contact_id"
CONTACT_ID_INDEX_NAME = "by-contact-id"

# Powertools' service name and metrics namespace when the environment names none.
DEFAULT_SERVICE_NAME = "connect-outbound-caller"
DEFAULT_METRICS_NAMESPACE = "ConnectOutboundCaller"

# Metrics, shared with the stack's alarms and dashboard.
CALLS_PLACED = "CallsPlaced"
CALLS_DEAD_LETTERED = "CallsDeadLettered"
CALLS_RETRIED = "CallsRetried"
CALLS_DEFERRED = "CallsDeferred"
# Requests whose destination is on the suppression list: no call, no dead-letter.
CALLS_SUPPRESSED = "CallsSuppressed"
# Placed calls whose placed-calls record is still to be completed (they are never dialled again meanwhile).
PLACED_CALL_RECORDS_PENDING = "PlacedCallRecordsPending"
# Invocations whose function timeout cannot hold one record's time reserve: every record is handed back.
FUNCTION_TIMEOUT_TOO_SHORT = "FunctionTimeoutTooShort"
# Result events handed to EventBridge, and those given up on (too big, or still failing when time ran out).
RESULT_EVENTS_PUBLISHED = "ResultEventsPublished"
RESULT_EVENTS_FAILED = "ResultEventsFailed"
# The completion: Completed events published, and contacts the placed-calls ledger did not (yet) hold.
CALLS_COMPLETED = "CallsCompleted"
COMPLETIONS_WITHOUT_PLACED_CALL = "CompletionsWithoutPlacedCall"
# The waiting room: requests parked there while the instance is full, and drawn from it as this deployment's calls end
# (a slot handed over) or when the instance opens again (the completion function's tick).
CALLS_PARKED = "CallsParked"
SLOTS_HANDED_OVER = "SlotsHandedOver"
SLOTS_FREED = "SlotsFreed"
WAITING_ROOM_DRAWN = "WaitingRoomDrawn"
# Agent pacing: reads of the queues' available agents, and reads that failed (the last one kept, or no call).
AGENT_METRICS_READ = "AgentMetricsRead"
AGENT_METRICS_UNAVAILABLE = "AgentMetricsUnavailable"
# Numbers added to or removed from the suppression list (the opt-out function).
SUPPRESSION_CHANGES = "SuppressionListChanges"
# Powertools names the service dimension so, on every metric it emits.
SERVICE_DIMENSION = "service"
# The dimension of CallsDeadLettered and CallsRetried: the record's ErrorCode (decisions.py).
ERROR_CODE_DIMENSION = "ErrorCode"
# The dimension of CallsDeferred: the deferral's reason (decisions.DEFERRAL_REASONS).
REASON_DIMENSION = "Reason"

# Amazon Connect's contact events, as the stack's completion rule matches them ("Amazon Connect contact events").
# The values the completion cares about (the data model lists these spellings).
DISCONNECTED = "DISCONNECTED"
CONNECTED_TO_AGENT = "CONNECTED_TO_AGENT"
VOICE = "VOICE"
# How Connect labels contacts started by StartOutboundVoiceContact (also StartChatContact, StartTaskContact).
API_INITIATED = "API"
# The event's source and detail-type, as the stack's rule matches them.
CONTACT_EVENT_SOURCE = "aws.connect"
CONTACT_EVENT_DETAIL_TYPE = "Amazon Connect Contact Event"

# Result events: the contract's source and detail-types.
RESULT_SOURCE = "connect-outbound-caller"
PLACED_EVENT = "Outbound Call Placed"
REJECTED_EVENT = "Outbound Call Rejected"
DEFERRED_EVENT = "Outbound Call Deferred"
COMPLETED_EVENT = "Outbound Call Completed"
# Opt-out and opt-in: asked for on the intake bus with these detail-types, announced on the result bus with them.
OPT_OUT_EVENT = "Outbound Call Opt Out"
OPT_IN_EVENT = "Outbound Call Opt In"
