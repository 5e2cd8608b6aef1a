"""How a record that placed no call ends: dead-lettered with its reason, deferred, or left for SQS to retry.

Each ending is logged and counted under its reason, with the destination masked and a producer's token masked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

from aws_lambda_powertools.utilities.typing import LambdaContext

from outbound_caller.config.settings import Settings
from outbound_caller.decisions import DEAD_LETTER_SEND_FAILED, DEFERRAL_SEND_FAILED, EXPIRED, Deferral, Failure
from outbound_caller.names import CALLS_DEAD_LETTERED, CALLS_RETRIED
from outbound_caller.observability import count_by_error_code, count_deferred, logger
from outbound_caller.privacy import mask_token
from outbound_caller.request.envelopes import (
    FREE_TEXT_TOKEN_SOURCES,
    TOKEN_FROM_REQUEST,
    CallDelivery,
    CallRequestRecord,
    unparsed_token,
)
from outbound_caller.results.events import ResultEvent, deferred, rejected
from outbound_caller.results.publisher import ResultEvents
from outbound_caller.settling.dead_letter import dead_letter
from outbound_caller.settling.deferral import defer, deferral_deadline_ms, source_queue_url
from outbound_caller.settling.outcomes import classify, retries_exhausted
from outbound_caller.timeouts import SETTLE_SECONDS, WORST_CASE_DEAD_LETTER_SECONDS

# Enough time left to send one message (a dead-letter or a deferral) for a record, though not to call for it.
SEND_TIME_RESERVE_MS = (WORST_CASE_DEAD_LETTER_SECONDS + SETTLE_SECONDS) * 1000

T = TypeVar("T")

DEAD_LETTERED = "dead_lettered"
DEFERRED = "deferred"


class RetryableRecordError(Exception):
    """Raised to leave a record in batchItemFailures, so SQS delivers it again."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


class Settle:
    """The endings of one record, with what every ending logs: the record, its delivery, its masked destination."""

    def __init__(
        self,
        settings: Settings,
        record: CallRequestRecord,
        delivery: CallDelivery | None,
        destination: str | None,
        lambda_context: LambdaContext,
        results: ResultEvents | None = None,
        signing_key: bytes | None = None,
    ) -> None:
        self._settings = settings
        # Signs what is sent on the record's behalf; None (the secret unreadable): sent unsigned, read as a producer's.
        self._key = signing_key
        self._results = results
        self._record = record
        self._delivery = delivery
        self._destination = destination
        self._context = lambda_context

    def failure(self, failure: Failure) -> str:
        """Dead-letter a permanent failure (or a retryable one on its last receive); leave the others to SQS."""
        record = self._record
        if not failure.permanent:
            receive_count = int(record.attributes.ApproximateReceiveCount)
            if self._settings.max_receive_count is None or receive_count < self._settings.max_receive_count:
                self.retry(failure)
            # The last receive: dead-letter it here, with its reason, rather than let SQS move it with none.
            failure = retries_exhausted(failure, receive_count)
        # Not even a dead-letter send fits in the invocation: SQS delivers it again (or, after its last receive,
        # moves it without a reason) rather than the function being cut off mid-send.
        if self._context.get_remaining_time_in_millis() < SEND_TIME_RESERVE_MS:
            self.retry(failure)
        self._send_or_retry(
            lambda: dead_letter(
                self._settings.dead_letter_queue_url,
                record.body,
                failure,
                record.source_message_id,
                self._travelling_token(),
                self._key,
            ),
            DEAD_LETTER_SEND_FAILED,
            f"{failure.code}; dead-letter",
        )
        logger.warning(
            "Call request dead-lettered",
            extra={
                "outcome": DEAD_LETTERED,
                "error_code": failure.code,
                "error_message": failure.message,
                **self._identity(),
            },
        )
        count_by_error_code(CALLS_DEAD_LETTERED, failure.code)
        self.announce(rejected(failure.code, self.result_token, record.source_message_id))
        return DEAD_LETTERED

    def deferral(self, deferral: Deferral, now_ms: int, *, hop: bool = False) -> str:
        """Send the request back to its queue for later, within its bound; past the bound, dead-letter it Expired.

        ``hop``: the request only hops on towards a time already announced, so no new Deferred event is published.
        """
        deadline_ms = deferral_deadline_ms(
            self._record, self._delivery.request if self._delivery else None, self._settings
        )
        if now_ms >= deadline_ms:
            return self.failure(
                Failure(EXPIRED, f"still deferred ({deferral.reason}) when its deferral bound passed", permanent=True)
            )
        if deferral.binding and deferral.until_ms >= deadline_ms:
            # It may not be called before until_ms, and may not wait that long: it can never be placed.
            return self.failure(
                Failure(EXPIRED, f"deferred ({deferral.reason}) beyond its deferral bound", permanent=True)
            )
        deferral = Deferral(deferral.reason, min(deferral.until_ms, deadline_ms))
        if self._context.get_remaining_time_in_millis() < SEND_TIME_RESERVE_MS:
            self.retry(Failure(deferral.reason, "too little invocation time left to defer the request", False))
        queue_url = source_queue_url(self._record, self._settings)
        delay = self._send_or_retry(
            lambda: defer(queue_url, self._record, deferral, self._travelling_token(), now_ms, self._key),
            DEFERRAL_SEND_FAILED,
            f"{deferral.reason}; deferral",
        )
        logger.info(
            "Call request deferred",
            extra={
                "outcome": DEFERRED,
                "reason": deferral.reason,
                "delay_seconds": delay,
                # When it may be called: a deferral hops every 15 minutes, so delay_seconds alone cannot say.
                "deferred_until": deferral.until_iso,
                "deferral_count": self._record.deferral_count + 1,
                **self._identity(),
            },
        )
        count_deferred(deferral.reason)
        if not hop:
            source_message_id = self._record.source_message_id
            self.announce(deferred(deferral.reason, deferral.until_iso, self.result_token, source_message_id))
        return DEFERRED

    def retry(self, failure: Failure) -> NoReturn:
        """Leave the record in batchItemFailures: SQS delivers it again, and the receive counts."""
        logger.warning(
            "Call request left for retry",
            extra={
                "outcome": "retried",
                "error_code": failure.code,
                "error_message": failure.message,
                "receive_count": self._record.attributes.ApproximateReceiveCount,
                **self._identity(),
            },
        )
        count_by_error_code(CALLS_RETRIED, failure.code)
        raise RetryableRecordError(failure)

    def _send_or_retry(self, send: Callable[[], T], failed_code: str, what: str) -> T:
        """Send a message for the record; if the send fails, the record is retried, never dropped."""
        try:
            return send()
        except Exception as error:  # noqa: BLE001 - every failure of the send means the same: retry the record
            self.retry(Failure(failed_code, f"{what} send failed: {classify(error).code}", False))

    def announce(self, event: ResultEvent) -> None:
        """Buffer the record's result event for the invocation's publish (none when no result bus is configured)."""
        if self._results is not None:
            self._results.add(*event)

    @property
    def result_token(self) -> str:
        """The record's token as result events name it."""
        return result_token(self._record, self._delivery)

    @property
    def shown_token(self) -> str:
        """The record's token as logs and result events show it (a producer's own text masked)."""
        return shown_token(self._record, self._delivery)

    def _identity(self) -> dict[str, object]:
        return {
            "destination": self._destination,
            "client_token": self.shown_token,
            "message_id": self._record.messageId,
        }

    def _travelling_token(self) -> str:
        """The ClientToken a message the function sends must carry, so that it comes back with the same token.

        A token the request names itself stays in the body, which wins on redrive: the attribute shows it masked.
        """
        token, source = _token_and_source(self._record, self._delivery)
        return mask_token(token) if source == TOKEN_FROM_REQUEST else token


def _token_and_source(record: CallRequestRecord, delivery: CallDelivery | None) -> tuple[str, str]:
    """The delivery's token, or, when its body could not be parsed, the one the record itself implies."""
    if delivery is None:
        return unparsed_token(record)
    return delivery.client_token, delivery.token_source


def result_token(record: CallRequestRecord, delivery: CallDelivery | None) -> str:
    """The token as result events name it: masked whatever its source, so that the completion handler, which finds
    only the token's hash in the placed-calls ledger, names a call's token as Placed did."""
    token, _ = _token_and_source(record, delivery)
    return mask_token(token)


def shown_token(record: CallRequestRecord, delivery: CallDelivery | None) -> str:
    """The token as logs show it: IDs AWS generated as they are, a producer's own text masked."""
    token, source = _token_and_source(record, delivery)
    return mask_token(token) if source in FREE_TEXT_TOKEN_SOURCES else token
