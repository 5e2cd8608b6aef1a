"""The function's collaborators, built once from its settings: the one place that knows which client each one needs.

A cold start builds them (handler.py); a test builds its own, with its own clock, pacer or settings, instead of
patching module globals. Every AWS client is made here, by clients.create_client, with the timeouts and attempts its
collaborator's time budget counts on (timeouts.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outbound_caller.clients import create_client
from outbound_caller.config.settings import Settings
from outbound_caller.connect.agents import AgentMetrics, AgentPacing
from outbound_caller.connect.agents_store import AgentsStore
from outbound_caller.connect.back_pressure import BackPressure
from outbound_caller.connect.calls import ConnectCalls
from outbound_caller.connect.guards import Guards
from outbound_caller.connect.idempotency import CallGuard, OncePerToken
from outbound_caller.connect.instance_state import (
    DynamoInstanceStateStore,
    InstanceStateStore,
    MemoryInstanceStateStore,
)
from outbound_caller.connect.pacing import Pacer
from outbound_caller.connect.placed_calls import PlacedCallsLedger
from outbound_caller.connect.redial_copies import RedialCopies
from outbound_caller.request.signing_key import SigningKey
from outbound_caller.results.publisher import ResultEvents
from outbound_caller.safety.call_guard import CallLimitGuard
from outbound_caller.safety.call_limit import CallCounter
from outbound_caller.safety.suppression import SuppressionList
from outbound_caller.timeouts import (
    AGENT_METRICS_ATTEMPTS,
    AGENT_METRICS_CONNECT_TIMEOUT_SECONDS,
    AGENT_METRICS_READ_TIMEOUT_SECONDS,
    CALL_LIMIT_ATTEMPTS,
    CALL_LIMIT_CONNECT_TIMEOUT_SECONDS,
    CALL_LIMIT_READ_TIMEOUT_SECONDS,
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
    from mypy_boto3_connect import ConnectClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class CallerClients:
    """The caller's AWS clients, each with the timeouts and attempts of its own time budget."""

    connect: ConnectClient
    # Connect's GetCurrentMetricData for agent pacing: one attempt, short timeouts (no answer defers the call).
    agent_metrics: ConnectClient
    sqs: SQSClient
    # The placed-calls ledger: the standard attempts (a call is never placed while its record cannot be kept).
    ledger: DynamoDBClient
    # The busy-instance state, and the counts and the suppression list that gate a call: one attempt, short timeouts.
    instance_state: DynamoDBClient
    call_limit: DynamoDBClient
    events: EventBridgeClient
    secrets: SecretsManagerClient


def caller_clients() -> CallerClients:
    """Every client the caller may use, made once (a cold start's cost: each service's model is read once)."""
    return CallerClients(
        connect=create_client("connect", CONNECT_CONNECT_TIMEOUT_SECONDS, CONNECT_READ_TIMEOUT_SECONDS),
        agent_metrics=create_client(
            "connect",
            AGENT_METRICS_CONNECT_TIMEOUT_SECONDS,
            AGENT_METRICS_READ_TIMEOUT_SECONDS,
            AGENT_METRICS_ATTEMPTS,
        ),
        sqs=create_client("sqs", SQS_CONNECT_TIMEOUT_SECONDS, SQS_READ_TIMEOUT_SECONDS),
        ledger=create_client("dynamodb", DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS),
        instance_state=create_client(
            "dynamodb",
            INSTANCE_STATE_CONNECT_TIMEOUT_SECONDS,
            INSTANCE_STATE_READ_TIMEOUT_SECONDS,
            INSTANCE_STATE_ATTEMPTS,
        ),
        call_limit=create_client(
            "dynamodb", CALL_LIMIT_CONNECT_TIMEOUT_SECONDS, CALL_LIMIT_READ_TIMEOUT_SECONDS, CALL_LIMIT_ATTEMPTS
        ),
        events=create_client("events", EVENTS_CONNECT_TIMEOUT_SECONDS, EVENTS_READ_TIMEOUT_SECONDS, EVENTS_ATTEMPTS),
        secrets=create_client(
            "secretsmanager", SECRETS_CONNECT_TIMEOUT_SECONDS, SECRETS_READ_TIMEOUT_SECONDS, SECRETS_ATTEMPTS
        ),
    )


@dataclass
class Caller:
    """Everything one container's caller needs, built once and handed to the record's journey."""

    settings: Settings
    clients: CallerClients
    pacer: Pacer
    once: OncePerToken
    back_pressure: BackPressure
    signing_key: SigningKey
    # The do-not-call list, checked before every attempt; None: no list.
    suppression: SuppressionList | None
    # Each record's outcome, published once per invocation; None: no result bus.
    results: ResultEvents | None
    # Wall-clock seconds, as deferrals and ExpiresAt name times (a test moves it).
    clock: Callable[[], float]
    # Which copy of a redialled request goes on from each wait; None: no ledger (and so no redial).
    redial_copies: RedialCopies | None = None

    def now_ms(self) -> int:
        """Wall-clock milliseconds."""
        return int(self.clock() * 1000)


def build_caller(
    settings: Settings,
    *,
    clients: CallerClients | None = None,
    clock: Callable[[], float] = time.time,
    pacer: Pacer | None = None,
    results: ResultEvents | None = None,
) -> Caller:
    """The caller's collaborators from its settings; a test may hand in its own clients, clock, pacer or results."""
    clients = clients or caller_clients()
    ledger = (
        PlacedCallsLedger(settings.idempotency_table_name, clients.ledger, clock=clock)
        if settings.idempotency_table_name
        else None
    )
    # Calls per destination and per caller ID, counted when Connect is about to be called (the ledger answers replays
    # before that).
    guard = (
        CallLimitGuard(
            CallCounter(settings.destination_calls_table_name, clients.call_limit, clock=clock),
            salt=settings.instance_id,
            destination_limits=settings.destination_call_limit,
            source_limits=settings.source_call_limit,
        )
        if settings.destination_calls_table_name is not None
        and (settings.destination_call_limit is not None or settings.source_call_limit is not None)
        else None
    )
    guards: list[CallGuard] = [guard] if guard is not None else []
    if settings.agent_pacing and ledger is not None:
        guards.append(
            AgentPacing(
                AgentsStore(ledger.table_name, settings.instance_id, clients.call_limit),
                AgentMetrics(clients.agent_metrics, settings.instance_id),
                default_queue_id=settings.queue_id,
                ratio=settings.agent_pacing_ratio,
                ttl_seconds=settings.agent_metrics_ttl_seconds,
                clock=clock,
            )
        )
    state: InstanceStateStore = (
        DynamoInstanceStateStore(ledger.table_name, settings.instance_id, clients.instance_state, clock=clock)
        if ledger is not None
        else MemoryInstanceStateStore(clock=clock)
    )
    if results is None and settings.result_event_bus_name:
        results = ResultEvents(clients.events, settings.result_event_bus_name)
    return Caller(
        settings=settings,
        clients=clients,
        pacer=pacer or Pacer(settings.calls_per_second_per_invocation, burst=settings.calls_burst_per_invocation),
        once=OncePerToken(
            ConnectCalls(clients.connect),
            ledger,
            guard=guards[0] if len(guards) == 1 else Guards(tuple(guards)) if guards else None,
        ),
        back_pressure=BackPressure(state, settings.concurrent_calls_limit),
        signing_key=SigningKey(settings.message_signing_key_secret_id, clients.secrets),
        suppression=(
            SuppressionList(
                settings.suppression_table_name, clients.call_limit, settings.suppression_key_secret_id, clients.secrets
            )
            if settings.suppression_table_name is not None and settings.suppression_key_secret_id is not None
            else None
        ),
        results=results,
        clock=clock,
        redial_copies=RedialCopies(ledger.table_name, clients.ledger, clock=clock) if ledger is not None else None,
    )
