"""A small `make reliability` in CI: the whole pipeline under every injected fault, every request accounted for."""

from __future__ import annotations

import io
import multiprocessing
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from local.producers import PLACED
from local.queue_reading import MOVED_BY_SQS, DeadLetter
from local.reliability import INVALID, REFUSED, VALID, ReliabilityOptions, account, build_requests, run_reliability
from outbound_caller.timeouts import RECORD_TIME_RESERVE_SECONDS

# Enough requests that every fault strikes a few times (10% transient Connect faults, 5% duplicates, 2% kills).
CI_REQUESTS = 200
# The deployed function timeout (about 300 s here) would make this run wait that long for the claims of killed
# invocations; the record's reserve plus half a minute keeps every record callable and the suite within budget.
CI_FUNCTION_TIMEOUT_SECONDS = RECORD_TIME_RESERVE_SECONDS + 30


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Any:
    yield
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_under_every_fault_nobody_is_rung_twice_and_nothing_is_lost(tmp_path: Path) -> None:
    # Given requests sent through the local pipeline while Connect fails before and after creating contacts, SQS
    # delivers duplicates and workers die before a request, after Connect's answer and before the record's write
    console = Console(file=io.StringIO())
    # When every request has settled
    options = ReliabilityOptions(
        requests=CI_REQUESTS, seed=11, work_dir=tmp_path, function_timeout_seconds=CI_FUNCTION_TIMEOUT_SECONDS
    )
    summary = run_reliability(options, console)
    # Then the faults really struck, and still no request rang twice, none was lost, every dead-letter has a reason
    faults = summary["faults"]
    assert faults["duplicate_deliveries"] > 0
    assert faults["crashed_invocations"] > 0
    assert sum(faults["connect"].values()) > 0
    assert (summary["duplicate_calls"], summary["lost"], summary["wrong_outcome"]) == (0, 0, 0), summary["examples"]
    assert summary["dead_lettered_without_reason"] == 0
    assert summary["left_on_queue"] == 0
    assert summary["ok"] is True
    assert (tmp_path / "reliability.json").exists()


def test_the_accounting_catches_every_way_of_failing() -> None:
    # Given a valid, a refused and an invalid request, and what a broken pipeline might do to them
    requests = build_requests(200, seed=3)
    kinds = {kind: next(r for r in requests if r[1] == kind) for kind in (VALID, REFUSED, INVALID)}
    valid_id, refused_id, invalid_id = (kinds[kind][0] for kind in (VALID, REFUSED, INVALID))
    chosen = list(kinds.values())

    def accounted(calls: dict[str, int], letters: list[tuple[str, str]], message: str = "") -> Any:
        # The accounting reads only a run's dead letters, each naming its request in the body
        result = SimpleNamespace(dead_letters=[DeadLetter(f"... {rid} ...", code, message) for rid, code in letters])
        return account(chosen, result, Counter(calls))

    right = [(refused_id, "DestinationNotAllowedException"), (invalid_id, "ValidationError")]
    # Then the right outcomes pass, also a duplicate dead-letter and an honest OutcomeUnknown
    assert accounted({valid_id: 1}, right).ok
    assert accounted({valid_id: 1}, [*right, (refused_id, "DestinationNotAllowedException")]).ok
    assert accounted({}, [*right, (valid_id, "OutcomeUnknown")]).ok
    # And a second call, a lost request, a refused request dialled, and a reasonless dead-letter each fail
    assert accounted({valid_id: 2}, right).duplicate_calls == 1
    assert accounted({}, right).lost == 1
    assert accounted({valid_id: 1, refused_id: 1}, right).wrong_outcome == 1
    assert not accounted({valid_id: 1}, [*right, (valid_id, MOVED_BY_SQS)]).ok
    assert accounted({valid_id: 1}, [*right, (valid_id, "ValidationError")]).wrong_outcome == 1
    # And a dead-letter for a failure nothing injected (a bug) is never honest
    unexplained = "still failing after 10 receives; last error UnexpectedError: KeyError"
    assert not accounted({}, [*right, (valid_id, "RetriesExhausted")], unexplained).ok
    assert kinds[VALID][2].expected == PLACED
