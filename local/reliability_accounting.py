"""Every request of a reliability run accounted for: placed exactly once, rung twice, lost, or dead-lettered with a
reason it may honestly end with.

Each request carries its own ID in an attribute (or, for invalid bodies, in the text), and the local Connect
records the attributes of every contact it creates, so calls are counted per request, never per token.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

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
    placed_exactly_once: int = 0
    duplicate_calls: int = 0  # requests that rang more than once
    extra_calls: int = 0  # calls beyond the first, over all requests
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
        return not (self.duplicate_calls or self.lost or self.wrong_outcome or self.dead_lettered[MOVED_BY_SQS])


def account(requests: list[tuple[str, str, Sample]], result: RunResult, calls: Counter[str]) -> Accounting:
    """Match every request to the calls Connect created for it and the dead-letters that name it."""
    letters: dict[str, list[str]] = {}
    accounting = Accounting(requests=len(requests))
    for letter in result.dead_letters:
        found = REQUEST_ID.search(letter.body)
        # A reason naming a failure nothing injected (a bug in the function) is never an honest outcome.
        reason = UNEXPLAINED if UNEXPECTED_ERROR in letter.error_message else letter.error_code
        letters.setdefault(found.group() if found else "?", []).append(reason)
        accounting.dead_lettered[letter.error_code] += 1
    for request_id, kind, sample in requests:
        rung, reasons = calls[request_id], letters.get(request_id, [])
        if rung > 1:
            accounting.duplicate_calls += 1
            accounting.extra_calls += rung - 1
            accounting.note("duplicate_calls", request_id)
        if rung == 0 and not reasons:
            accounting.lost += 1
            accounting.note("lost", request_id)
        elif kind == VALID and rung == 1:
            accounting.placed_exactly_once += 1
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
