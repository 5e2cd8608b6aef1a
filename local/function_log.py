"""The function's log, as a run reads it: deferrals by reason, the requests deferred until a time they may not be
called before (NotBefore, calling hours), and the requests suppressed (their destination on the suppression list)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from outbound_caller.decisions import BINDING_REASONS

# The outcome of a request whose destination is on the suppression list (decisions.OutcomeKind.SUPPRESSED): no call and
# no dead-letter, so the log (and the Rejected event) is its only trace.
SUPPRESSED_OUTCOME = "suppressed"


@dataclass(frozen=True)
class Waiting:
    """A request the function deferred, for a reason it may not be called before (NotBefore, calling hours)."""

    reason: str
    until: datetime


class FunctionLog:
    """Follows the function's structured log lines: deferrals by reason, the requests deferred until a time, and the
    requests suppressed.

    Read as it grows (each look reads only the new lines), since a run looks often and the log can be long.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.deferred: Counter[str] = Counter()  # a request may be deferred several times
        # ClientToken (as logged) -> its latest binding deferral; gone once the request ends another way.
        self._waiting: dict[str, Waiting] = {}
        # ClientTokens (as logged) whose latest outcome is suppressed: a redelivery of one is still one request.
        self._suppressed: set[str] = set()

    def waiting_after(self, moment: datetime) -> list[Waiting]:
        """The requests whose latest outcome is a deferral until after ``moment``."""
        self._read()
        return [waiting for waiting in self._waiting.values() if waiting.until > moment]

    def suppressed(self) -> int:
        """How many requests ended suppressed (a request counts once, however often it was delivered)."""
        self._read()
        return len(self._suppressed)

    def _read(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as log:
            log.seek(self._offset)
            text = log.read()
        complete = text.rfind(b"\n") + 1  # a line still being written is read next time
        self._offset += complete
        for line in text[:complete].decode("utf-8", errors="replace").splitlines():
            if '"outcome"' in line:
                self._note(line)

    def _note(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return
        if not isinstance(entry, dict) or "outcome" not in entry:
            return
        token = str(entry.get("client_token"))
        self._waiting.pop(token, None)
        if entry["outcome"] == SUPPRESSED_OUTCOME:
            self._suppressed.add(token)
        else:
            self._suppressed.discard(token)
        if entry["outcome"] != "deferred":
            return
        reason = str(entry.get("reason"))
        self.deferred[reason] += 1
        until = entry.get("deferred_until")
        # A request deferred for a reason it may not be called before (NotBefore, calling hours, a redial's interval) to
        # a time after the run has reached its outcome for the run: waiting.
        if reason in BINDING_REASONS and isinstance(until, str):
            self._waiting[token] = Waiting(reason, datetime.fromisoformat(until))
