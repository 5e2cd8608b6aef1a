"""When a local run counts as settled: SQS's approximate counts, read one at a time, can miss a message for one look."""

from __future__ import annotations

import pytest

from local.run_progress import SETTLED_LOOKS, SettledWatch


def test_one_quiet_look_between_busy_ones_is_not_settled() -> None:
    # Given a watch, and looks where a message was missed once (it became visible between two counts)
    watch = SettledWatch()
    # When the looks come busy, quiet, busy
    seen = [watch.look(settled) for settled in (False, True, False)]
    # Then the run never counted as settled
    assert seen == [False, False, False]
    assert not watch.settled


def test_quiet_looks_in_a_row_settle_the_run() -> None:
    # Given a watch
    watch = SettledWatch()
    # When the queue looks quiet at consecutive looks
    seen = [watch.look(True) for _ in range(SETTLED_LOOKS)]
    # Then it is settled at the last of them, not before
    assert seen == [False] * (SETTLED_LOOKS - 1) + [True]
    assert watch.settled


@pytest.mark.parametrize("looks", [1, 3])
def test_a_watch_counts_the_looks_it_is_given(looks: int) -> None:
    watch = SettledWatch(looks)
    assert [watch.look(True) for _ in range(looks)][-1]
    assert watch.look(False) is False
