"""One contact event to the Completed event it calls for: parse, keep only voice calls that ended, find the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from outbound_caller.completion.completed import completed_detail
from outbound_caller.completion.contact_event import DISCONNECTED, ContactEvent, ContactEventDetail
from outbound_caller.completion.placed_call_lookup import PlacedCallLookup


class NotAContactEventError(ValueError):
    """The event is not an Amazon Connect contact event of the documented shape."""


@dataclass(frozen=True)
class Completion:
    """The Completed event's detail, and whether the placed-calls ledger held the contact."""

    detail: dict[str, Any]
    found: bool


def completion_for(event: dict[str, Any], lookup: PlacedCallLookup) -> Completion | None:
    """The completion a contact event reports; None for anything but a voice call's DISCONNECTED event.

    A contact the ledger does not hold (not placed by this deployment, or placed so recently that the ContactId
    index does not show it yet) is still reported, without a ClientToken: a consumer matches by ContactId.
    """
    detail = contact_event_detail(event)
    if detail.event_type != DISCONNECTED or not detail.is_voice:
        return None
    token_hash = lookup.client_token_sha256(detail.contact_id)
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
