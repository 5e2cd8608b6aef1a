"""The outbound caller function's environment: the variables its contract names, from what the deployment configures
it with and the resources only the stack knows.

Pure (no aws_cdk import): the stack, the synth-time check of the function's own configuration and the local pipeline
build the same environment.
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
    destination_call_limit: str | None

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
            "POWERTOOLS_SERVICE_NAME": DEFAULT_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": DEFAULT_METRICS_NAMESPACE,
        }
        if self.destination_countries is not None:
            environment["ALLOWED_DESTINATION_COUNTRIES"] = ",".join(self.destination_countries)
        if self.calling_hours is not None:
            environment["CALLING_HOURS"] = self.calling_hours
        if self.destination_call_limit is not None:
            if resources.destination_calls_table_name is None:
                raise ValueError("destinationCallLimit is set: the stack must pass the table that counts it")
            environment["DESTINATION_CALL_LIMIT"] = self.destination_call_limit
            environment["DESTINATION_CALLS_TABLE_NAME"] = resources.destination_calls_table_name
        if resources.result_event_bus_name is not None:
            environment["RESULT_EVENT_BUS_NAME"] = resources.result_event_bus_name
        return environment
