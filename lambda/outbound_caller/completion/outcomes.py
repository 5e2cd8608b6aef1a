"""What became of a call, from Connect's own codes: the contract's Outcome of `Outbound Call Completed`.

The contact's answering-machine status (with detection on: TrafficType CAMPAIGN) decides first, then its disconnect
reason, then whether the callee's line connected at all. Connect documents the event's `disconnectReason` only for
failed campaign contacts; both codes come from DescribeContact (contacts.py).
"""

from __future__ import annotations

from outbound_caller.config.redial import ANSWERED, BUSY, FAILED, INVALID_NUMBER, NO_ANSWER, UNKNOWN, VOICEMAIL

# AnsweringMachineDetectionStatus (Connect API reference) to Outcome; AMD_UNRESOLVED and AMD_NOT_APPLICABLE decide
# nothing: the disconnect reason and the connection do.
_BY_DETECTION = {
    "HUMAN_ANSWERED": ANSWERED,
    "VOICEMAIL_BEEP": VOICEMAIL,
    "VOICEMAIL_NO_BEEP": VOICEMAIL,
    "AMD_UNANSWERED": NO_ANSWER,
    "SIT_TONE_BUSY": BUSY,
    "SIT_TONE_INVALID_NUMBER": INVALID_NUMBER,
    "SIT_TONE_DETECTED": FAILED,
    "FAX_MACHINE_DETECTED": FAILED,
    "AMD_ERROR": FAILED,
}
# Contact.DisconnectReason (Amazon Connect Administrator Guide, "Contact records data model") to Outcome.
_BY_DISCONNECT_REASON = {
    "TELECOM_UNANSWERED": NO_ANSWER,
    "TELECOM_TIMEOUT": NO_ANSWER,
    "TELECOM_BUSY": BUSY,
    "TELECOM_NUMBER_INVALID": INVALID_NUMBER,
    "TELECOM_PROBLEM": FAILED,
}
# The outbound failures of Connect's own (OUTBOUND_DESTINATION_ENDPOINT_ERROR, OUTBOUND_RESOURCE_ERROR,
# OUTBOUND_ATTEMPT_FAILED, ...): the call never reached the callee.
_OUTBOUND_FAILURE_PREFIX = "OUTBOUND_"


def outcome_of(detection_status: str | None, disconnect_reason: str | None, connected: bool) -> str:
    """The Outcome of a call from its answering-machine status, its disconnect reason and whether it connected."""
    if detection_status in _BY_DETECTION:
        return _BY_DETECTION[detection_status]
    if disconnect_reason in _BY_DISCONNECT_REASON:
        return _BY_DISCONNECT_REASON[disconnect_reason]
    if disconnect_reason is not None and disconnect_reason.startswith(_OUTBOUND_FAILURE_PREFIX):
        return FAILED
    if connected:
        # Without detection, a line that connected was answered, by whoever or whatever picked up.
        return ANSWERED
    return NO_ANSWER if disconnect_reason in (None, "CUSTOMER_DISCONNECT") else UNKNOWN
