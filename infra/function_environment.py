"""The environments of the stack's functions: the variables each one's configuration reads, from what the deployment
configures the caller with and the resources only the stack knows.

Pure (no aws_cdk import): the stack, the synth-time check of the functions' own configurations and the local pipeline
build the same environments.
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound_caller.names import DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME


@dataclass(frozen=True)
class StackResources:
    """What only the deployed stack knows: where the function dead-letters, defers, records and publishes, its key."""

    dead_letter_queue_url: str
    # Where deferred requests go back: the queue the function reads, named rather than rebuilt from each record's
    # eventSourceARN, which would mean guessing the SQS endpoint (partition, local stand-ins).
    source_queue_url: str
    idempotency_table_name: str
    # The key of the MAC on the function's own message attributes: only those it signed steer a request.
    message_signing_key_secret_id: str
    # Only when destinationCallLimit is set: the table that counts calls per destination.
    destination_calls_table_name: str | None = None
    # Only when result events are on: the bus they go to.
    result_event_bus_name: str | None = None
    # Only with the suppression list: its table and the secret keying the HMAC of each number, always together.
    suppression_table_name: str | None = None
    suppression_key_secret_id: str | None = None
    # Only with the waiting room: the FIFO queue a request waits in for a slot of the full instance.
    waiting_room_queue_url: str | None = None


@dataclass(frozen=True)
class SlotHandOverResources:
    """What the completion function hands an ended call's slot on with: the waiting room it draws, the source queue it
    draws into, the key that marks a handed-over slot, and the instance's concurrent calls as the caller knows them."""

    waiting_room_queue_url: str
    source_queue_url: str
    message_signing_key_secret_id: str
    concurrent_calls_limit: int


@dataclass(frozen=True)
class FunctionConfiguration:
    """What the deployment's settings configure the function with: its Connect call, pacing and calling safety."""

    instance_id: str
    contact_flow_id: str
    allowed_contact_flow_ids: tuple[str, ...]
    source_phone_number: str | None
    queue_id: str | None
    allowed_source_phone_numbers: tuple[str, ...]
    allowed_queue_ids: tuple[str, ...]
    allow_related_contact: bool
    calls_per_second: float
    calls_burst: float
    max_concurrency: int
    concurrent_calls_limit: int
    # The redrive policy's own maxReceiveCount, so the function dead-letters the last receive with a reason.
    max_receive_count: int
    max_deferral_seconds: int
    blocked_number_types: tuple[str, ...]
    # None: any country.
    destination_countries: tuple[str, ...] | None
    calling_hours: str | None
    calling_holidays: str | None
    calling_blackout_dates: tuple[str, ...]
    # Several windows each (`2/24h,6/14d`), counted in one table.
    destination_call_limit: str | None
    source_call_limit: str | None
    # The redial policy: only written when it redials (more than one attempt, and outcomes that earn one).
    redial_on: tuple[str, ...]
    redial_max_attempts: int
    redial_interval_seconds: int
    redial_outcome_wait_seconds: int
    # Agent pacing: only written when on.
    agent_pacing: bool
    agent_pacing_ratio: float
    agent_metrics_ttl_seconds: int

    def environment(self, resources: StackResources) -> dict[str, str]:
        """The function's environment variables, exactly as the contract names them."""
        environment = {
            "CONNECT_INSTANCE_ID": self.instance_id,
            "CONNECT_CONTACT_FLOW_ID": self.contact_flow_id,
        }
        if self.allowed_contact_flow_ids:
            environment["CONNECT_ALLOWED_CONTACT_FLOW_IDS"] = ",".join(self.allowed_contact_flow_ids)
        if self.source_phone_number is not None:
            environment["CONNECT_SOURCE_PHONE_NUMBER"] = self.source_phone_number
        if self.queue_id is not None:
            environment["CONNECT_QUEUE_ID"] = self.queue_id
        if self.allowed_source_phone_numbers:
            environment["CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS"] = ",".join(self.allowed_source_phone_numbers)
        if self.allowed_queue_ids:
            environment["CONNECT_ALLOWED_QUEUE_IDS"] = ",".join(self.allowed_queue_ids)
        if self.allow_related_contact:
            environment["ALLOW_RELATED_CONTACT"] = "true"
        environment |= {
            "DEAD_LETTER_QUEUE_URL": resources.dead_letter_queue_url,
            "SOURCE_QUEUE_URL": resources.source_queue_url,
            "IDEMPOTENCY_TABLE_NAME": resources.idempotency_table_name,
            "MESSAGE_SIGNING_KEY_SECRET_ID": resources.message_signing_key_secret_id,
            "CALLS_PER_SECOND": f"{self.calls_per_second:g}",
            "CALLS_BURST": f"{self.calls_burst:g}",
            "MAX_CONCURRENCY": str(self.max_concurrency),
            "CONCURRENT_CALLS_LIMIT": str(self.concurrent_calls_limit),
            "MAX_RECEIVE_COUNT": str(self.max_receive_count),
            "MAX_DEFERRAL_SECONDS": str(self.max_deferral_seconds),
            # Always written, also when empty (block no type), so the function never falls back to its own default.
            "BLOCKED_NUMBER_TYPES": ",".join(self.blocked_number_types),
            **powertools_environment(),
        }
        if self.destination_countries is not None:
            environment["ALLOWED_DESTINATION_COUNTRIES"] = ",".join(self.destination_countries)
        environment |= self._calling_safety(resources)
        if self.redial_max_attempts > 1 and self.redial_on:
            environment |= {
                "REDIAL_ON": ",".join(self.redial_on),
                "REDIAL_MAX_ATTEMPTS": str(self.redial_max_attempts),
                "REDIAL_INTERVAL_SECONDS": str(self.redial_interval_seconds),
                "REDIAL_OUTCOME_WAIT_SECONDS": str(self.redial_outcome_wait_seconds),
            }
        if resources.result_event_bus_name is not None:
            environment["RESULT_EVENT_BUS_NAME"] = resources.result_event_bus_name
        if resources.waiting_room_queue_url is not None:
            environment["WAITING_ROOM_QUEUE_URL"] = resources.waiting_room_queue_url
        if self.agent_pacing:
            environment |= {
                "AGENT_PACING": "true",
                "AGENT_PACING_RATIO": f"{self.agent_pacing_ratio:g}",
                "AGENT_METRICS_TTL_SECONDS": str(self.agent_metrics_ttl_seconds),
            }
        return environment

    def _calling_safety(self, resources: StackResources) -> dict[str, str]:
        """When, how often and whom not: the set rules, with the tables and the key they are kept with."""
        environment = {}
        if self.calling_hours is not None:
            environment["CALLING_HOURS"] = self.calling_hours
        if self.calling_holidays is not None:
            environment["CALLING_HOLIDAYS"] = self.calling_holidays
        if self.calling_blackout_dates:
            environment["CALLING_BLACKOUT_DATES"] = ",".join(self.calling_blackout_dates)
        for key, variable, limit in (
            ("destinationCallLimit", "DESTINATION_CALL_LIMIT", self.destination_call_limit),
            ("sourceCallLimit", "SOURCE_CALL_LIMIT", self.source_call_limit),
        ):
            if limit is None:
                continue
            if resources.destination_calls_table_name is None:
                raise ValueError(f"{key} is set: the stack must pass the table that counts it")
            environment[variable] = limit
            environment["DESTINATION_CALLS_TABLE_NAME"] = resources.destination_calls_table_name
        if (resources.suppression_table_name is None) != (resources.suppression_key_secret_id is None):
            raise ValueError("the suppression list's table and its key's secret are passed together, or neither")
        if resources.suppression_table_name is not None and resources.suppression_key_secret_id is not None:
            environment["SUPPRESSION_TABLE_NAME"] = resources.suppression_table_name
            environment["SUPPRESSION_KEY_SECRET_ID"] = resources.suppression_key_secret_id
        return environment


def routed_queue_ids(queue_id: str | None, allowed_queue_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The queues a call may be routed to: the default queue and the allowed ones (those agent pacing reads)."""
    return tuple(dict.fromkeys([*([queue_id] if queue_id else []), *allowed_queue_ids]))


def powertools_environment() -> dict[str, str]:
    """Every function's Powertools service and namespace: one set of metrics, which the alarms and dashboard read."""
    return {"POWERTOOLS_SERVICE_NAME": DEFAULT_SERVICE_NAME, "POWERTOOLS_METRICS_NAMESPACE": DEFAULT_METRICS_NAMESPACE}


def completion_environment(
    instance_id: str,
    placed_calls_table_name: str,
    result_event_bus_name: str,
    *,
    hand_over: SlotHandOverResources | None = None,
    agent_pacing: bool = False,
) -> dict[str, str]:
    """The completion function's: the instance whose contacts it describes, the ledger it records outcomes in (under
    the caller's variable name), the bus it publishes to; with a waiting room, what it hands slots on with; with agent
    pacing, that it ends the calls' claims on agents."""
    environment = {
        "CONNECT_INSTANCE_ID": instance_id,
        "IDEMPOTENCY_TABLE_NAME": placed_calls_table_name,
        "RESULT_EVENT_BUS_NAME": result_event_bus_name,
        **powertools_environment(),
    }
    if hand_over is not None:
        environment |= {
            "WAITING_ROOM_QUEUE_URL": hand_over.waiting_room_queue_url,
            "SOURCE_QUEUE_URL": hand_over.source_queue_url,
            "MESSAGE_SIGNING_KEY_SECRET_ID": hand_over.message_signing_key_secret_id,
            # The caller's own value: both judge from it when a full instance keeps up again.
            "CONCURRENT_CALLS_LIMIT": str(hand_over.concurrent_calls_limit),
        }
    if agent_pacing:
        environment["AGENT_PACING"] = "true"
    return environment


def optout_environment(
    suppression_table_name: str, suppression_key_secret_id: str, result_event_bus_name: str | None
) -> dict[str, str]:
    """The opt-out function's: the list it changes, its key, and where each change is announced (if anywhere)."""
    environment = {
        "SUPPRESSION_TABLE_NAME": suppression_table_name,
        "SUPPRESSION_KEY_SECRET_ID": suppression_key_secret_id,
        **powertools_environment(),
    }
    if result_event_bus_name is not None:
        environment["RESULT_EVENT_BUS_NAME"] = result_event_bus_name
    return environment
