"""A per-invocation buffer of result events, published to one event bus with PutEvents in batches.

The interface other handlers use (kept stable):

    events = ResultEvents(client, bus_name)   # an EventBridge client (wiring.py); bus_name: a name or an ARN
    events.add(detail_type, detail)                      # buffer one event (never raises, never sends)
    failed = events.flush(context.get_remaining_time_in_millis)  # send all; never raises; returns how many failed

``flush`` retries failed entries (a whole call's error, or FailedEntryCount with per-entry ErrorCodes) with backoff
while the invocation's remaining time allows, keeps PUBLISH_TIME_RESERVE_MS back for the handler's answer, then logs
the events it gave up on (tokens masked, no detail values) and counts them as ResultEventsFailed. Events are
at-least-once: a consumer dedupes by ClientToken and detail-type.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from outbound_caller.names import RESULT_EVENTS_FAILED, RESULT_EVENTS_PUBLISHED, RESULT_SOURCE
from outbound_caller.observability import logger, metrics
from outbound_caller.privacy import mask_token
from outbound_caller.timeouts import (
    SETTLE_SECONDS,
    WORST_CASE_PUT_EVENTS_SECONDS,
)

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

# EventBridge PutEvents: "You can include up to 10 entries in a single request."
MAX_ENTRIES_PER_CALL = 10
# EventBridge: an entry, and a whole PutEvents request, must be under 256 KB, counted as the UTF-8 bytes of Source,
# DetailType, Detail and Resources plus 14 bytes for Time ("Calculating PutEvents event entry size").
MAX_REQUEST_BYTES = 256 * 1024
TIME_FIELD_BYTES = 14
# One PutEvents call is only started when it can time out and still leave PUBLISH_TIME_RESERVE_MS.
WORST_CASE_PUT_EVENTS_MS = WORST_CASE_PUT_EVENTS_SECONDS * 1000
# Kept back after the last publish for logging, metrics and the batch response (as for the records).
PUBLISH_TIME_RESERVE_MS = SETTLE_SECONDS * 1000
# Rounds of PutEvents per flush: the first and three retries of what failed, 0.1 s, 0.2 s then 0.4 s apart
# (a throttled or failing bus rarely recovers within an invocation; the rest is counted, never retried forever).
MAX_PUBLISH_ROUNDS = 4
FIRST_BACKOFF_SECONDS = 0.1


@dataclass(frozen=True)
class _Pending:
    entry: PutEventsRequestEntryTypeDef
    size: int
    # What a log may show of the event: its detail-type and its token, masked.
    shown: Mapping[str, str]


class ResultEvents:
    """Result events buffered during one invocation and published to one bus by ``flush``."""

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        *,
        source: str = RESULT_SOURCE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source
        self._sleep = sleep
        self._pending: list[_Pending] = []

    @property
    def pending(self) -> int:
        """How many events wait for the next flush."""
        return len(self._pending)

    def add(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """Buffer one event; ``detail`` must hold no phone number or attribute value (it is published as is)."""
        token = detail.get("ClientToken")
        shown = {"detail_type": detail_type, "client_token": mask_token(token) if isinstance(token, str) else ""}
        try:
            body = json.dumps(detail, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError) as error:  # a detail JSON cannot hold: counted as lost, never raised
            logger.error("Result event not serializable", extra={"error_type": type(error).__name__, **shown})
            metrics.add_metric(name=RESULT_EVENTS_FAILED, unit=MetricUnit.Count, value=1)
            return
        size = TIME_FIELD_BYTES + len(self._source.encode()) + len(detail_type.encode()) + len(body.encode())
        entry: PutEventsRequestEntryTypeDef = {
            "Source": self._source,
            "DetailType": detail_type,
            "Detail": body,
            "EventBusName": self._bus_name,
        }
        self._pending.append(_Pending(entry, size, shown))

    def flush(self, remaining_ms: Callable[[], int]) -> int:
        """Publish every buffered event while ``remaining_ms()`` allows; return how many were given up on.

        Never raises: a publish that fails is logged and counted, and never changes what the invocation answers.
        """
        pending, self._pending = self._pending, []
        failed: list[_Pending] = []
        try:
            too_big = [event for event in pending if event.size >= MAX_REQUEST_BYTES]
            failed.extend(too_big)
            pending = [event for event in pending if event.size < MAX_REQUEST_BYTES]
            backoff = FIRST_BACKOFF_SECONDS
            for publish_round in range(MAX_PUBLISH_ROUNDS):
                if not pending:
                    break
                if publish_round and not self._time_for(remaining_ms, backoff):
                    break
                if publish_round:
                    self._sleep(backoff)
                    backoff *= 2
                pending = self._publish_round(pending, remaining_ms)
            failed.extend(pending)
        except Exception as error:  # noqa: BLE001 - publishing must never fail the invocation or its records
            logger.error("Result events: unexpected publish error", extra={"error_type": type(error).__name__})
            failed.extend(pending)
        self._count_failed(failed)
        return len(failed)

    def _time_for(self, remaining_ms: Callable[[], int], sleep_seconds: float = 0.0) -> bool:
        """Whether one more PutEvents call, after sleeping ``sleep_seconds``, still fits in the invocation."""
        return remaining_ms() - sleep_seconds * 1000 - WORST_CASE_PUT_EVENTS_MS >= PUBLISH_TIME_RESERVE_MS

    def _publish_round(self, pending: list[_Pending], remaining_ms: Callable[[], int]) -> list[_Pending]:
        """One PutEvents call per batch of pending events while time allows; return the events still unpublished."""
        unpublished: list[_Pending] = []
        batches = _batches(pending)
        for index, batch in enumerate(batches):
            if not self._time_for(remaining_ms):
                for rest in batches[index:]:
                    unpublished.extend(rest)
                break
            unpublished.extend(self._put(batch))
        return unpublished

    def _put(self, batch: list[_Pending]) -> list[_Pending]:
        """Send one batch; return the events EventBridge did not take (all of them if the call failed)."""
        try:
            answer = self._client.put_events(Entries=[event.entry for event in batch])
        except Exception as error:  # noqa: BLE001 - any failure of the call means the same: try the batch again
            logger.warning(
                "Result events: PutEvents failed", extra={"error_type": type(error).__name__, "events": len(batch)}
            )
            return batch
        results = answer.get("Entries", [])
        if not answer.get("FailedEntryCount") and len(results) == len(batch):
            metrics.add_metric(name=RESULT_EVENTS_PUBLISHED, unit=MetricUnit.Count, value=len(batch))
            return []
        # Entries come back in the order sent; one with an ErrorCode (or missing from the answer) was not taken.
        refused = [
            event
            for index, event in enumerate(batch)
            if index >= len(results) or results[index].get("ErrorCode") or not results[index].get("EventId")
        ]
        codes = sorted({result["ErrorCode"] for result in results if result.get("ErrorCode")})
        logger.warning("Result events: entries refused", extra={"error_codes": codes, "events": len(refused)})
        published = len(batch) - len(refused)
        if published:
            metrics.add_metric(name=RESULT_EVENTS_PUBLISHED, unit=MetricUnit.Count, value=published)
        return refused

    def _count_failed(self, failed: list[_Pending]) -> None:
        if not failed:
            return
        try:
            logger.error(
                "Result events not published",
                extra={"events": [dict(event.shown) for event in failed], "event_bus": self._bus_name},
            )
            metrics.add_metric(name=RESULT_EVENTS_FAILED, unit=MetricUnit.Count, value=len(failed))
        except Exception:  # noqa: BLE001, S110 - reporting a lost event must not fail the invocation either
            pass


def _batches(pending: list[_Pending]) -> list[list[_Pending]]:
    """Pending events in PutEvents-sized batches: at most MAX_ENTRIES_PER_CALL and MAX_REQUEST_BYTES each."""
    batches: list[list[_Pending]] = []
    current: list[_Pending] = []
    size = 0
    for event in pending:
        if current and (len(current) == MAX_ENTRIES_PER_CALL or size + event.size >= MAX_REQUEST_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += event.size
    if current:
        batches.append(current)
    return batches
