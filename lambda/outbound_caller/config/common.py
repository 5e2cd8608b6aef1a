"""What every function's configuration shares: its error, the shapes of AWS names it reads, and how blank and listed
variables are read."""

from __future__ import annotations

from pydantic import ConfigDict

# Each configuration is parsed once at start, never changed, and ignores the variables it does not name.
FROZEN = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
# DynamoDB table names: 3-255 of letters, digits, '_', '-', '.'.
TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{3,255}$"
# Secrets Manager's SecretId: a name or an ARN of 1 to 2,048 characters, no whitespace.
SECRET_ID_MAX_LENGTH = 2048
SECRET_ID_PATTERN = r"^\S+$"  # noqa: S105 - a pattern of names, not a secret
# An EventBridge event bus name (1-256 of letters, digits, '.', '-', '_', '/') or its ARN, as PutEvents'
# EventBusName takes either.
RESULT_EVENT_BUS_PATTERN = r"^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[A-Za-z0-9._/-]{1,256}$"
# An SQS queue URL (or any endpoint's: the local pipeline's are http).
QUEUE_URL_PATTERN = r"^https?://\S+$"


class ConfigurationError(RuntimeError):
    """A function's environment is missing a variable or holds a malformed one."""


def blank_is_unset(value: object) -> object:
    """A variable set to blank text reads as unset."""
    return None if isinstance(value, str) and not value.strip() else value


def comma_separated(value: object) -> object:
    """A comma-separated variable as the set of its non-blank parts."""
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value
