"""How a record ends: placed, dead-lettered with its reason, deferred, or left for SQS to retry.

Each ending is logged and counted under its reason, with the destination masked and a producer's token masked, and
returned as an Outcome, which the journey announces as a result event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.config.settings import Settings
from outbound_caller.connect.calls import PlacedCall
from outbound_caller.decisions import (
    DEAD_LETTER_SEND_FAILED,
    DEFERRAL_SEND_FAILED,
    DESTINATION_SUPPRESSED,
    EXPIRED,
    INSTANCE_AT_CAPACITY,
    Deferral,
    Failure,
    Outcome,
    OutcomeKind,
)
from outbound_caller.names import CALLS_DEAD_LETTERED, CALLS_RETRIED
from outbound_caller.observability import (
    count_by_error_code,
    count_deferred,
    count_parked,
    count_placed,
    count_suppressed,
    logger,
)
from outbound_caller.privacy import mask_phone_number
from outbound_caller.request.envelopes import CallDelivery, unparsed_token
from outbound_caller.request.record import CallRequestRecord
from outbound_caller.request.token import RecordToken
from outbound_caller.settling.dead_letter import dead_letter
from outbound_caller.settling.deferral import defer, deferral_deadline_ms, source_queue_url
from outbound_caller.settling.outcomes import classify, retries_exhausted
from outbound_caller.settling.waiting_room import park
from outbound_caller.timeouts import SETTLE_SECONDS, WORST_CASE_DEAD_LETTER_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# Enough time left to send one message (a dead-letter or a deferral) for a record, though not to call for it.
SEND_TIME_RESERVE_MS = (WORST_CASE_DEAD_LETTER_SECONDS + SETTLE_SECONDS) * 1000


class Settle:
    """The endings of one record, with what every ending logs: the record, its delivery once known, its token."""

    def __init__(
        self,
        settings: Settings,
        record: CallRequestRecord,
        lambda_context: LambdaContext,
        sqs: SQSClient,
        signing_key: bytes | None,
    ) -> None:
        self._settings = settings
        self._record = record
        self._context = lambda_context
        self._sqs = sqs
        # Signs what is sent on the record's behalf; None (the secret unreadable): sent unsigned, read as a producer's.
        self._key = signing_key
        self._delivery: CallDelivery | None = None
        self._token: RecordToken | None = None

    @property
    def attempt(self) -> int:
        """Which attempt of a redialled request the record is for: read when needed, as the record's signed
        attributes (its Attempt among them) are trusted only once verified, after this Settle is made."""
        return self._record.attempt

    def know(self, delivery: CallDelivery) -> None:
        """The record's request is valid: from now on its token and destination are the delivery's."""
        self._delivery, self._token = delivery, delivery.token

    @property
    def token(self) -> RecordToken:
        """The record's token: its delivery's, or (for a body that failed validation) the one its record implies."""
        if self._token is None:
            self._token = unparsed_token(self._record)
        return self._token

    def placed(
        self, call: PlacedCall, now_ms: int, then: Deferral | None = None, then_attempt: int | None = None
    ) -> Outcome:
        """Log and count a placed call (also one an earlier delivery placed: events are at least once).

        ``then``: the request waits on for its redial, sent back for ``then_attempt`` (this attempt, whose outcome it
        awaits; or the next). Should that send fail the record is retried: its redelivery finds the call placed.
        """
        assert self._delivery is not None  # noqa: S101 - only a valid request is placed
        logger.info(
            "Call placed",
            extra={
                "outcome": OutcomeKind.PLACED.value,
                "contact_id": call.contact_id,
                # An earlier delivery placed it: Connect was not called again.
                "replayed": call.replayed,
                # False: Connect placed the call but its record is still to be completed (done later, never again).
                "recorded": call.recorded,
                "token_source": self.token.source,
                "envelope": self._delivery.envelope,
                "attempt": self.attempt,
                **self._identity(),
            },
        )
        count_placed()
        if then is not None:
            not_sent = self._send_deferral(then, now_ms, then_attempt or self.attempt)
            if not_sent is not None:
                return not_sent
        return self._outcome(OutcomeKind.PLACED, contact_id=call.contact_id, then=then, then_attempt=then_attempt)

    def redial_ended(self, reason: str) -> Outcome:
        """The request's last attempt was placed earlier and nothing follows it: it ends here, with nothing to announce
        (its Outbound Call Completed says Final)."""
        logger.info(
            "Call request ended: no further attempt",
            extra={"outcome": OutcomeKind.PLACED.value, "reason": reason, "attempt": self.attempt, **self._identity()},
        )
        return self._outcome(OutcomeKind.PLACED, announced=False)

    def suppressed(self) -> Outcome:
        """The destination is on the suppression list: no call, no dead-letter (nothing for an operator to do)."""
        logger.info(
            "Call request suppressed",
            extra={"outcome": OutcomeKind.SUPPRESSED.value, "error_code": DESTINATION_SUPPRESSED, **self._identity()},
        )
        count_suppressed()
        return self._outcome(OutcomeKind.SUPPRESSED)

    def failure(self, failure: Failure) -> Outcome:
        """Dead-letter a permanent failure (or a retryable one on its last receive); leave the others to SQS."""
        record = self._record
        if not failure.permanent:
            receive_count = int(record.attributes.ApproximateReceiveCount)
            if self._settings.max_receive_count is None or receive_count < self._settings.max_receive_count:
                return self.retry(failure)
            # The last receive: dead-letter it here, with its reason, rather than let SQS move it with none.
            failure = retries_exhausted(failure, receive_count)
        # Not even a dead-letter send fits in the invocation: SQS delivers it again (or, after its last receive,
        # moves it without a reason) rather than the function being cut off mid-send.
        if self._context.get_remaining_time_in_millis() < SEND_TIME_RESERVE_MS:
            return self.retry(failure)
        travelling = self.token.travelling
        not_sent = self._send(
            lambda: dead_letter(
                self._sqs,
                self._settings.dead_letter_queue_url,
                record.body,
                failure,
                record.source_message_id,
                travelling,
                self._key,
                self.attempt,
            ),
            DEAD_LETTER_SEND_FAILED,
            f"{failure.code}; dead-letter",
        )
        if not_sent is not None:
            return not_sent
        logger.warning(
            "Call request dead-lettered",
            extra={
                "outcome": OutcomeKind.DEAD_LETTERED.value,
                "error_code": failure.code,
                "error_message": failure.message,
                **self._identity(),
            },
        )
        count_by_error_code(CALLS_DEAD_LETTERED, failure.code)
        return self._outcome(OutcomeKind.DEAD_LETTERED, failure=failure)

    def deferral(self, deferral: Deferral, now_ms: int, *, hop: bool = False, attempt: int | None = None) -> Outcome:
        """Send the request back to its queue for later, within its bound; past the bound, dead-letter it Expired.

        ``hop``: the request only hops on towards a time already announced, so no new Deferred event is published.
        ``attempt``: the attempt it comes back for (a redial's next one), else this record's.
        """
        attempt = attempt or self.attempt
        request = self._delivery.request if self._delivery else None
        deadline_ms = deferral_deadline_ms(self._record, request, self._settings)
        if now_ms >= deadline_ms:
            message = f"still deferred ({deferral.reason}) when its deferral bound passed"
            return self.failure(Failure(EXPIRED, message, permanent=True))
        if deferral.binding and deferral.until_ms >= deadline_ms:
            # It may not be called before until_ms, and may not wait that long: it can never be placed.
            return self.failure(Failure(EXPIRED, f"deferred ({deferral.reason}) beyond its deferral bound", True))
        deferral = Deferral(deferral.reason, min(deferral.until_ms, deadline_ms))
        not_sent = self._send_deferral(deferral, now_ms, attempt)
        if not_sent is not None:
            return not_sent
        return self._outcome(OutcomeKind.DEFERRED, deferral=deferral, announced=not hop, attempt=attempt)

    def _send_deferral(self, deferral: Deferral, now_ms: int, attempt: int) -> Outcome | None:
        """Send the request back to its queue, logged and counted; None once sent, else the record's retry."""
        if self._context.get_remaining_time_in_millis() < SEND_TIME_RESERVE_MS:
            return self.retry(Failure(deferral.reason, "too little invocation time left to defer the request", False))
        travelling = self.token.travelling
        delays: list[int] = []
        room = self._settings.waiting_room_queue_url if deferral.reason == INSTANCE_AT_CAPACITY else None

        def send() -> None:
            if room is not None:
                # The instance is full: the request waits in the waiting room for a slot, not in the source queue
                # for a time; deferred_until is when the instance's hold ends, should no call of ours end sooner.
                park(self._sqs, room, self._record, deferral.reason, travelling, self._key, attempt)
                delays.append(0)
                return
            queue_url = source_queue_url(self._record, self._settings, self._sqs)
            delays.append(defer(self._sqs, queue_url, self._record, deferral, travelling, now_ms, self._key, attempt))

        not_sent = self._send(send, DEFERRAL_SEND_FAILED, f"{deferral.reason}; deferral")
        if not_sent is not None:
            return not_sent
        if room is not None:
            count_parked()
        logger.info(
            "Call request parked in the waiting room" if room is not None else "Call request deferred",
            extra={
                "outcome": OutcomeKind.DEFERRED.value,
                "reason": deferral.reason,
                "delay_seconds": delays[0],
                # When it may be called: a deferral hops every 15 minutes, so delay_seconds alone cannot say.
                "deferred_until": deferral.until_iso,
                "deferral_count": self._record.deferral_count + 1,
                "attempt": attempt,
                **self._identity(),
            },
        )
        count_deferred(deferral.reason)
        return None

    def retry(self, failure: Failure) -> Outcome:
        """Leave the record in batchItemFailures: SQS delivers it again, and the receive counts."""
        logger.warning(
            "Call request left for retry",
            extra={
                "outcome": OutcomeKind.RETRIED.value,
                "error_code": failure.code,
                "error_message": failure.message,
                "receive_count": self._record.attributes.ApproximateReceiveCount,
                **self._identity(),
            },
        )
        count_by_error_code(CALLS_RETRIED, failure.code)
        return self._outcome(OutcomeKind.RETRIED, failure=failure)

    def _send(self, send: Callable[[], None], failed_code: str, what: str) -> Outcome | None:
        """Send a message for the record; None once sent, else the record's retry: never dropped."""
        try:
            send()
        except Exception as error:  # noqa: BLE001 - every failure of the send means the same: retry the record
            return self.retry(Failure(failed_code, f"{what} send failed: {classify(error).code}", False))
        return None

    def _outcome(self, kind: OutcomeKind, **details: object) -> Outcome:
        details.setdefault("attempt", self.attempt)
        return Outcome(kind, self.token.in_results, self._record.source_message_id, **details)  # type: ignore[arg-type]

    def _identity(self) -> dict[str, object]:
        number = self._delivery.request.DestinationPhoneNumber if self._delivery else None
        return {
            "destination": mask_phone_number(number),
            "client_token": self.token.shown,
            "message_id": self._record.messageId,
        }
