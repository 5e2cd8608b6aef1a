"""What `Outbound Call Completed` says about a call Connect reports ended, and the rules that say it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from outbound_caller.completion.contact_event import ContactEventDetail
from outbound_caller.connect.contacts import DescribedContact
from outbound_caller.decisions import iso_utc
from outbound_caller.privacy import TOKEN_HASH_DIGITS
from outbound_caller.safety.redial import Dial, NextAttempt, Step

# Connect's disconnect reasons are upper-case codes (CUSTOMER_DISCONNECT, TELECOM_PROBLEM, ...) from a set that
# grows; anything else is not passed on, so no free text ever reaches the result bus.
_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# Durations are reported to the millisecond, the contact timestamps' precision.
DURATION_DECIMALS = 3


def completed_detail(
    detail: ContactEventDetail,
    client_token_sha256: str | None,
    *,
    outcome: str,
    described: DescribedContact | None = None,
    dial: Dial | None = None,
    step: Step | None = None,
) -> dict[str, Any]:
    """The Completed event's detail for one DISCONNECTED contact event; never a phone number or attribute value.

    - Connected: Connect reported the callee's line connected ("the date and time the customer endpoint connected to
      Amazon Connect"): answered by a person, voicemail or another machine. Outcome says which, where Connect knows.
    - DurationSeconds: from that connection to the disconnection, the time the callee was on the line; 0 for a call
      never connected. The ring time is InitiatedAt to ConnectedAt (or to DisconnectedAt).
    - DisconnectReason and AnsweringMachineDetectionStatus: Connect's own codes, from the event or DescribeContact.
    - ClientToken: when the placed-calls ledger holds the contact, the call's token as the function's logs show a
      producer's own token, ``sha256:`` and the first hex digits of its SHA-256 (the ledger keeps only the hash).
    - Attempt, Final, NextAttemptAt: which attempt of its request the call was, and whether another follows and when.
    """
    connected_at = detail.connected_to_system_timestamp or (described.connected_at if described else None)
    body: dict[str, Any] = {
        "ContactId": detail.contact_id,
        "Attempt": dial.attempt if dial is not None else 1,
        "Outcome": outcome,
        "Connected": connected_at is not None,
        "AgentConnected": bool(described and described.agent_connected),
        "Final": not isinstance(step, NextAttempt),
    }
    if client_token_sha256 is not None:
        body["ClientToken"] = shown_token(client_token_sha256)
    for name, code in (
        ("DisconnectReason", (described.disconnect_reason if described else None) or detail.disconnect_reason),
        ("AnsweringMachineDetectionStatus", described.detection_status if described else None),
    ):
        if code is not None and _REASON_CODE.fullmatch(code):
            body[name] = code
    body["DurationSeconds"] = _seconds_between(connected_at, detail.disconnect_timestamp)
    for name, moment in (
        ("InitiatedAt", detail.initiation_timestamp),
        ("ConnectedAt", connected_at),
        ("DisconnectedAt", detail.disconnect_timestamp),
    ):
        if moment is not None:
            body[name] = _iso(moment)
    if isinstance(step, NextAttempt):
        body["NextAttemptAt"] = iso_utc(step.at_ms)
    return body


def shown_token(client_token_sha256: str) -> str:
    """The token's hash as privacy.mask_token shows a token: the same ``sha256:…`` text from the hash alone."""
    return f"sha256:{client_token_sha256[:TOKEN_HASH_DIGITS]}"


def connected_seconds(detail: ContactEventDetail) -> float:
    """Seconds from the callee's connection to the disconnection; 0 when never connected or either time is missing."""
    return _seconds_between(detail.connected_to_system_timestamp, detail.disconnect_timestamp)


def _seconds_between(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, round((end - start).total_seconds(), DURATION_DECIMALS))


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, as Connect writes its own timestamps."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
