"""The completion function's collaborators, built once from its settings: the placed-calls ledger, Connect's
DescribeContact, the result bus, and, with a waiting room, the instance's shared state and the queues a slot is
handed on through."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outbound_caller.clients import create_client
from outbound_caller.completion.hand_over import Room, WaitingRoom
from outbound_caller.config.completion import CompletionSettings
from outbound_caller.connect.agents_store import AgentsStore
from outbound_caller.connect.call_ends import CallEnds
from outbound_caller.connect.contacts import ContactReader
from outbound_caller.connect.instance_state import DynamoInstanceStateStore
from outbound_caller.connect.placed_call_lookup import PlacedCallLookup
from outbound_caller.connect.slots import SlotHandOver
from outbound_caller.request.signing_key import KeySource, SigningKey
from outbound_caller.timeouts import (
    CONNECT_CONNECT_TIMEOUT_SECONDS,
    CONNECT_READ_TIMEOUT_SECONDS,
    DYNAMODB_CONNECT_TIMEOUT_SECONDS,
    DYNAMODB_READ_TIMEOUT_SECONDS,
    EVENTS_ATTEMPTS,
    EVENTS_CONNECT_TIMEOUT_SECONDS,
    EVENTS_READ_TIMEOUT_SECONDS,
    INSTANCE_STATE_ATTEMPTS,
    INSTANCE_STATE_CONNECT_TIMEOUT_SECONDS,
    INSTANCE_STATE_READ_TIMEOUT_SECONDS,
    SECRETS_ATTEMPTS,
    SECRETS_CONNECT_TIMEOUT_SECONDS,
    SECRETS_READ_TIMEOUT_SECONDS,
    SQS_CONNECT_TIMEOUT_SECONDS,
    SQS_READ_TIMEOUT_SECONDS,
)

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


@dataclass(frozen=True)
class SlotHandOverParts:
    """With a waiting room: the room, the instance's shared state, and the key that signs a handed-over slot."""

    room: Room
    slots: SlotHandOver
    signing_key: KeySource


@dataclass(frozen=True)
class Completion:
    """What the completion function needs: where placed calls are found and their outcome recorded, what Connect says
    of an ended contact, where the completion is published, and (with a waiting room) how a slot is handed on."""

    settings: CompletionSettings
    lookup: PlacedCallLookup
    ends: CallEnds
    contacts: ContactReader
    events: EventBridgeClient
    hand_over: SlotHandOverParts | None = None
    # With agent pacing: the queues' items, whose claims the calls' ends release.
    agents: AgentsStore | None = None
    clock: Callable[[], float] = time.time

    def now_ms(self) -> int:
        """Wall-clock milliseconds."""
        return int(self.clock() * 1000)


def build_completion(settings: CompletionSettings, *, clock: Callable[[], float] = time.time) -> Completion:
    """The completion's collaborators from its settings."""
    table = create_client("dynamodb", DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS)
    return Completion(
        settings=settings,
        lookup=PlacedCallLookup(settings.placed_calls_table_name, table),
        ends=CallEnds(settings.placed_calls_table_name, table),
        contacts=ContactReader(
            create_client("connect", CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS),
            settings.instance_id,
        ),
        events=create_client("events", EVENTS_CONNECT_TIMEOUT_SECONDS, EVENTS_READ_TIMEOUT_SECONDS, EVENTS_ATTEMPTS),
        hand_over=_hand_over_parts(settings, clock),
        agents=AgentsStore(settings.placed_calls_table_name, settings.instance_id, table)
        if settings.agent_pacing
        else None,
        clock=clock,
    )


def _hand_over_parts(settings: CompletionSettings, clock: Callable[[], float]) -> SlotHandOverParts | None:
    room_url, source_url, secret_id = (
        settings.waiting_room_queue_url,
        settings.source_queue_url,
        settings.message_signing_key_secret_id,
    )
    if room_url is None or source_url is None or secret_id is None:
        return None
    state = DynamoInstanceStateStore(
        settings.placed_calls_table_name,
        settings.instance_id,
        # As the caller's: one attempt, short timeouts; the state is a hint.
        create_client(
            "dynamodb",
            INSTANCE_STATE_CONNECT_TIMEOUT_SECONDS,
            INSTANCE_STATE_READ_TIMEOUT_SECONDS,
            INSTANCE_STATE_ATTEMPTS,
        ),
        clock=clock,
    )
    secrets = create_client(
        "secretsmanager", SECRETS_CONNECT_TIMEOUT_SECONDS, SECRETS_READ_TIMEOUT_SECONDS, SECRETS_ATTEMPTS
    )
    return SlotHandOverParts(
        room=WaitingRoom(
            create_client("sqs", SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS), room_url, source_url
        ),
        slots=SlotHandOver(state, settings.concurrent_calls_limit),
        signing_key=SigningKey(secret_id, secrets),
    )
