"""The ClientToken of a record, where it came from, and how each consumer must show it.

One value per record, computed once: Connect gets the token; a message the function sends gets it as it must travel
(a request's own token stays in the body, so the attribute shows its hash); logs show AWS's IDs as they are and a
producer's own text hashed; result events always show the hash (the placed-calls ledger keeps nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound_caller.privacy import mask_token

# Where a delivery's ClientToken came from, in the contract's order of precedence.
TOKEN_FROM_REQUEST = "request"  # noqa: S105 - a name, not a secret
TOKEN_FROM_ATTRIBUTE = "message_attribute"  # noqa: S105 - a name, not a secret
TOKEN_FROM_EVENTBRIDGE = "eventbridge_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SNS = "sns_message_id"  # noqa: S105 - a name, not a secret
TOKEN_FROM_SQS = "sqs_message_id"  # noqa: S105 - a name, not a secret
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

    @property
    def travelling(self) -> str:
        """The ClientToken a message the function sends must carry, so that it comes back with the same token.

        A token the request names itself stays in the body, which wins on redrive: the attribute shows it masked.
        """
        return mask_token(self.value) if self.source == TOKEN_FROM_REQUEST else self.value
