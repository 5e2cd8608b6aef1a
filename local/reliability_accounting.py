"""Every request of a reliability run accounted for: placed with each attempt rung once, rung twice, lost, or
dead-lettered with a reason it may honestly end with; redialled no more than the policy allows, and its final outcome
announced.

Each request carries its own ID in an attribute (or, for invalid bodies, in the text), and the local Connect
records the attributes and the ClientToken of every contact it creates, so calls are counted per request and, within
it, per attempt (each attempt of a redialled request has its own token).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from local.connect_rules import PlacedCall
from local.producers import Sample
from local.queue_reading import MOVED_BY_SQS
from local.reliability_load import REFUSED, VALID
from local.run_result import RunResult

REQUEST_ID = re.compile(r"r-\d{6}")
MAX_EXAMPLES = 5
# The dead-letter reasons a valid request may honestly end with: the function could not know, or never got through.
HONEST_UNPLACED = frozenset({"OutcomeUnknown", "RetriesExhausted"})
# How the function names a failure it did not expect, in ErrorMessage; such a dead-letter is counted as wrong.
UNEXPECTED_ERROR = "UnexpectedError"
UNEXPLAINED = "(unexplained)"


@dataclass
class Accounting:
    """What happened to every request, from the contacts the local Connect created and the dead-letter queue."""

    requests: int = 0
    placed_exactly_once: int = 0  # valid requests placed, each attempt rung once
    duplicate_calls: int = 0  # requests with an attempt that rang more than once
    extra_calls: int = 0  # calls beyond the first of each attempt, over all requests
    over_attempts: int = 0  # requests rung for more attempts than the redial policy allows
    redialled: int = 0  # requests rung for more than one attempt
    attempts: Counter[int] = field(default_factory=Counter)  # requests by the attempts rung
    final_not_announced: int = 0  # requests rung whose end nothing announced (no Final Completed, no dead-letter)
    lost: int = 0  # no call, no dead-letter, not on the queue
    wrong_outcome: int = 0  # refused or invalid requests that were dialled, or dead-lettered for another reason
    dead_lettered: Counter[str] = field(default_factory=Counter)
    placed_and_dead_lettered: Counter[str] = field(default_factory=Counter)  # placed once, and an alert raised
    # A few request IDs of each kind of failure, to look up in the function log.
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, request_id: str) -> None:
        """Keep a few request IDs of a failure kind."""
        found = self.examples.setdefault(kind, [])
        if len(found) < MAX_EXAMPLES:
            found.append(request_id)

    @property
    def ok(self) -> bool:
        """The targets: nobody rung twice, nothing lost, every dead-letter with its reason."""
        return not (
            self.duplicate_calls
            or self.over_attempts
            or self.lost
            or self.wrong_outcome
            or self.final_not_announced
            or self.dead_lettered[MOVED_BY_SQS]
        )


def calls_by_request(calls: Iterable[PlacedCall]) -> dict[str, Counter[str]]:
    """Request ID -> the calls made for it by ClientToken (one token per attempt)."""
    found: dict[str, Counter[str]] = {}
    for call in calls:
        found.setdefault(call.attributes.get("request_id", "?"), Counter())[call.client_token or "?"] += 1
    return found


def account(
    requests: list[tuple[str, str, Sample]],
    result: RunResult,
    calls: Mapping[str, Counter[str]],
    *,
    max_attempts: int = 1,
    final_contacts: Mapping[str, set[str]] | None = None,
) -> Accounting:
    """Match every request to the calls Connect created for it and the dead-letters that name it.

    ``final_contacts``: request ID -> its contacts whose Completed event said Final; None when the run had no
    completion (then nothing is asked of the announcements).
    """
    letters: dict[str, list[str]] = {}
    accounting = Accounting(requests=len(requests))
    for letter in result.dead_letters:
        found = REQUEST_ID.search(letter.body)
        # A reason naming a failure nothing injected (a bug in the function) is never an honest outcome.
        reason = UNEXPLAINED if UNEXPECTED_ERROR in letter.error_message else letter.error_code
        letters.setdefault(found.group() if found else "?", []).append(reason)
        accounting.dead_lettered[letter.error_code] += 1
    for request_id, kind, sample in requests:
        by_attempt, reasons = calls.get(request_id, Counter()), letters.get(request_id, [])
        rung = len(by_attempt)  # attempts rung
        if rung:
            accounting.attempts[rung] += 1
        if rung > 1:
            accounting.redialled += 1
        if rung > max_attempts:
            accounting.over_attempts += 1
            accounting.note("over_attempts", request_id)
        duplicated = any(count > 1 for count in by_attempt.values())
        if duplicated:
            accounting.duplicate_calls += 1
            accounting.extra_calls += sum(count - 1 for count in by_attempt.values())
            accounting.note("duplicate_calls", request_id)
        if rung and final_contacts is not None and not reasons and not final_contacts.get(request_id):
            accounting.final_not_announced += 1
            accounting.note("final_not_announced", request_id)
        if rung == 0 and not reasons:
            accounting.lost += 1
            accounting.note("lost", request_id)
        elif kind == VALID and rung >= 1:
            accounting.placed_exactly_once += not duplicated
            for reason in reasons:
                accounting.placed_and_dead_lettered[reason] += 1
            # Dead-lettered besides (a duplicate, a dead worker's redelivery): only for a reason that admits it.
            if not set(reasons) <= HONEST_UNPLACED:
                accounting.wrong_outcome += 1
                accounting.note("wrong_outcome", request_id)
        elif not _honest(kind, sample.expected, rung, reasons):
            accounting.wrong_outcome += 1
            accounting.note("wrong_outcome", request_id)
    return accounting


def _honest(kind: str, expected: str, rung: int, reasons: list[str]) -> bool:
    """Whether an unplaced request's dead-letter reasons are right (a duplicate delivery may repeat one)."""
    if kind == VALID:
        return rung == 0 and set(reasons) <= HONEST_UNPLACED
    if kind == REFUSED:
        # A fault can strike before Connect looks at the destination: the function then cannot know either.
        return rung == 0 and set(reasons) <= HONEST_UNPLACED | {expected}
    return rung == 0 and set(reasons) == {expected}
