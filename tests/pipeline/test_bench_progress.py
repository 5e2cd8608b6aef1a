"""`make bench` shows each load's progress: the requests settled out of the load, and the time left."""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bench.baseline import NAIVE
from bench.scenarios import QUOTA_BOUND, Scenario, run_side

# A load small enough to drain at once: within the quota's burst, on an instance with room for every call, with the
# naive loop (the function that cold-starts fastest), so that the run's pipeline is all the test waits for.
TINY_LOAD = Scenario(
    name="tiny",
    title="Tiny: 5 queued requests",
    requests=5,
    max_concurrent_calls=100,
    call_seconds=(0.1, 0.1),
    bound=QUOTA_BOUND,
    max_duration_seconds=60.0,
)


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Iterator[None]:
    yield
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_each_load_shows_the_requests_settled_out_of_all_and_the_time_left(tmp_path: Path) -> None:
    # Given a console the bench prints to
    output = io.StringIO()
    console = Console(file=output, width=200)
    # When one side of a load is run
    run = run_side(TINY_LOAD, NAIVE, tmp_path, console)
    # Then the load drained, and its bar ended with every request settled, the time elapsed and the time left
    assert run.result.complete
    shown = output.getvalue()
    assert "settled" in shown
    assert "5/5" in shown
    assert "left 0:00:00" in shown
