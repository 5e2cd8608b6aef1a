"""The deployment's redial policy as the function's settings read it (the policy itself: redial.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from outbound_caller.config.common import FROZEN
from outbound_caller.config.redial import (
    DEFAULT_REDIAL_ATTEMPTS,
    DEFAULT_REDIAL_INTERVAL_SECONDS,
    DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS,
    MAX_REDIAL_ATTEMPTS,
    MAX_REDIAL_OUTCOME_WAIT_SECONDS,
    MIN_REDIAL_INTERVAL_SECONDS,
    RedialPolicy,
    parse_outcomes,
)


class RedialFields(BaseModel):
    """Outcomes that earn another attempt, attempts in all, their interval, and how long an outcome may take."""

    model_config = FROZEN

    redial_on: frozenset[str] = Field(alias="REDIAL_ON", default=frozenset())
    redial_max_attempts: int = Field(
        alias="REDIAL_MAX_ATTEMPTS", default=DEFAULT_REDIAL_ATTEMPTS, ge=1, le=MAX_REDIAL_ATTEMPTS
    )
    redial_interval_seconds: int = Field(
        alias="REDIAL_INTERVAL_SECONDS", default=DEFAULT_REDIAL_INTERVAL_SECONDS, ge=MIN_REDIAL_INTERVAL_SECONDS
    )
    redial_outcome_wait_seconds: int = Field(
        alias="REDIAL_OUTCOME_WAIT_SECONDS",
        default=DEFAULT_REDIAL_OUTCOME_WAIT_SECONDS,
        ge=MIN_REDIAL_INTERVAL_SECONDS,
        le=MAX_REDIAL_OUTCOME_WAIT_SECONDS,
    )

    @field_validator("redial_on", mode="before")
    @classmethod
    def _redial_on(cls, value: object) -> object:
        return parse_outcomes(value) if isinstance(value, str) else value

    @property
    def redial_policy(self) -> RedialPolicy:
        """The deployment's redial policy, which a request may narrow."""
        return RedialPolicy(
            on=self.redial_on,
            max_attempts=self.redial_max_attempts,
            interval_seconds=self.redial_interval_seconds,
            outcome_wait_seconds=self.redial_outcome_wait_seconds,
        )
