"""A small `make reliability` in CI: the whole pipeline under every injected fault, every request accounted for.

The accounting itself is tested in test_reliability_accounting.py.
"""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from local.reliability import run_reliability
from local.reliability_load import ReliabilityOptions
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
