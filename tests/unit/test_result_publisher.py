"""The result-event publisher against the real botocore EventBridge client, answered by botocore's Stubber."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from outbound_caller.names import PLACED_EVENT, REJECTED_EVENT, RESULT_SOURCE
from outbound_caller.results.events import placed, rejected
from outbound_caller.results.publisher import (
    MAX_REQUEST_BYTES,
    PUBLISH_TIME_RESERVE_MS,
    WORST_CASE_PUT_EVENTS_MS,
    ResultEvents,
)

BUS = "outbound-call-results"
PLENTY_MS = 60_000


@pytest.fixture
def client() -> Any:
    """A real EventBridge client whose answers the test queues with a Stubber (no network)."""
    session = botocore.session.get_session()
    return session.create_client(
        "events", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def entry(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The PutEvents entry the publisher sends for one event."""
    body = json.dumps(detail, separators=(",", ":"), sort_keys=True)
    return {"Source": RESULT_SOURCE, "DetailType": detail_type, "Detail": body, "EventBusName": BUS}


def ok(count: int) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e-{i}"} for i in range(count)]}


def test_only_the_refused_entries_are_sent_again(client: Any) -> None:
    # Given two events, of which EventBridge refuses the first once (per-entry InternalFailure)
    slept: list[float] = []
    events = ResultEvents(client, BUS, sleep=slept.append)
    events.add(*placed("contact-1", "m-1", "m-1"))
    events.add(*rejected("Expired", "m-2", "m-2"))
    first, second = entry(*placed("contact-1", "m-1", "m-1")), entry(*rejected("Expired", "m-2", "m-2"))
    with Stubber(client) as stub:
        refused = {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
        stub.add_response(
            "put_events", {"FailedEntryCount": 1, "Entries": [refused, {"EventId": "e"}]}, {"Entries": [first, second]}
        )
        stub.add_response("put_events", ok(1), {"Entries": [first]})
        # When the buffer is flushed
        failed = events.flush(lambda: PLENTY_MS)
        # Then the refused entry alone is sent again, after a short backoff, and nothing is lost
        stub.assert_no_pending_responses()
    assert (failed, slept, events.pending) == (0, [0.1], 0)


def test_a_bus_that_keeps_failing_is_given_up_on_after_the_last_round(client: Any) -> None:
    # Given a bus answering every PutEvents with a server error
    slept: list[float] = []
    events = ResultEvents(client, BUS, sleep=slept.append)
    events.add(*placed("contact-1", "m-1", "m-1"))
    with Stubber(client) as stub:
        for _ in range(4):
            stub.add_client_error("put_events", "InternalException", http_status_code=500)
        # When the buffer is flushed
        failed = events.flush(lambda: PLENTY_MS)
        # Then it tried four rounds with growing backoff, then counted the event as failed, without raising
        stub.assert_no_pending_responses()
    assert (failed, slept) == (1, [0.1, 0.2, 0.4])


def test_no_call_starts_that_could_outlast_the_invocation(client: Any) -> None:
    # Given an invocation with less time left than one PutEvents may take plus the reserve
    events = ResultEvents(client, BUS)
    events.add(*placed("contact-1", "m-1", "m-1"))
    calls: list[str] = []
    client.meta.events.register("provide-client-params.events.PutEvents", lambda **_: calls.append("PutEvents"))
    with Stubber(client):
        # When the buffer is flushed
        failed = events.flush(lambda: WORST_CASE_PUT_EVENTS_MS + PUBLISH_TIME_RESERVE_MS - 1)
    # Then no call was made, and the event is counted as failed; the buffer is empty for the next invocation
    assert (calls, failed, events.pending) == ([], 1, 0)


def test_an_event_over_the_entry_limit_is_dropped_and_the_others_sent(client: Any) -> None:
    # Given one event too big for EventBridge (256 KB per entry) between two ordinary ones
    events = ResultEvents(client, BUS)
    events.add(*placed("contact-1", "m-1", "m-1"))
    events.add(REJECTED_EVENT, {"ErrorCode": "x" * MAX_REQUEST_BYTES, "ClientToken": "m-2", "SourceMessageId": "m-2"})
    events.add(*placed("contact-3", "m-3", "m-3"))
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            ok(2),
            {"Entries": [entry(*placed("contact-1", "m-1", "m-1")), entry(*placed("contact-3", "m-3", "m-3"))]},
        )
        # When the buffer is flushed
        failed = events.flush(lambda: PLENTY_MS)
        stub.assert_no_pending_responses()
    # Then the two ordinary events go in one call and the oversized one is counted as failed
    assert failed == 1


def test_batches_stay_under_the_request_size_limit(client: Any) -> None:
    # Given three events of about 100 KB each (EventBridge limits a whole PutEvents request to 256 KB)
    events = ResultEvents(client, BUS)
    big = [
        (PLACED_EVENT, {"ContactId": str(i) * 100_000, "ClientToken": "t", "SourceMessageId": "m"}) for i in range(3)
    ]
    for event in big:
        events.add(*event)
    with Stubber(client) as stub:
        stub.add_response("put_events", ok(2), {"Entries": [entry(*big[0]), entry(*big[1])]})
        stub.add_response("put_events", ok(1), {"Entries": [entry(*big[2])]})
        # When the buffer is flushed
        failed = events.flush(lambda: PLENTY_MS)
        # Then they go out in two calls, two and one
        stub.assert_no_pending_responses()
    assert failed == 0


def test_a_detail_json_cannot_hold_is_counted_as_lost_not_raised(client: Any) -> None:
    # Given an event whose detail is not JSON (a caller's mistake)
    events = ResultEvents(client, BUS)
    # When it is added
    events.add(PLACED_EVENT, {"ContactId": object(), "ClientToken": "t", "SourceMessageId": "m"})
    # Then nothing is buffered and nothing raised
    assert events.pending == 0
