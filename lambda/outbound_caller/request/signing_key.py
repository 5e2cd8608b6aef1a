"""Where the key of the function's message MAC comes from: a Secrets Manager secret only the function may read.

Read with Powertools Parameters and kept for SIGNING_KEY_MAX_AGE_SECONDS, so a warm container reads it a few times an
hour, not once per record. One attempt with short timeouts: a secret that cannot be read hands the invocation's
records back to SQS (they are retried, with the reason logged), where a long wait would eat their time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


# How long a read secret is reused. Replacing the key takes effect within this long in every container.
SIGNING_KEY_MAX_AGE_SECONDS = 300


class SigningKeyUnavailableError(Exception):
    """The message-signing secret could not be read: no message can be verified or signed in this invocation."""


class KeySource(Protocol):
    """Where the MAC key is read from."""

    def get(self) -> bytes:
        """The key's bytes; SigningKeyUnavailableError when it cannot be read."""
        ...


class SigningKey:
    """The MAC key, read from its secret on first use and again once it is SIGNING_KEY_MAX_AGE_SECONDS old."""

    def __init__(self, secret_id: str, client: SecretsManagerClient) -> None:
        self._secret_id = secret_id
        self._provider = SecretsProvider(boto3_client=client)

    def get(self) -> bytes:
        """The key's bytes (the secret's SecretString, UTF-8); SigningKeyUnavailableError when it cannot be read."""
        try:
            secret = self._provider.get(self._secret_id, max_age=SIGNING_KEY_MAX_AGE_SECONDS)
        except Exception as error:
            raise SigningKeyUnavailableError(type(error).__name__) from error
        if not isinstance(secret, str) or not secret:
            raise SigningKeyUnavailableError("the secret holds no SecretString")
        return secret.encode("utf-8")
