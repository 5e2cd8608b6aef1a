"""The contract's table of outcomes: what Connect's answering-machine status, disconnect reason and connection make
of a call."""

from __future__ import annotations

import pytest

from outbound_caller.completion.outcomes import outcome_of


@pytest.mark.parametrize(
    ("detection", "reason", "connected", "outcome"),
    [
        # Answering-machine detection (TrafficType CAMPAIGN) decides first, whatever the disconnect reason.
        ("HUMAN_ANSWERED", "CUSTOMER_DISCONNECT", True, "Answered"),
        ("VOICEMAIL_BEEP", "CONTACT_FLOW_DISCONNECT", True, "Voicemail"),
        ("VOICEMAIL_NO_BEEP", None, True, "Voicemail"),
        ("AMD_UNANSWERED", None, False, "NoAnswer"),
        ("SIT_TONE_BUSY", None, False, "Busy"),
        ("SIT_TONE_INVALID_NUMBER", None, False, "InvalidNumber"),
        ("SIT_TONE_DETECTED", None, False, "Failed"),
        ("FAX_MACHINE_DETECTED", None, True, "Failed"),
        ("AMD_ERROR", None, True, "Failed"),
        # Then the disconnect reason.
        (None, "TELECOM_UNANSWERED", False, "NoAnswer"),
        (None, "TELECOM_TIMEOUT", False, "NoAnswer"),
        (None, "TELECOM_BUSY", False, "Busy"),
        (None, "TELECOM_NUMBER_INVALID", False, "InvalidNumber"),
        (None, "TELECOM_PROBLEM", False, "Failed"),
        (None, "OUTBOUND_DESTINATION_ENDPOINT_ERROR", False, "Failed"),
        (None, "OUTBOUND_RESOURCE_ERROR", False, "Failed"),
        (None, "OUTBOUND_ATTEMPT_FAILED", False, "Failed"),
        # Detection that resolved nothing leaves it to the reason and the connection.
        ("AMD_UNRESOLVED", "TELECOM_BUSY", False, "Busy"),
        ("AMD_NOT_APPLICABLE", "CUSTOMER_DISCONNECT", True, "Answered"),
        # Without detection, a line that connected was answered; one that never did was not.
        (None, "CUSTOMER_DISCONNECT", True, "Answered"),
        (None, "AGENT_DISCONNECT", True, "Answered"),
        (None, None, True, "Answered"),
        (None, None, False, "NoAnswer"),
        (None, "CUSTOMER_DISCONNECT", False, "NoAnswer"),
        # Anything else is not guessed at.
        (None, "CONTACT_FLOW_DISCONNECT", False, "Unknown"),
        (None, "EXPIRED", False, "Unknown"),
        ("SOMETHING_NEW", "SOMETHING_ELSE", False, "Unknown"),
    ],
)
def test_connects_codes_make_the_contracts_outcome(
    detection: str | None, reason: str | None, connected: bool, outcome: str
) -> None:
    assert outcome_of(detection, reason, connected) == outcome
