"""What became of each call: the completion reads Connect's own codes (DescribeContact, where the contact event lacks
them), names the Outcome, records it once in the placed-calls ledger for the caller's redial, and says whether
another attempt follows (Final, NextAttemptAt) by the same rule the caller applies."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from outbound_caller.config.redial import RedialPolicy
from outbound_caller.safety.redial import Dial
from tests.integration.completion.conftest import ANSWERED_ENDED_MS, ledger, place, received
from tests.support.clock import WallClock
from tests.support.contact_events import ANSWERED, UNANSWERED, contact_event
from tests.support.contacts_stub import ContactsStub

TOKEN = "order-7"
CONTACT_ID = "44444444-4444-4444-8444-444444444444"
MINUTE_MS = 60_000
POLICY = RedialPolicy(on=frozenset({"NoAnswer", "Busy"}), max_attempts=3, interval_seconds=600)


def redialled(attempt: int = 1, *, placed_ms: int = ANSWERED_ENDED_MS - MINUTE_MS, bound_ms: int | None = None) -> Dial:
    """An attempt of a request the deployment redials on NoAnswer and Busy, 3 attempts 10 minutes apart."""
    return Dial(attempt, POLICY, bound_ms or placed_ms + 24 * 60 * MINUTE_MS, placed_ms)


def detail_of(sink: str) -> dict[str, Any]:
    [event] = received(sink)
    assert event["detail-type"] == "Outbound Call Completed"
    detail: dict[str, Any] = event["detail"]
    return detail


@pytest.mark.parametrize(
    ("described", "outcome"),
    [
        ({"disconnect_reason": "TELECOM_BUSY", "connected": False}, "Busy"),
        ({"disconnect_reason": "TELECOM_UNANSWERED", "connected": False}, "NoAnswer"),
        ({"disconnect_reason": "TELECOM_NUMBER_INVALID", "connected": False}, "InvalidNumber"),
        ({"detection": "VOICEMAIL_BEEP", "disconnect_reason": "CUSTOMER_DISCONNECT"}, "Voicemail"),
        ({"detection": "HUMAN_ANSWERED", "agent": True}, "Answered"),
    ],
)
def test_connects_own_codes_name_the_outcome_and_are_passed_on(
    handle: Any, sink: str, contacts: ContactsStub, described: dict[str, Any], outcome: str
) -> None:
    # Given a placed call whose contact Connect describes so
    place(TOKEN, CONTACT_ID)
    contacts.ended(CONTACT_ID, **described)
    # When its contact event arrives (an API call's event carries no reason Connect documents)
    handle(contact_event(UNANSWERED, contactId=CONTACT_ID, disconnectReason=None))
    # Then the Completed event names the outcome, with Connect's own codes
    detail = detail_of(sink)
    assert detail["Outcome"] == outcome
    assert detail.get("DisconnectReason") == described.get("disconnect_reason", "CUSTOMER_DISCONNECT")
    assert detail.get("AnsweringMachineDetectionStatus") == described.get("detection")
    assert detail["AgentConnected"] is described.get("agent", False)
    assert detail["Connected"] is described.get("connected", True)
    assert contacts.described == [CONTACT_ID]


def test_a_contact_connect_no_longer_describes_is_named_from_its_event(
    handle: Any, sink: str, contacts: ContactsStub
) -> None:
    # Given a placed call Connect's DescribeContact does not know (ResourceNotFoundException)
    place(TOKEN, CONTACT_ID)
    # When its event says the callee connected, then hung up
    handle(contact_event(ANSWERED, contactId=CONTACT_ID))
    # Then it was answered, as far as anyone can tell
    detail = detail_of(sink)
    assert (detail["Outcome"], detail["Connected"], detail["DisconnectReason"]) == (
        "Answered",
        True,
        "CUSTOMER_DISCONNECT",
    )
    assert "AnsweringMachineDetectionStatus" not in detail


def test_the_outcome_is_recorded_in_the_ledger_for_the_callers_redial(
    handle: Any, sink: str, contacts: ContactsStub, wall: WallClock
) -> None:
    # Given a redialled request's first attempt, unanswered
    place(TOKEN, CONTACT_ID, redialled())
    contacts.ended(CONTACT_ID, disconnect_reason="TELECOM_UNANSWERED", connected=False)
    # When its contact event arrives
    handle(contact_event(ANSWERED, contactId=CONTACT_ID, connectedToSystemTimestamp=None))
    # Then the ledger holds its outcome, when the call ended, and when that became known
    dial = ledger().dial(TOKEN)
    assert dial is not None
    assert (dial.outcome, dial.ended_at_ms, dial.outcome_at_ms) == ("NoAnswer", ANSWERED_ENDED_MS, int(wall.now * 1000))
    # And the Completed event says another attempt follows, an interval after this one ended
    detail = detail_of(sink)
    assert (detail["Attempt"], detail["Outcome"], detail["Final"]) == (1, "NoAnswer", False)
    assert detail["NextAttemptAt"] == "2021-08-04T17:28:37.250Z"


def test_a_repeated_event_reports_the_outcome_first_recorded(handle: Any, sink: str, contacts: ContactsStub) -> None:
    # Given an attempt whose completion was recorded as NoAnswer
    place(TOKEN, CONTACT_ID, redialled())
    contacts.ended(CONTACT_ID, disconnect_reason="TELECOM_UNANSWERED", connected=False)
    event = contact_event(ANSWERED, contactId=CONTACT_ID, connectedToSystemTimestamp=None)
    handle(event)
    first = detail_of(sink)
    # When the same event arrives again (EventBridge delivers at least once), Connect now describing it otherwise
    contacts.ended(CONTACT_ID, detection="HUMAN_ANSWERED")
    handle(event)
    # Then the ledger and the second Completed keep the first outcome: the caller redials by one answer only
    again = detail_of(sink)
    assert (again["Outcome"], again["Final"], again["NextAttemptAt"]) == ("NoAnswer", False, first["NextAttemptAt"])
    dial = ledger().dial(TOKEN)
    assert dial is not None
    assert dial.outcome == "NoAnswer"


@pytest.mark.parametrize(
    ("dial", "described", "why"),
    [
        (redialled(attempt=3), {"disconnect_reason": "TELECOM_BUSY", "connected": False}, "the last attempt"),
        (redialled(), {"detection": "HUMAN_ANSWERED"}, "answered"),
        (redialled(), {"detection": "VOICEMAIL_BEEP"}, "an outcome the policy does not name"),
        (
            redialled(bound_ms=ANSWERED_ENDED_MS + 5 * MINUTE_MS),
            {"disconnect_reason": "TELECOM_BUSY", "connected": False},
            "the next attempt would come after ExpiresAt",
        ),
    ],
)
def test_a_call_no_attempt_follows_is_final(
    handle: Any, sink: str, contacts: ContactsStub, dial: Dial, described: dict[str, Any], why: str
) -> None:
    place(TOKEN, CONTACT_ID, dial)
    contacts.ended(CONTACT_ID, **described)
    handle(contact_event(ANSWERED, contactId=CONTACT_ID))
    detail = detail_of(sink)
    assert (detail["Attempt"], detail["Final"]) == (dial.attempt, True), why
    assert "NextAttemptAt" not in detail


def test_an_outcome_known_only_after_the_wait_is_final(
    handle: Any, sink: str, contacts: ContactsStub, wall: WallClock
) -> None:
    # Given an unanswered attempt whose contact event arrives more than REDIAL_OUTCOME_WAIT_SECONDS after placing
    # (by then the caller has stopped waiting for it: the request ended, fail closed)
    place(TOKEN, CONTACT_ID, redialled())
    contacts.ended(CONTACT_ID, disconnect_reason="TELECOM_UNANSWERED", connected=False)
    wall.now = (ANSWERED_ENDED_MS - MINUTE_MS) / 1000 + 3_601
    handle(contact_event(ANSWERED, contactId=CONTACT_ID, connectedToSystemTimestamp=None))
    # Then its Completed says so: no attempt follows
    detail = detail_of(sink)
    assert (detail["Outcome"], detail["Final"]) == ("NoAnswer", True)


def test_a_later_attempt_is_reported_under_its_own_token(handle: Any, sink: str, contacts: ContactsStub) -> None:
    # Given attempt 2 of a request, placed with its own token
    second = f"{TOKEN}#attempt-2"
    place(second, CONTACT_ID, redialled(attempt=2))
    contacts.ended(CONTACT_ID, disconnect_reason="TELECOM_BUSY", connected=False)
    handle(contact_event(ANSWERED, contactId=CONTACT_ID, connectedToSystemTimestamp=None))
    detail = detail_of(sink)
    # Then Completed names that attempt and its token, as Placed did
    assert (detail["Attempt"], detail["Final"]) == (2, False)
    assert detail["ClientToken"] == "sha256:" + hashlib.sha256(second.encode()).hexdigest()[:16]


def test_a_describe_contact_failure_fails_the_invocation_so_lambda_retries_it(
    handle: Any, sink: str, contacts: ContactsStub
) -> None:
    # Given a placed call, and Connect's DescribeContact failing (throttled, every attempt botocore makes)
    place(TOKEN, CONTACT_ID, redialled())
    contacts.failing = "ThrottlingException"
    # When its contact event arrives, then the invocation fails; nothing is published, no outcome is recorded
    with pytest.raises(Exception, match="ThrottlingException"):
        handle(contact_event(ANSWERED, contactId=CONTACT_ID))
    assert received(sink) == []
    dial = ledger().dial(TOKEN)
    assert dial is not None
    assert dial.outcome is None
