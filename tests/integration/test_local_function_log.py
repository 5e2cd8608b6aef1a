"""How a run reads the function's log: deferrals by reason, the requests that wait beyond a moment, and those
suppressed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local.function_log import FunctionLog


def _line(outcome: str, token: str, **fields: object) -> str:
    return json.dumps({"level": "INFO", "outcome": outcome, "client_token": token, **fields})


@pytest.mark.parametrize("ending", ["placed", "dead_lettered", "retried"])
def test_the_function_log_shows_which_requests_wait_beyond_a_moment(tmp_path: Path, ending: str) -> None:
    # Given a function log with a request deferred for calling hours, one for NotBefore, one for back-pressure, one
    # waiting for its redial, and one deferred for calling hours that then ended otherwise; the last line still being
    # written
    log_path = tmp_path / "function.log"
    lines = [
        "START RequestId: 1 Version: $LATEST",
        _line("deferred", "a", reason="OutsideCallingHours", deferred_until="2026-06-02T01:00:00.000Z"),
        _line("deferred", "b", reason="NotBefore", deferred_until="2026-06-01T12:00:10.000Z"),
        _line("deferred", "c", reason="Throttled", deferred_until="2026-06-02T01:00:00.000Z"),
        _line("deferred", "f", reason="Redial", deferred_until="2026-06-02T02:00:00.000Z"),
        _line("deferred", "d", reason="OutsideCallingHours", deferred_until="2026-06-02T01:00:00.000Z"),
        _line(ending, "d"),
    ]
    log_path.write_text("\n".join(lines) + "\n" + _line("deferred", "e", reason="NotBefore")[:20])
    log = FunctionLog(log_path)
    # When it is asked which wait beyond a moment after the NotBefore
    waiting = log.waiting_after(datetime(2026, 6, 1, 12, 5, tzinfo=UTC))
    # Then only the requests waiting for the calling hours and their redial are, until their time, and every deferral
    # is counted
    assert [(item.reason, item.until) for item in waiting] == [
        ("OutsideCallingHours", datetime(2026, 6, 2, 1, 0, tzinfo=UTC)),
        ("Redial", datetime(2026, 6, 2, 2, 0, tzinfo=UTC)),
    ]
    assert log.deferred == {"OutsideCallingHours": 2, "NotBefore": 1, "Throttled": 1, "Redial": 1}
    assert [item.reason for item in log.waiting_after(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))] == [
        "OutsideCallingHours",
        "NotBefore",
        "Redial",
    ]


def test_a_suppressed_request_counts_once_and_only_while_suppressed_is_its_latest_outcome(tmp_path: Path) -> None:
    # Given a log where one request was suppressed twice (delivered twice), one deferred for NotBefore then
    # suppressed when it came back, one suppressed then placed (an opt-in meanwhile), and one placed
    log_path = tmp_path / "function.log"
    lines = [
        _line("suppressed", "a", error_code="DestinationSuppressed"),
        _line("suppressed", "a", error_code="DestinationSuppressed"),
        _line("deferred", "b", reason="NotBefore", deferred_until="2026-06-01T12:00:40.000Z"),
        _line("suppressed", "b", error_code="DestinationSuppressed"),
        _line("suppressed", "c", error_code="DestinationSuppressed"),
        _line("placed", "c"),
        _line("placed", "d"),
    ]
    log_path.write_text("\n".join(lines) + "\n")
    # When the run reads it
    log = FunctionLog(log_path)
    # Then two requests ended suppressed, each counted once, and none of them waits
    assert log.suppressed() == 2
    assert log.waiting_after(datetime(2026, 6, 1, 12, 0, tzinfo=UTC)) == []
