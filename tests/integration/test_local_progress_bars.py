"""The progress bar of a long run: requests settled out of all, the time elapsed and left, and the queue beside."""

from __future__ import annotations

import io
import time

from rich.console import Console

from local.connect_instance import ConnectStats
from local.event_source_stats import EventSourceStats
from local.progress_bars import SettlingDisplay
from local.run_progress import Progress


def _snapshot(sent: int, on_queue: int, total: int) -> Progress:
    queue = {"visible": on_queue - 80, "in_flight": 80, "delayed": 0}
    return Progress(0.0, total, sent, 0, queue, EventSourceStats(in_flight=8), ConnectStats(), 0, sent=sent)


def test_the_bar_shows_requests_settled_out_of_all_and_the_time_left() -> None:
    # Given a long run's progress bar
    output = io.StringIO()
    with SettlingDisplay(Console(file=output, width=200), 1_000) as display:
        # When snapshots come as requests settle: 200 sent, 180 on the queue; later 700 sent, 182 on the queue
        display.update(_snapshot(sent=200, on_queue=180, total=1_000))
        time.sleep(0.2)
        display.update(_snapshot(sent=700, on_queue=182, total=1_000))
    # Then it shows the settled requests out of all, the elapsed time, an estimate of the time left and the queue
    shown = output.getvalue()
    assert "518/1000" in shown
    assert "left 0:00:0" in shown
    assert "in flight 80" in shown


def test_requests_parked_in_the_waiting_room_have_not_settled() -> None:
    # Given a run whose source queue is empty and no invocation running, with 12 requests parked in the waiting room
    empty = {"visible": 0, "in_flight": 0, "delayed": 0}
    parked = Progress(4.0, 300, 12, 0, empty, EventSourceStats(), ConnectStats(), 10, sent=300, waiting_room=288)
    # When / Then the run has not settled, and only the requests that left both queues count as settled
    assert not parked.settled
    assert parked.settled_requests == 12
    # And once the waiting room is drawn empty too, it has
    assert Progress(4.0, 300, 300, 0, empty, EventSourceStats(), ConnectStats(), 0, sent=300).settled
