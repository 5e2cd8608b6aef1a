"""What `Outbound Call Completed` says about a contact event, from the documentation's recorded samples."""

from __future__ import annotations

import hashlib
import json

import pytest

from outbound_caller.completion.completed import completed_detail, connected_seconds
from outbound_caller.completion.contact_event import ContactEvent
from outbound_caller.config.redial import ANSWERED as ANSWERED_OUTCOME
from outbound_caller.config.redial import UNKNOWN
from tests.support.contact_events import ANSWERED, UNANSWERED, contact_event

TOKEN_HASH = "ab" * 32


def parsed(name: str, **changes: object) -> ContactEvent:
    """A recorded sample, parsed as the handler parses it."""
    return ContactEvent.model_validate(contact_event(name, **changes))


def test_an_answered_call_is_connected_for_the_time_from_connection_to_disconnection() -> None:
    # Given the documentation's disconnected voice call, connected at 17:17:55.000 and ended at 17:18:37.250
    event = parsed(ANSWERED)
    # When its Completed detail is made
    detail = completed_detail(event.detail, TOKEN_HASH, outcome=ANSWERED_OUTCOME)
    # Then it is connected, for 42.25 s, with Connect's reason and the three moments in UTC
    assert detail == {
        "ContactId": "11111111-1111-1111-1111-111111111111",
        "Attempt": 1,
        "Outcome": "Answered",
        "Connected": True,
        "AgentConnected": False,
        "Final": True,
        "ClientToken": "sha256:" + TOKEN_HASH[:16],
        "DisconnectReason": "CUSTOMER_DISCONNECT",
        "DurationSeconds": 42.25,
        "InitiatedAt": "2021-08-04T17:17:53.000Z",
        "ConnectedAt": "2021-08-04T17:17:55.000Z",
        "DisconnectedAt": "2021-08-04T17:18:37.250Z",
    }


def test_a_call_never_connected_lasted_no_time_and_has_no_connection_moment() -> None:
    # Given a call whose line never connected (no connectedToSystemTimestamp)
    event = parsed(UNANSWERED)
    # When its Completed detail is made without a ledger entry
    detail = completed_detail(event.detail, None, outcome=UNKNOWN)
    # Then it is not connected, lasted 0 s, and carries no ClientToken
    assert (detail["Connected"], detail["DurationSeconds"], detail["DisconnectReason"]) == (
        False,
        0.0,
        "TELECOM_PROBLEM",
    )
    assert "ConnectedAt" not in detail
    assert "ClientToken" not in detail


def test_no_phone_number_of_the_contact_event_reaches_the_completed_event() -> None:
    # Given contact events carrying the customer's and the system's numbers
    for name in (ANSWERED, UNANSWERED):
        raw = contact_event(name)
        numbers = [raw["detail"]["customerEndpoint"]["address"], raw["detail"]["systemEndpoint"]["address"]]
        # When the Completed detail is made
        text = json.dumps(completed_detail(ContactEvent.model_validate(raw).detail, TOKEN_HASH, outcome=UNKNOWN))
        # Then neither number, nor its digits, is in it
        assert all(number.lstrip("+") not in text for number in numbers)


@pytest.mark.parametrize("reason", ["call me on +14155550123", "customer_disconnect", "", "X" * 65])
def test_a_disconnect_reason_that_is_not_a_code_is_left_out(reason: str) -> None:
    # Given a disconnect reason that is not an upper-case code (free text could hold anything)
    event = parsed(ANSWERED, disconnectReason=reason)
    # When the Completed detail is made
    detail = completed_detail(event.detail, None, outcome=UNKNOWN)
    # Then it carries no DisconnectReason at all
    assert "DisconnectReason" not in detail


def test_a_disconnection_stamped_before_the_connection_lasts_no_time() -> None:
    # Given timestamps out of order (clock skew between Connect's components)
    event = parsed(ANSWERED, disconnectTimestamp="2021-08-04T17:17:54.000Z")
    # Then the duration is 0, never negative
    assert connected_seconds(event.detail) == 0.0


def test_the_documentations_own_channel_spelling_is_a_voice_call() -> None:
    # Given the documentation's sample spelling of the channel, "Voice"
    event = parsed(ANSWERED, channel="Voice")
    # Then it is a voice call, as "VOICE" is
    assert event.detail.is_voice
    assert not parsed(ANSWERED, channel="CHAT").detail.is_voice


def test_the_token_is_shown_exactly_as_the_function_shows_it_in_its_other_events() -> None:
    # Given a producer's own token, and the hash the ledger keys its call by
    from outbound_caller.privacy import mask_token

    token = "jane.doe@example.com-order-7"
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    # When the Completed detail is made from the hash alone
    detail = completed_detail(parsed(ANSWERED).detail, token_hash, outcome=UNKNOWN)
    # Then its ClientToken is what Placed, Rejected and Deferred show for that token
    assert detail["ClientToken"] == mask_token(token)
