"""The ClientToken of a record, where it came from, and how each consumer must show it.

One value per record, computed once: Connect gets the token; a message the function sends gets it as it must travel
(a request's own token stays in the body, so the attribute shows its hash); logs show AWS's IDs as they are and a
producer's own text hashed; result events always show the hash (the placed-calls ledger keeps nothing else).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from outbound_caller.api_limits import CLIENT_TOKEN_MAX_LENGTH
from outbound_caller.privacy import mask_token

# Where a delivery's ClientToken came from, in the contract's order of precedence.
TOKEN_FROM_REQUEST = "request"  # noqa: S105 - a name, not a secret
TOKEN_FROM_ATTRIBUTE = "message_attribute"  # noqa: S105 - a name, not a secret
TOKEN_FROM_EVENTBRIDGE = "eventbridge_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SNS = "sns_message_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SQS = "sqs_message_id"  # noqa: S105 - a name, not a secret
# Between a request's token and an attempt's number, in the token of a redial's later attempt.
ATTEMPT_SEPARATOR = "#attempt-"
# Tokens that are a producer's free text, to be masked wherever they are shown.
FREE_TEXT_TOKEN_SOURCES = frozenset({TOKEN_FROM_REQUEST, TOKEN_FROM_ATTRIBUTE})


@dataclass(frozen=True)
class RecordToken:
    """A record's ClientToken and its source (one of the TOKEN_FROM_ values)."""

    value: str
    source: str

    @property
    def is_free_text(self) -> bool:
        """Whether the token is a producer's own text (mask it) rather than an ID AWS generated."""
        return self.source in FREE_TEXT_TOKEN_SOURCES

    @property
    def shown(self) -> str:
        """The token as logs show it: IDs AWS generated as they are, a producer's own text masked."""
        return mask_token(self.value) if self.is_free_text else self.value

    @property
    def in_results(self) -> str:
        """The token as result events name it: masked whatever its source, so that the completion, which finds only
        the token's hash in the placed-calls ledger, names a call's token as Placed did."""
        return mask_token(self.value)

    def for_attempt(self, attempt: int) -> RecordToken:
        """The token of a redial's attempt: the first attempt's is the request's own; each later one is derived from it
        and the attempt's number, so each attempt is its own call, placed at most once like any other."""
        if attempt <= 1:
            return self
        suffix = f"{ATTEMPT_SEPARATOR}{attempt}"
        base = self.value
        if len(base) + len(suffix) > CLIENT_TOKEN_MAX_LENGTH:
            # Too long to carry a suffix: its hash stands for it (one token, one hash, one derived token).
            base = "sha256:" + hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()
        return RecordToken(base + suffix, self.source)

    @property
    def travelling(self) -> str:
        """The ClientToken a message the function sends must carry, so that it comes back with the same token.

        A token the request names itself stays in the body, which wins on redrive: the attribute shows it masked.
        """
        return mask_token(self.value) if self.source == TOKEN_FROM_REQUEST else self.value
