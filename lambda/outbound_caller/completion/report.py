"""One contact event to the Completed event it calls for: parse, keep only voice calls that ended, find the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from outbound_caller.completion.completed import completed_detail
from outbound_caller.completion.contact_event import ContactEvent, ContactEventDetail
from outbound_caller.completion.outcomes import outcome_of
from outbound_caller.connect.call_ends import CallEnds
from outbound_caller.connect.contacts import ContactReader
from outbound_caller.connect.placed_call_lookup import PlacedCallLookup
from outbound_caller.names import DISCONNECTED
from outbound_caller.safety.redial import next_step

# How long after a contact ended the ledger may still not show it: the caller records a call right after Connect
# answers, and the ContactId index is eventually consistent (usually within a second). A contact not found sooner
# fails the invocation, and Lambda tries it again about 1, then 3 minutes later (its asynchronous retries); one not
# found later is not this deployment's (another application on the instance), or is reported without its token.
LEDGER_CATCH_UP_SECONDS = 120


class ContactNotRecordedYetError(RuntimeError):
    """The contact ended moments ago and the ledger does not show it yet: fail, so Lambda tries again."""


class NotAContactEventError(ValueError):
    """The event is not an Amazon Connect contact event of the documented shape."""


@dataclass(frozen=True)
class Completion:
    """The Completed event's detail, whether the placed-calls ledger held the contact, and whether this is the first
    report of its end (a repeated or late event is not: what the call's end sets off happens once)."""

    detail: dict[str, Any]
    found: bool
    first: bool = False
    # The call's token hash and the queue it was routed to, whose agent claim its end releases.
    token_sha256: str | None = None
    agent_queue: str | None = None


def completion_for(
    event: dict[str, Any],
    lookup: PlacedCallLookup,
    contacts: ContactReader,
    ends: CallEnds,
    *,
    now_ms: int,
    catch_up_seconds: float = LEDGER_CATCH_UP_SECONDS,
) -> Completion | None:
    """The completion a contact event reports; None for anything but a voice call's DISCONNECTED event.

    A contact the ledger does not hold within ``catch_up_seconds`` of its end raises ContactNotRecordedYetError; after
    that it is reported without a ClientToken (not placed by this deployment): a consumer matches by ContactId. A call
    the ledger holds gets its outcome recorded there (once: a repeated or late event finds the first one), which the
    caller reads to redial, and Final and NextAttemptAt say what the same rule decides.
    """
    detail = contact_event_detail(event)
    if detail.event_type != DISCONNECTED or not detail.is_voice:
        return None
    token_hash = lookup.client_token_sha256(detail.contact_id)
    ended = detail.disconnect_timestamp
    if token_hash is None and ended is not None and now_ms / 1000 - ended.timestamp() < catch_up_seconds:
        raise ContactNotRecordedYetError(
            f"contact {detail.contact_id} ended {now_ms / 1000 - ended.timestamp():.0f} s ago and the placed-calls"
            " ledger does not show it yet: failing so that Lambda tries again"
        )
    described = contacts.describe(detail.contact_id)
    connected = detail.connected_to_system_timestamp is not None or (
        described is not None and described.connected_at is not None
    )
    outcome = outcome_of(
        described.detection_status if described else None,
        (described.disconnect_reason if described else None) or detail.disconnect_reason,
        connected,
    )
    ended_at = ended or (described.disconnected_at if described else None)
    ended_at_ms = int(ended_at.timestamp() * 1000) if ended_at is not None else now_ms
    end = ends.record_outcome(token_hash, outcome, ended_at_ms, now_ms) if token_hash else None
    dial, first = (end.dial, end.first) if end is not None else (None, False)
    if dial is not None and dial.outcome is not None:
        # A repeated or late event: what the ledger kept first is what the caller redials by, and what is reported.
        outcome = dial.outcome
    step = next_step(dial, now_ms) if dial is not None else None
    body = completed_detail(detail, token_hash, described=described, outcome=outcome, dial=dial, step=step)
    return Completion(
        body,
        found=token_hash is not None,
        first=first,
        token_sha256=token_hash,
        agent_queue=end.agent_queue if end is not None else None,
    )


def contact_event_detail(event: dict[str, Any]) -> ContactEventDetail:
    """The contact event's detail; NotAContactEventError naming the fields at fault (never their values)."""
    try:
        return ContactEvent.model_validate(event).detail
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in error.errors()})
        raise NotAContactEventError(
            f"Not an Amazon Connect contact event: bad or missing {', '.join(fields)}"
        ) from None
