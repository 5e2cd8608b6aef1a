"""The contract's result events: one per settled record, built from its outcome, never holding personal data.

Each detail names the ClientToken as ``sha256:`` and the first 16 hex digits of its SHA-256, whatever its source (so
Outbound Call Completed, which finds only the token's hash in the ledger, names it alike) and the SQS messageId the
request first arrived with (SourceMessageId, as on dead-letters and deferrals); never a phone number, attribute or
reference.
"""

from __future__ import annotations

from typing import Any

from outbound_caller.decisions import DESTINATION_SUPPRESSED, Outcome, OutcomeKind
from outbound_caller.names import DEFERRED_EVENT, PLACED_EVENT, REJECTED_EVENT

ResultEvent = tuple[str, dict[str, Any]]


def placed(contact_id: str, client_token: str, source_message_id: str, attempt: int = 1) -> ResultEvent:
    """A call Connect placed, now or for an earlier delivery of the same token; which attempt of the request it is."""
    return PLACED_EVENT, {
        "ContactId": contact_id,
        "ClientToken": client_token,
        "SourceMessageId": source_message_id,
        "Attempt": attempt,
    }


def rejected(error_code: str, client_token: str, source_message_id: str) -> ResultEvent:
    """A request dead-lettered with its ErrorCode (the ErrorMessage stays on the dead-letter: it may quote input)."""
    return REJECTED_EVENT, {"ErrorCode": error_code, "ClientToken": client_token, "SourceMessageId": source_message_id}


def deferred(reason: str, until: str, client_token: str, source_message_id: str, attempt: int = 1) -> ResultEvent:
    """A request sent back to its queue, to be tried again no earlier than ``until`` (ISO 8601, UTC), for its
    ``attempt`` (a redial's next one)."""
    return DEFERRED_EVENT, {
        "Reason": reason,
        "Until": until,
        "ClientToken": client_token,
        "SourceMessageId": source_message_id,
        "Attempt": attempt,
    }


def events_for(outcome: Outcome) -> list[ResultEvent]:
    """The result events an outcome announces: none for a retry (nothing settled) or a hop already announced; a placed
    call then sent back for its redial announces both."""
    token, source = outcome.client_token, outcome.source_message_id
    if outcome.kind is OutcomeKind.PLACED:
        events = []
        if outcome.contact_id is not None and outcome.announced:
            events.append(placed(outcome.contact_id, token, source, outcome.attempt))
        then, next_attempt = outcome.then, outcome.then_attempt
        if then is not None and next_attempt is not None and next_attempt > outcome.attempt:
            events.append(deferred(then.reason, then.until_iso, token, source, next_attempt))
        return events
    if outcome.kind is OutcomeKind.SUPPRESSED:
        return [rejected(DESTINATION_SUPPRESSED, token, source)]
    if outcome.kind is OutcomeKind.DEAD_LETTERED and outcome.failure is not None:
        return [rejected(outcome.failure.code, token, source)]
    if outcome.kind is OutcomeKind.DEFERRED and outcome.deferral is not None and outcome.announced:
        deferral = outcome.deferral
        return [deferred(deferral.reason, deferral.until_iso, token, source, outcome.attempt)]
    return []
