"""The reliability run's accounting: it passes the right outcomes and catches every way a pipeline could fail."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from local.producers import PLACED
from local.queue_reading import MOVED_BY_SQS, DeadLetter
from local.reliability_accounting import account
from local.reliability_load import (
    INVALID,
    REFUSED,
    VALID,
    VISIBILITY_TIMEOUT_SECONDS,
    ReliabilityOptions,
    build_requests,
    pipeline_config,
)


def test_the_accounting_catches_every_way_of_failing() -> None:
    # Given a valid, a refused and an invalid request, and what a broken pipeline might do to them
    requests = build_requests(200, seed=3)
    kinds = {kind: next(r for r in requests if r[1] == kind) for kind in (VALID, REFUSED, INVALID)}
    valid_id, refused_id, invalid_id = (kinds[kind][0] for kind in (VALID, REFUSED, INVALID))
    chosen = list(kinds.values())

    def accounted(calls: dict[str, int], letters: list[tuple[str, str]], message: str = "") -> Any:
        # The accounting reads only a run's dead letters, each naming its request in the body; each request's calls
        # here are all for its first attempt (one token)
        result = SimpleNamespace(dead_letters=[DeadLetter(f"... {rid} ...", code, message) for rid, code in letters])
        return account(chosen, result, {rid: Counter({f"token-{rid}": count}) for rid, count in calls.items()})

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


def test_the_accounting_counts_attempts_by_their_tokens_and_asks_for_each_final_outcome() -> None:
    # Given a valid request redialled under a policy of three attempts, and the Completed events that said Final
    requests = build_requests(200, seed=3)
    valid = next(r for r in requests if r[1] == VALID)
    valid_id = valid[0]
    result = SimpleNamespace(dead_letters=[])

    def accounted(tokens: list[str], finals: set[str] | None = None) -> Any:
        final_contacts = {valid_id: finals} if finals is not None else {}
        return account([valid], result, {valid_id: Counter(tokens)}, max_attempts=3, final_contacts=final_contacts)

    # Then three attempts, each rung once, with its final outcome announced, pass
    ok = accounted(["t1", "t2", "t3"], {"contact-3"})
    assert ok.ok
    assert (ok.placed_exactly_once, ok.redialled, ok.attempts) == (1, 1, Counter({3: 1}))
    # And an attempt rung twice, a fourth attempt, and a request rung with no final outcome announced each fail
    assert accounted(["t1", "t2", "t2"], {"contact-3"}).duplicate_calls == 1
    assert accounted(["t1", "t2", "t3", "t4"], {"contact-4"}).over_attempts == 1
    assert accounted(["t1"], set()).final_not_announced == 1
    # And without a completion (no result events) nothing is asked of the announcements
    assert account([valid], result, {valid_id: Counter(["t1"])}, final_contacts=None).ok


@pytest.mark.parametrize("function_timeout_seconds", [None, 249.0])
def test_every_message_has_the_receives_a_killed_invocations_claim_takes_to_lapse(
    function_timeout_seconds: float | None,
) -> None:
    # Given the reliability load, with the deployed function timeout or a shorter one (as CI runs it)
    config = pipeline_config(ReliabilityOptions(function_timeout_seconds=function_timeout_seconds))
    # Then a message retried once per visibility timeout while a killed invocation's claim holds its token still has
    # receives left when that claim lapses, at the invocation's deadline: it is judged, not exhausted
    receives_to_lapse = config.effective_function_timeout_seconds / VISIBILITY_TIMEOUT_SECONDS
    assert config.settings.max_receive_count >= receives_to_lapse + 5
