"""One SQS record's journey: validate, check calling safety, wait its turn, place the call once, and settle as placed,
deferred, dead-lettered or retried.

Read top to bottom: `settle_record` is the one place nothing escapes, `_journey` the one place an exception becomes
an outcome, `_steps` the journey itself. Lower layers report by raising (a refusal, Connect's answer) or by returning a
Deferral; they never settle a record themselves.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.connect.back_pressure import back_pressure_reason
from outbound_caller.connect.calls import PlacedCall, requests_sent_by
from outbound_caller.decisions import (
    EXPIRED,
    INSTANCE_AT_CAPACITY,
    INVOCATION_ENDING,
    REDIAL,
    UNEXPECTED_ERROR,
    Deferral,
    DeferralRequired,
    Failure,
    Outcome,
    OutcomeKind,
)
from outbound_caller.names import CALLS_RETRIED
from outbound_caller.observability import count_by_error_code, logger, tracer
from outbound_caller.request.envelopes import CallDelivery, parse_delivery
from outbound_caller.request.record import CallRequestRecord
from outbound_caller.safety.destinations import Destination, allowed_destination
from outbound_caller.safety.policy import not_yet
from outbound_caller.safety.redial import Dial
from outbound_caller.settling.deferral import deferral_deadline_ms, still_deferred
from outbound_caller.settling.outcomes import classify
from outbound_caller.settling.redial import redial_after_placed, redial_after_placing
from outbound_caller.settling.settlement import Settle
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS
from outbound_caller.wiring import Caller

RECORD_TIME_RESERVE_MS = RECORD_TIME_RESERVE_SECONDS * 1000


# Traced without the response: an outcome names no personal data, but a trace needs none of it.
@tracer.capture_method(capture_response=False)
def settle_record(
    raw: dict[str, Any],
    lambda_context: LambdaContext,
    caller: Caller,
    *,
    signing_key: bytes | None,
    refusal: Failure | None = None,
) -> Outcome:
    """Settle one record as Lambda delivered it: placed, deferred, dead-lettered with its ErrorCode, or retried.

    Nothing escapes: whatever the record holds, and whatever fails while it is settled, it ends with an outcome and
    its reason logged. ``refusal``: the invocation cannot take records at all (its timeout is too short, the signing
    key unreadable): each is handed back with it.
    """
    try:
        return _journey(raw, lambda_context, caller, signing_key, refusal)
    except Exception as error:  # noqa: BLE001 - the last resort: a failure of the settling itself
        return _unsettled(raw, error)


def _unsettled(raw: dict[str, Any], error: Exception) -> Outcome:
    """A record whose settling failed (a bug of ours), logged and counted by what cannot fail: the messageId SQS gave
    and the error's type, never the record's content. SQS redelivers it."""
    failure = Failure(UNEXPECTED_ERROR, f"settling the record failed: {type(error).__name__}", permanent=False)
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    shown_id = message_id if isinstance(message_id, str) else ""
    logger.error(
        "Call request left for retry",
        extra={
            "outcome": OutcomeKind.RETRIED.value,
            "error_code": failure.code,
            "error_message": failure.message,
            "message_id": shown_id,
        },
    )
    count_by_error_code(CALLS_RETRIED, failure.code)
    return Outcome(OutcomeKind.RETRIED, "", shown_id, failure=failure)


def _journey(
    raw: dict[str, Any], lambda_context: LambdaContext, caller: Caller, key: bytes | None, refusal: Failure | None
) -> Outcome:
    record = CallRequestRecord.model_validate(raw)
    settle = Settle(caller.settings, record, lambda_context, caller.clients.sqs, key)
    if refusal is not None:
        return settle.failure(refusal)
    try:
        return _steps(record, lambda_context, caller, settle, key)
    except DeferralRequired as waiting:
        return settle.deferral(waiting.deferral, caller.now_ms())
    except Exception as error:  # noqa: BLE001 - the one place an exception becomes an outcome
        reason = back_pressure_reason(error)
        if reason == INSTANCE_AT_CAPACITY:
            return settle.deferral(caller.back_pressure.instance_full(), caller.now_ms())
        if reason is not None:
            return settle.deferral(caller.back_pressure.throttled(record.deferral_count), caller.now_ms())
        return settle.failure(classify(error))


def _steps(
    record: CallRequestRecord, lambda_context: LambdaContext, caller: Caller, settle: Settle, key: bytes | None
) -> Outcome:
    settings = caller.settings
    if key is not None:
        record.steer(key)
    delivery = parse_delivery(record, settings)
    settle.know(delivery)
    callee = allowed_destination(delivery.request.DestinationPhoneNumber, settings)
    # Before anything is waited for or spent: a number that asked not to be called is not, whenever it arrives.
    if caller.suppression is not None and caller.suppression.is_listed(delivery.request.DestinationPhoneNumber):
        return settle.suppressed()
    # Each attempt of a redialled request is its own call, with its own token (the first keeps the request's).
    policy = delivery.request.redial_policy(settings)
    token = delivery.token.for_attempt(record.attempt)
    if policy.redials and record.deferral_reason == REDIAL:
        # Copies of a waiting request (a message delivered twice) collapse: one goes on from each wait.
        copies = caller.redial_copies
        if copies is not None and not copies.goes_on(delivery.token.value, record.deferral_count, record.messageId):
            return settle.redial_ended("another copy of this request goes on with its redial (a duplicate delivery)")
        after = redial_after_placed(settle, caller.once.ledger, token.value, caller.now_ms())
        if after is not None:
            return after
    now_ms = caller.now_ms()
    not_now = _not_now(settle, record, delivery, callee, caller, now_ms, hop=True)
    if not_now is not None:
        return not_now
    # Parsed first (no I/O), so that a record released here still carries its own token when it is sent back.
    if lambda_context.get_remaining_time_in_millis() - caller.pacer.delay() * 1000 < RECORD_TIME_RESERVE_MS:
        return settle.deferral(Deferral(INVOCATION_ENDING, now_ms), now_ms)
    held = caller.back_pressure.wait(slot_handed_over=record.slot_handed_over)
    if held is not None:
        return settle.deferral(held, now_ms)
    caller.pacer.wait_turn()
    # The turn may come seconds later: expiry and calling hours are decided again for the instant of the call.
    not_now = _not_now(settle, record, delivery, callee, caller, caller.now_ms(), hop=False)
    if not_now is not None:
        return not_now
    dial = (
        Dial(record.attempt, policy, deferral_deadline_ms(record, delivery.request, settings), caller.now_ms())
        if policy.redials
        else None
    )
    placed = _call(record, delivery, lambda_context, caller, token.value, dial)
    if dial is None:
        return settle.placed(placed, caller.now_ms())
    return redial_after_placing(settle, caller.once.ledger, placed, token.value, dial, caller.now_ms())


def _not_now(
    settle: Settle,
    record: CallRequestRecord,
    delivery: CallDelivery,
    callee: Destination,
    caller: Caller,
    now_ms: int,
    *,
    hop: bool,
) -> Outcome | None:
    """How a request that may not be called at now_ms ends (Expired, or deferred), else None.

    ``hop``: a deferral longer than SQS's delay hops on, with no Connect call, before anything else is decided.
    """
    request = delivery.request
    if request.ExpiresAt is not None and now_ms >= request.ExpiresAt.timestamp() * 1000:
        return settle.failure(Failure(EXPIRED, "ExpiresAt passed before the call was placed", permanent=True))
    hopping = still_deferred(record, now_ms) if hop else None
    waiting = hopping or not_yet(
        request,
        callee,
        delivery.token.value,
        caller.settings,
        now_ms=now_ms,
        deadline_ms=deferral_deadline_ms(record, request, caller.settings),
    )
    return settle.deferral(waiting, now_ms, hop=hopping is not None) if waiting is not None else None


def _call(
    record: CallRequestRecord,
    delivery: CallDelivery,
    lambda_context: LambdaContext,
    caller: Caller,
    token: str,
    dial: Dial | None,
) -> PlacedCall:
    """Place the call once per token; bill the pacer for every request botocore sent, answered or not."""
    try:
        placed = caller.once.place(
            delivery.request.to_api_params(caller.settings, token),
            confirmed_attempt=record.confirmed_attempt,
            remaining_ms=lambda_context.get_remaining_time_in_millis(),
            dial=dial,
        )
    except Exception as error:
        caller.pacer.charge(requests_sent_by(error))
        raise
    caller.pacer.charge(placed.requests_sent)
    return placed
