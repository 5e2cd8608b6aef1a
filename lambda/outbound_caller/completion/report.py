"""One contact event to the Completed event it calls for: parse, keep only voice calls that ended, find the call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from outbound_caller.completion.completed import completed_detail
from outbound_caller.completion.contact_event import ContactEvent, ContactEventDetail
from outbound_caller.connect.placed_call_lookup import PlacedCallLookup
from outbound_caller.names import DISCONNECTED

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
    """The Completed event's detail, and whether the placed-calls ledger held the contact."""

    detail: dict[str, Any]
    found: bool


def completion_for(
    event: dict[str, Any], lookup: PlacedCallLookup, *, catch_up_seconds: float = LEDGER_CATCH_UP_SECONDS
) -> Completion | None:
    """The completion a contact event reports; None for anything but a voice call's DISCONNECTED event.

    A contact the ledger does not hold within ``catch_up_seconds`` of its end raises ContactNotRecordedYetError; after
    that it is reported without a ClientToken (not placed by this deployment): a consumer matches by ContactId.
    """
    detail = contact_event_detail(event)
    if detail.event_type != DISCONNECTED or not detail.is_voice:
        return None
    token_hash = lookup.client_token_sha256(detail.contact_id)
    ended = detail.disconnect_timestamp
    if token_hash is None and ended is not None and time.time() - ended.timestamp() < catch_up_seconds:
        raise ContactNotRecordedYetError(
            f"contact {detail.contact_id} ended {time.time() - ended.timestamp():.0f} s ago and the placed-calls"
            " ledger does not show it yet: failing so that Lambda tries again"
        )
    return Completion(completed_detail(detail, token_hash), found=token_hash is not None)


def contact_event_detail(event: dict[str, Any]) -> ContactEventDetail:
    """The contact event's detail; NotAContactEventError naming the fields at fault (never their values)."""
    try:
        return ContactEvent.model_validate(event).detail
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in error.errors()})
        raise NotAContactEventError(
            f"Not an Amazon Connect contact event: bad or missing {', '.join(fields)}"
        ) from None
