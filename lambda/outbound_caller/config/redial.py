"""The redial policy: which outcomes earn another attempt, how many attempts in all, how far apart, and how long an
attempt's outcome may take to be known before no further attempt is made.

The deployment sets it (REDIAL_ON, REDIAL_MAX_ATTEMPTS, REDIAL_INTERVAL_SECONDS, REDIAL_OUTCOME_WAIT_SECONDS); a
request's `Redial` member may narrow it, never widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The outcomes a completed call is named by (completion/outcomes.py maps Connect's codes to them).
ANSWERED = "Answered"
VOICEMAIL = "Voicemail"
NO_ANSWER = "NoAnswer"
BUSY = "Busy"
INVALID_NUMBER = "InvalidNumber"
FAILED = "Failed"
UNKNOWN = "Unknown"
OUTCOMES = frozenset({ANSWERED, VOICEMAIL, NO_ANSWER, BUSY, INVALID_NUMBER, FAILED, UNKNOWN})
# Attempts in all, the first included: the contract's bound (a customer rung ten times is already too many).
MAX_REDIAL_ATTEMPTS = 10
DEFAULT_REDIAL_ATTEMPTS = 1
# The least time between an attempt's end and the next: a minute, so that a busy line is not rung back at once.
MIN_REDIAL_INTERVAL_SECONDS = 60
DEFAULT_REDIAL_INTERVAL_SECONDS = 1800
# How long after an attempt was placed its outcome may take to be known (the contact's end, Connect's event, the
# completion): an outcome still unknown then stops the redials, as a call that may have been answered is never rung
# again.
DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS = 3600
MAX_REDIAL_OUTCOME_WAIT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RedialPolicy:
    """Redial on these outcomes, up to max_attempts attempts in all, interval_seconds after the previous one ended."""

    on: frozenset[str] = frozenset()
    max_attempts: int = DEFAULT_REDIAL_ATTEMPTS
    interval_seconds: int = DEFAULT_REDIAL_INTERVAL_SECONDS
    outcome_wait_seconds: int = DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS

    @property
    def redials(self) -> bool:
        """Whether any attempt can follow the first."""
        return self.max_attempts > 1 and bool(self.on)

    def narrowed(
        self, on: frozenset[str] | None, max_attempts: int | None, interval_seconds: int | None
    ) -> RedialPolicy:
        """This policy narrowed by a request's own: fewer outcomes, fewer attempts, a longer interval; ValueError when
        the request asks for more than the deployment allows."""
        if on is not None and not on <= self.on:
            wider = ", ".join(sorted(on - self.on))
            raise ValueError(f"Redial.On names {wider}, which the deployment's REDIAL_ON does not")
        if max_attempts is not None and max_attempts > self.max_attempts:
            raise ValueError(f"Redial.MaxAttempts is {max_attempts}; the deployment allows {self.max_attempts}")
        if interval_seconds is not None and interval_seconds < self.interval_seconds:
            raise ValueError(
                f"Redial.IntervalSeconds is {interval_seconds}; the deployment waits at least {self.interval_seconds}"
            )
        return RedialPolicy(
            on=self.on if on is None else on,
            max_attempts=self.max_attempts if max_attempts is None else max_attempts,
            interval_seconds=self.interval_seconds if interval_seconds is None else interval_seconds,
            outcome_wait_seconds=self.outcome_wait_seconds,
        )


def parse_outcomes(text: str) -> frozenset[str]:
    """REDIAL_ON, e.g. ``NoAnswer,Busy,Voicemail``; ValueError names an outcome that is not one."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in OUTCOMES:
            raise ValueError(f"{name!r} is not an outcome; the outcomes are {', '.join(sorted(OUTCOMES))}")
    if ANSWERED in names:
        raise ValueError("an Answered call is never redialled")
    return frozenset(names)
