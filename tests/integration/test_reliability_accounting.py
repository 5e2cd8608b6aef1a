"""The reliability run's accounting: it passes the right outcomes and catches every way a pipeline could fail."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

from local.producers import PLACED
from local.queue_reading import MOVED_BY_SQS, DeadLetter
from local.reliability_accounting import account
from local.reliability_load import INVALID, REFUSED, VALID, build_requests


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
