"""Place each ClientToken's call at most once, whatever SQS, Lambda or Connect do in between.

Connect answers a repeated ClientToken with its contact only while that contact is live; once the call has
ended, the same token starts a new call. So the placed-calls ledger decides, before Connect is called:

- nothing recorded, or the last attempt surely placed nothing: claim the token and call;
- placed: answer with the recorded ContactId (a replay), never call again;
- being called by another delivery whose invocation is still running: try again later;
- uncertain (an attempt may have created the contact, or a claiming invocation died before recording the
  answer): never call again on the function's own account. The request is dead-lettered as OutcomeUnknown
  naming that attempt; an operator's redrive of it confirms one more call for that attempt, and only that one:
  once taken over, the attempt number moves on and every other copy of the confirmation is stale.

A call that Connect placed is placed even when its record cannot be completed: the completion is kept and
written later, and until then it answers for the token here, while the claim left in the ledger keeps every
other container from dialling it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from outbound_caller.connect.calls import ConnectCalls, PlacedCall, UncertainOutcome
from outbound_caller.connect.placed_calls import (
    CALLING,
    PLACED,
    ClaimLostError,
    LedgerEntry,
    LedgerUnavailableError,
    PlacedCallsLedger,
    call_fingerprint,
    new_claim_id,
)
from outbound_caller.safety.call_limit import CallLimitUnavailableError
from outbound_caller.safety.redial import Dial

# How long past the invocation's deadline a claim stays "in progress": Lambda has ended the invocation by then.
LEASE_MARGIN_MS = 1000


class ClientTokenReusedError(Exception):
    """The token was recorded with a different call (destination, flow or instance)."""


class CallInProgressError(Exception):
    """Another delivery of the same token is placing its call right now."""


class OutcomeUnknownError(Exception):
    """An attempt's call may have created the contact; only an operator's redrive naming the attempt may call again."""

    def __init__(self, attempt: int | None, uncertain: UncertainOutcome | None = None) -> None:
        super().__init__(
            "an earlier delivery may have placed this call (Connect's answer was never recorded); it is not dialled"
            " again unless this dead-lettered message is redriven"
        )
        self.attempt = attempt
        self.uncertain = uncertain


class CallGuard(Protocol):
    """Counts a call must fit in (per destination, per caller ID), taken just before Connect is called."""

    def reserve(self, params: dict[str, Any]) -> None:
        """Count the call of ``params``, or raise to refuse or defer it; counting one token twice is a no-op."""

    def release(self, params: dict[str, Any]) -> None:
        """Uncount the call of ``params``: Connect surely created no contact for it."""


@dataclass(frozen=True)
class PendingCompletion:
    """A placed call whose record could not be completed yet."""

    client_token: str
    attempt: int
    contact_id: str


@dataclass
class OncePerToken:
    """Connect's call guarded by the ledger; without a ledger, the ClientToken alone guards against repeats."""

    calls: ConnectCalls
    ledger: PlacedCallsLedger | None
    # Consulted only when Connect is about to be called: a replay answered by the ledger never counts again.
    guard: CallGuard | None = None
    pending: list[PendingCompletion] = field(default_factory=list)

    def place(
        self, params: dict[str, Any], *, confirmed_attempt: int | None, remaining_ms: int, dial: Dial | None = None
    ) -> PlacedCall:
        """Place the call of params['ClientToken'] unless the ledger says it was, or may have been, placed.

        ``confirmed_attempt``: the uncertain attempt an operator confirmed by redriving its dead-letter, else
        None. ``remaining_ms``: the invocation's time left, after which a claim it leaves behind can only mean
        the invocation died. ``dial``: the request's redial facts for this attempt, recorded with the call.
        """
        ledger = self.ledger
        if ledger is None:
            return self._guarded_call(params)
        token = params["ClientToken"]
        for completion in self.pending:
            if completion.client_token == token:
                return PlacedCall(completion.contact_id, requests_sent=0, replayed=True, recorded=False)
        lease_until_ms = ledger.now_ms() + remaining_ms + LEASE_MARGIN_MS
        claim_id = new_claim_id()
        fingerprint = call_fingerprint(params)
        queue = params.get("QueueId")
        claimed = ledger.claim(token, fingerprint, lease_until_ms, claim_id, dial, queue)
        if isinstance(claimed, LedgerEntry):
            replay = _settled_by(claimed, fingerprint, confirmed_attempt, ledger.now_ms())
            if replay is not None:
                return replay
            try:
                claimed = ledger.take_over(token, claimed, lease_until_ms, claim_id, dial, queue)
            except ClaimLostError as error:
                raise CallInProgressError("another delivery claimed this call first") from error
        return self._call(ledger, params, token, claimed)

    def _guarded_call(self, params: dict[str, Any]) -> PlacedCall:
        """The call within the guard's count; a call Connect surely did not create is uncounted again."""
        guard = self.guard
        if guard is None:
            return self.calls.place(params)
        guard.reserve(params)
        try:
            return self.calls.place(params)
        except UncertainOutcome:
            raise  # it may have rung: it keeps counting
        except Exception:
            # Best effort: a count left taken only ever refuses a call, never places one.
            _best_effort(lambda: guard.release(params))
            raise

    def _call(self, ledger: PlacedCallsLedger, params: dict[str, Any], token: str, attempt: int) -> PlacedCall:
        try:
            placed = self._guarded_call(params)
        except UncertainOutcome as uncertain:
            _best_effort(lambda: ledger.mark_unknown(token, attempt))
            raise OutcomeUnknownError(attempt, uncertain) from uncertain
        except Exception:
            # Surely not created: the claim is released so a retry may call. Should the release fail, the claim
            # stays and a redelivery is dead-lettered as OutcomeUnknown: a false alarm, never a second call.
            _best_effort(lambda: ledger.release(token, attempt))
            raise
        try:
            ledger.complete(token, attempt, placed.contact_id)
        except (LedgerUnavailableError, ClaimLostError):
            self.pending.append(PendingCompletion(token, attempt, placed.contact_id))
            return dataclasses.replace(placed, recorded=False)
        return placed

    def complete_pending(self) -> int:
        """Write the completions that failed earlier; return how many are still pending."""
        if self.ledger is None:
            return 0
        still_pending = []
        for completion in self.pending:
            try:
                self.ledger.complete(completion.client_token, completion.attempt, completion.contact_id)
            except LedgerUnavailableError:
                still_pending.append(completion)
            except ClaimLostError:
                continue  # an operator's confirmed redrive took the token over since: its own record counts
        self.pending = still_pending
        return len(still_pending)


def _settled_by(
    recorded: LedgerEntry, fingerprint: str, confirmed_attempt: int | None, now_ms: int
) -> PlacedCall | None:
    """The recorded call when it settles this delivery; None when an operator confirmed this very attempt."""
    if recorded.fingerprint != fingerprint:
        raise ClientTokenReusedError("the ClientToken was recorded with a different destination, flow or instance")
    if recorded.status == PLACED and recorded.contact_id is not None:
        return PlacedCall(recorded.contact_id, requests_sent=0, replayed=True)
    if recorded.status == CALLING and recorded.lease_until_ms > now_ms:
        raise CallInProgressError("another delivery of this request is being placed right now")
    # Uncertain, or claimed by an invocation that ended without recording Connect's answer. Only a confirmation of
    # this attempt allows a call: an older one was spent when its attempt was taken over.
    if confirmed_attempt != recorded.attempt:
        raise OutcomeUnknownError(recorded.attempt)
    return None


def _best_effort(write: Callable[[], None]) -> None:
    """A write whose failure leaves the record safe: a stale claim or count only ever blocks a call."""
    try:
        write()
    except (LedgerUnavailableError, ClaimLostError, CallLimitUnavailableError):
        return
