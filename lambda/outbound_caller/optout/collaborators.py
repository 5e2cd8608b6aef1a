"""The opt-out function's collaborators, built once from its settings: the suppression list and the result bus."""

from __future__ import annotations

from dataclasses import dataclass

from outbound_caller.clients import create_client
from outbound_caller.config.optout import OptOutSettings
from outbound_caller.results.publisher import ResultEvents
from outbound_caller.safety.suppression import SuppressionList
from outbound_caller.timeouts import (
    DYNAMODB_CONNECT_TIMEOUT_SECONDS,
    DYNAMODB_READ_TIMEOUT_SECONDS,
    EVENTS_ATTEMPTS,
    EVENTS_CONNECT_TIMEOUT_SECONDS,
    EVENTS_READ_TIMEOUT_SECONDS,
    SECRETS_ATTEMPTS,
    SECRETS_CONNECT_TIMEOUT_SECONDS,
    SECRETS_READ_TIMEOUT_SECONDS,
)


@dataclass(frozen=True)
class OptOut:
    """What the opt-out function needs: the suppression list it changes, and where each change is announced."""

    settings: OptOutSettings
    suppression: SuppressionList
    # A fresh buffer per invocation is not needed: flush empties it. None: no result bus.
    results: ResultEvents | None


def build_optout(settings: OptOutSettings) -> OptOut:
    """The opt-out function's collaborators from its settings."""
    secrets = create_client(
        "secretsmanager", SECRETS_CONNECT_TIMEOUT_SECONDS, SECRETS_READ_TIMEOUT_SECONDS, SECRETS_ATTEMPTS
    )
    table = create_client("dynamodb", DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS)
    events = create_client("events", EVENTS_CONNECT_TIMEOUT_SECONDS, EVENTS_READ_TIMEOUT_SECONDS, EVENTS_ATTEMPTS)
    return OptOut(
        settings=settings,
        suppression=SuppressionList(
            settings.suppression_table_name, table, settings.suppression_key_secret_id, secrets
        ),
        results=ResultEvents(events, settings.result_event_bus_name) if settings.result_event_bus_name else None,
    )
