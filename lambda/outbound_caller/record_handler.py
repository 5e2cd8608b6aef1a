"""One SQS record's journey: validate, check calling safety, wait its turn, place the call once, and settle as
placed, deferred, dead-lettered or retried."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.config.settings import load_settings
from outbound_caller.connect.back_pressure import BackPressure, back_pressure_reason
from outbound_caller.connect.calls import PlacedCall, requests_sent_by
from outbound_caller.connect.idempotency import OncePerToken
from outbound_caller.connect.instance_state import (
    DynamoInstanceStateStore,
    InstanceStateStore,
    MemoryInstanceStateStore,
)
from outbound_caller.connect.pacing import Pacer
from outbound_caller.connect.placed_calls import PlacedCallsLedger
from outbound_caller.decisions import (
    EXPIRED,
    INSTANCE_AT_CAPACITY,
    INVOCATION_ENDING,
    UNEXPECTED_ERROR,
    Deferral,
    Failure,
)
from outbound_caller.names import CALLS_RETRIED
from outbound_caller.observability import count_by_error_code, count_placed, logger, tracer
from outbound_caller.privacy import mask_phone_number
from outbound_caller.request.envelopes import CallDelivery, CallRequestRecord, parse_delivery
from outbound_caller.request.signing_key import SigningKey
from outbound_caller.results.events import placed as placed_event
from outbound_caller.results.publisher import ResultEvents, events_client
from outbound_caller.safety.call_limit import DestinationCallLimiter
from outbound_caller.safety.destinations import Destination, allowed_destination
from outbound_caller.safety.policy import not_yet
from outbound_caller.settling.deferral import deferral_deadline_ms, still_deferred
from outbound_caller.settling.outcomes import classify
from outbound_caller.settling.settlement import RetryableRecordError, Settle, shown_token
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS

# Parsed once per container: a missing or malformed variable fails the function at start.
SETTINGS = load_settings()
PACER = Pacer(SETTINGS.calls_per_second_per_invocation, burst=SETTINGS.calls_burst_per_invocation)
LEDGER = PlacedCallsLedger(SETTINGS.idempotency_table_name) if SETTINGS.idempotency_table_name else None
# Calls per destination, counted when Connect is about to be called (the ledger answers replays before that).
LIMITER = (
    DestinationCallLimiter(
        SETTINGS.destination_calls_table_name, SETTINGS.destination_call_limit, salt=SETTINGS.instance_id
    )
    if SETTINGS.destination_call_limit is not None and SETTINGS.destination_calls_table_name is not None
    else None
)
ONCE = OncePerToken(LEDGER, guard=LIMITER)
INSTANCE_STATE: InstanceStateStore = (
    DynamoInstanceStateStore(LEDGER.table_name, SETTINGS.instance_id)
    if LEDGER is not None
    else MemoryInstanceStateStore()
)
BACK_PRESSURE = BackPressure(INSTANCE_STATE, SETTINGS.concurrent_calls_limit)
# The key of the MAC on the function's own messages: read once per invocation (cached for minutes), by the handler.
SIGNING_KEY = SigningKey(SETTINGS.message_signing_key_secret_id)
# Each record's outcome, published once per invocation by the handler; None: no result bus, no EventBridge client.
RESULTS = ResultEvents(events_client(), SETTINGS.result_event_bus_name) if SETTINGS.result_event_bus_name else None

RECORD_TIME_RESERVE_MS = RECORD_TIME_RESERVE_SECONDS * 1000
# Wall-clock seconds, as deferrals and ExpiresAt name times (tests move it).
CLOCK = time.time


# Traced without the response; an error reaching the trace is a RetryableRecordError, whose message is safe.
@tracer.capture_method(capture_response=False)
def handle_record(
    raw: dict[str, Any],
    lambda_context: LambdaContext,
    *,
    signing_key: bytes | None = None,
    refusal: Failure | None = None,
) -> str:
    """Settle one record: return its outcome, or raise RetryableRecordError to have SQS redeliver it.

    The one place nothing escapes: whatever the record holds, and whatever fails while it is settled, it ends placed,
    deferred, dead-lettered with its ErrorCode, or retried with its reason logged. ``refusal``: the invocation
    cannot take records at all (its timeout is too short, the signing key unreadable): each is handed back with it.
    """
    try:
        return _journey(raw, lambda_context, signing_key, refusal)
    except RetryableRecordError:
        raise
    except Exception as error:  # noqa: BLE001 - the last resort: a failure of the settling itself
        raise _unsettled(raw, error) from None


def _unsettled(raw: dict[str, Any], error: Exception) -> RetryableRecordError:
    """Log and count a record whose settling failed (a bug of ours): SQS redelivers it. Writes only what cannot fail:
    the messageId SQS gave and the error's type, never the record's content."""
    failure = Failure(UNEXPECTED_ERROR, f"settling the record failed: {type(error).__name__}", permanent=False)
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    logger.error(
        "Call request left for retry",
        extra={
            "outcome": "retried",
            "error_code": failure.code,
            "error_message": failure.message,
            "message_id": message_id if isinstance(message_id, str) else None,
        },
    )
    count_by_error_code(CALLS_RETRIED, failure.code)
    return RetryableRecordError(failure)


def _journey(
    raw: dict[str, Any], lambda_context: LambdaContext, signing_key: bytes | None, refusal: Failure | None
) -> str:
    record = CallRequestRecord.model_validate(raw)
    if refusal is not None:
        return Settle(SETTINGS, record, None, None, lambda_context, RESULTS).failure(refusal)
    try:
        if signing_key is not None:
            record.steer(signing_key)
        delivery = parse_delivery(record, SETTINGS)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return Settle(SETTINGS, record, None, None, lambda_context, RESULTS, signing_key).failure(classify(error))
    destination = mask_phone_number(delivery.request.DestinationPhoneNumber)
    settle = Settle(SETTINGS, record, delivery, destination, lambda_context, RESULTS, signing_key)
    try:
        callee = allowed_destination(delivery.request.DestinationPhoneNumber, SETTINGS)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return settle.failure(classify(error))
    now_ms = _now_ms()
    not_now = _not_now(settle, record, delivery, callee, now_ms, hop=True)
    if not_now is not None:
        return not_now
    # Parsed first (no I/O), so that a record released here still carries its own token when it is sent back.
    if lambda_context.get_remaining_time_in_millis() - PACER.delay() * 1000 < RECORD_TIME_RESERVE_MS:
        return settle.deferral(Deferral(INVOCATION_ENDING, now_ms), now_ms)
    held = BACK_PRESSURE.wait()
    if held is not None:
        return settle.deferral(held, now_ms)
    PACER.wait_turn()
    # The turn may come seconds later: expiry and calling hours are decided again for the instant of the call.
    not_now = _not_now(settle, record, delivery, callee, _now_ms(), hop=False)
    if not_now is not None:
        return not_now
    try:
        placed = _call(record, delivery, lambda_context)
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        reason = back_pressure_reason(error)
        if reason == INSTANCE_AT_CAPACITY:
            return settle.deferral(BACK_PRESSURE.instance_full(), _now_ms())
        if reason is not None:
            return settle.deferral(BACK_PRESSURE.throttled(record.deferral_count), _now_ms())
        return settle.failure(classify(error))
    logger.info(
        "Call placed",
        extra={
            "outcome": "placed",
            "contact_id": placed.contact_id,
            # An earlier delivery placed it: Connect was not called again.
            "replayed": placed.replayed,
            # False: Connect placed the call but its record is still to be completed (done later, never re-dialled).
            "recorded": placed.recorded,
            "destination": destination,
            "client_token": shown_token(record, delivery),
            "token_source": delivery.token_source,
            "envelope": delivery.envelope,
            "message_id": record.messageId,
        },
    )
    count_placed()
    # Also for a redelivery the ledger answered: events are at-least-once, consumers dedupe by ClientToken.
    settle.announce(placed_event(placed.contact_id, settle.result_token, record.source_message_id))
    return "placed"


def _not_now(
    settle: Settle, record: CallRequestRecord, delivery: CallDelivery, callee: Destination, now_ms: int, *, hop: bool
) -> str | None:
    """How a request that may not be called at now_ms ends (Expired, or deferred), else None.

    ``hop``: a deferral longer than SQS's delay hops on, with no Connect call, before anything else is decided.
    """
    expires_at = delivery.request.ExpiresAt
    if expires_at is not None and now_ms >= expires_at.timestamp() * 1000:
        return settle.failure(Failure(EXPIRED, "ExpiresAt passed before the call was placed", permanent=True))
    try:
        hopping = still_deferred(record, now_ms) if hop else None
        waiting = hopping or not_yet(
            delivery.request,
            callee,
            delivery.client_token,
            SETTINGS,
            now_ms=now_ms,
            deadline_ms=deferral_deadline_ms(record, delivery.request, SETTINGS),
        )
    except Exception as error:  # noqa: BLE001 - every failure is classified, none may escape unlogged
        return settle.failure(classify(error))
    return settle.deferral(waiting, now_ms, hop=hopping is not None) if waiting is not None else None


def _call(record: CallRequestRecord, delivery: CallDelivery, lambda_context: LambdaContext) -> PlacedCall:
    try:
        placed = ONCE.place(
            delivery.request.to_api_params(SETTINGS, delivery.client_token),
            confirmed_attempt=record.confirmed_attempt,
            remaining_ms=lambda_context.get_remaining_time_in_millis(),
        )
    except Exception as error:
        PACER.charge(requests_sent_by(error))
        raise
    PACER.charge(placed.requests_sent)
    return placed


def _now_ms() -> int:
    return int(CLOCK() * 1000)
