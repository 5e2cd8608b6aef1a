"""The counts a call must fit before Connect is called: calls to its destination (DESTINATION_CALL_LIMIT, a refusal
when full) and calls from its caller ID (SOURCE_CALL_LIMIT, a deferral until a slot frees).

Taken when Connect is about to be called (the placed-calls ledger answers replays before that, so a replay never counts
again), each attempt counting once; a call Connect surely did not create is uncounted again, an uncertain one keeps
counting.
"""

from __future__ import annotations

from typing import Any

from outbound_caller.config.call_limits import CallLimits, duration_text
from outbound_caller.decisions import SOURCE_CALL_LIMIT, Deferral, DeferralRequired
from outbound_caller.safety.call_limit import (
    CallCounter,
    CallLimitUnavailableError,
    LimitReachedError,
    destination_key,
    source_key,
)


class DestinationCallLimitError(Exception):
    """The number had all the calls a limit allows in its window; the message never names the number."""

    def __init__(self, reached: LimitReachedError) -> None:
        counted, limit = reached.counted, reached.limit
        super().__init__(
            f"the destination was called {counted} time{'' if counted == 1 else 's'}"
            f" in the last {duration_text(limit.window_seconds)}; DESTINATION_CALL_LIMIT allows {limit.calls}"
        )


def caller_id(params: dict[str, Any]) -> str | None:
    """What a carrier sees calling: the call's source number, else its queue (whose outbound caller ID it uses)."""
    source = params.get("SourcePhoneNumber") or params.get("QueueId")
    return source if isinstance(source, str) else None


class CallLimitGuard:
    """Count a call against the source and destination limits, both or neither."""

    def __init__(
        self,
        counter: CallCounter,
        *,
        salt: str,
        destination_limits: CallLimits | None = None,
        source_limits: CallLimits | None = None,
    ) -> None:
        self.counter = counter
        self._salt = salt
        self.destination_limits = destination_limits
        self.source_limits = source_limits

    def reserve(self, params: dict[str, Any]) -> None:
        """Count the call of ``params`` (StartOutboundVoiceContact's); raise when a limit refuses or defers it."""
        token = params["ClientToken"]
        source = self._source(params)
        if source is not None and self.source_limits is not None:
            try:
                self.counter.reserve(source, token, self.source_limits)
            except LimitReachedError as reached:
                raise DeferralRequired(Deferral(SOURCE_CALL_LIMIT, reached.frees_at_ms)) from None
        if self.destination_limits is None:
            return
        destination = destination_key(params["DestinationPhoneNumber"], self._salt)
        try:
            self.counter.reserve(destination, token, self.destination_limits)
        except (LimitReachedError, CallLimitUnavailableError) as error:
            if source is not None and self.source_limits is not None:
                # Best effort: a count left taken only ever defers a call, never places one.
                _quietly(lambda: self.counter.release(source, token, self.source_limits))
            if isinstance(error, LimitReachedError):
                raise DestinationCallLimitError(error) from None
            raise

    def release(self, params: dict[str, Any]) -> None:
        """Uncount the call of ``params``: Connect surely created no contact for it."""
        token = params["ClientToken"]
        source = self._source(params)
        if source is not None and self.source_limits is not None:
            self.counter.release(source, token, self.source_limits)
        if self.destination_limits is not None:
            destination = destination_key(params["DestinationPhoneNumber"], self._salt)
            self.counter.release(destination, token, self.destination_limits)

    def _source(self, params: dict[str, Any]) -> str | None:
        identity = caller_id(params)
        return source_key(identity, self._salt) if identity is not None else None


def _quietly(release: Any) -> None:
    try:
        release()
    except CallLimitUnavailableError:
        return
