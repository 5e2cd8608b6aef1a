"""How each call the local Connect places turns out: answered, voicemail, no answer, busy or an invalid number, with the
facts Connect itself keeps of it (DescribeContact's DisconnectReason and AnsweringMachineDetectionStatus) and how long
it holds a slot of the instance.

Two ways to choose: scripted destinations (the demo's, always the same story), and shares of one random draw per call
(the reliability run's 20% no answer). What Connect reports follows its documentation: an answering-machine status
only when the request asked for detection, a DisconnectReason on the contact (the contact event has none for calls
started through the API).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

# The outcomes the local instance can give a call, by the names the completion function gives them.
ANSWERED = "Answered"
VOICEMAIL = "Voicemail"
NO_ANSWER = "NoAnswer"
BUSY = "Busy"
INVALID_NUMBER = "InvalidNumber"

# Scripted destinations, in +1 212 555 01xx (the NANP range reserved for fiction, as local/connect_behaviour.py's):
# - 0150-0159: the first call to each number rings out unanswered, later ones are answered (a redial's success);
# - 0140-0149: always busy;
# - 0130-0139: an answering machine takes every call;
# - 0120-0129: the network says the number does not exist.
DEFAULT_UNANSWERED_FIRST_PREFIXES = ("+1212555015",)
DEFAULT_BUSY_PREFIXES = ("+1212555014",)
DEFAULT_VOICEMAIL_PREFIXES = ("+1212555013",)
DEFAULT_INVALID_NUMBER_PREFIXES = ("+1212555012",)

# How long a call that nobody answers rings, and how soon a busy or invalid number is given up (compressed: Connect
# rings for about 30 s, and a busy signal takes a few seconds).
DEFAULT_RING_SECONDS = 2.0
FAILED_CALL_SECONDS = 0.5


@dataclass(frozen=True)
class CallStory:
    """What became of one call, as DescribeContact tells it."""

    outcome: str
    connected: bool  # the callee's line (a person or a machine) connected to Connect
    disconnect_reason: str
    detection_status: str | None  # AnsweringMachineDetectionStatus; only when the request asked for detection

    def lasts(self, talk_seconds: float, ring_seconds: float) -> float:
        """How long the call holds a slot: the conversation when connected, the ringing or less otherwise."""
        if self.connected:
            return talk_seconds
        return ring_seconds if self.outcome == NO_ANSWER else min(ring_seconds, FAILED_CALL_SECONDS)


# Connect's codes for each outcome (DescribeContact; "ContactTraceRecord" DisconnectReason and
# AnsweringMachineDetectionStatus), with and without answering-machine detection.
_DISCONNECT_REASONS = {
    ANSWERED: "CUSTOMER_DISCONNECT",
    VOICEMAIL: "CONTACT_FLOW_DISCONNECT",
    NO_ANSWER: "TELECOM_UNANSWERED",
    BUSY: "TELECOM_BUSY",
    INVALID_NUMBER: "TELECOM_NUMBER_INVALID",
}
_DETECTION_STATUSES = {
    ANSWERED: "HUMAN_ANSWERED",
    VOICEMAIL: "VOICEMAIL_BEEP",
    NO_ANSWER: "AMD_UNANSWERED",
    BUSY: "SIT_TONE_BUSY",
    INVALID_NUMBER: "SIT_TONE_INVALID_NUMBER",
}


def story_of(outcome: str, detection: bool) -> CallStory:
    """The facts Connect keeps of a call with this outcome."""
    return CallStory(
        outcome=outcome,
        connected=outcome in (ANSWERED, VOICEMAIL),
        disconnect_reason=_DISCONNECT_REASONS[outcome],
        detection_status=_DETECTION_STATUSES[outcome] if detection else None,
    )


@dataclass(frozen=True)
class OutcomeMix:
    """Which calls turn out how: scripted destinations first, then shares of one draw (the rest are answered)."""

    unanswered_first_prefixes: tuple[str, ...] = DEFAULT_UNANSWERED_FIRST_PREFIXES
    busy_prefixes: tuple[str, ...] = DEFAULT_BUSY_PREFIXES
    voicemail_prefixes: tuple[str, ...] = DEFAULT_VOICEMAIL_PREFIXES
    invalid_number_prefixes: tuple[str, ...] = DEFAULT_INVALID_NUMBER_PREFIXES
    no_answer_rate: float = 0.0
    busy_rate: float = 0.0
    voicemail_rate: float = 0.0
    invalid_number_rate: float = 0.0
    ring_seconds: float = DEFAULT_RING_SECONDS

    def __post_init__(self) -> None:
        """Shares of one draw: each between 0 and 1, together at most 1."""
        shares = self.shares
        for outcome, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"the share of {outcome} calls must be between 0 and 1")
        if sum(shares.values()) > 1.0:
            raise ValueError("the shares of no-answer, busy, voicemail and invalid-number calls must not exceed 1")
        if self.ring_seconds < 0:
            raise ValueError("ring_seconds must not be negative")

    @property
    def shares(self) -> dict[str, float]:
        """The drawn outcomes and their shares, in the order they are laid along the draw."""
        return {
            NO_ANSWER: self.no_answer_rate,
            BUSY: self.busy_rate,
            VOICEMAIL: self.voicemail_rate,
            INVALID_NUMBER: self.invalid_number_rate,
        }


class OutcomeScript:
    """Decides each new call's story; the instance calls it under its own lock, with its one seeded random source."""

    def __init__(self, mix: OutcomeMix, draw: random.Random) -> None:
        self._mix = mix
        self._random = draw
        self._calls_to: Counter[str] = Counter()

    def story(self, destination: str, detection: bool) -> CallStory:
        """The story of a new call to ``destination``; ``detection``: the request turned answering-machine detection
        on."""
        mix = self._mix
        self._calls_to[destination] += 1
        if destination.startswith(mix.unanswered_first_prefixes):
            return story_of(NO_ANSWER if self._calls_to[destination] == 1 else ANSWERED, detection)
        for prefixes, outcome in (
            (mix.busy_prefixes, BUSY),
            (mix.voicemail_prefixes, VOICEMAIL),
            (mix.invalid_number_prefixes, INVALID_NUMBER),
        ):
            if destination.startswith(prefixes):
                return story_of(outcome, detection)
        shares = mix.shares
        # No draw when no share is set, so seeded runs without them keep their old sequence.
        if not any(shares.values()):
            return story_of(ANSWERED, detection)
        roll = self._random.random()
        bound = 0.0
        for outcome, share in shares.items():
            bound += share
            if roll < bound:
                return story_of(outcome, detection)
        return story_of(ANSWERED, detection)
