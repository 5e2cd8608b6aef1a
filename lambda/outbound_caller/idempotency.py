"""A durable record of each placed call, so that no redelivery rings the customer a second time.

Connect answers a repeated ClientToken with the contact it already started only while that contact is
live; once it has disconnected, the same token starts a new call. So the function also records each
call under its ClientToken in DynamoDB (Powertools Idempotency): a later delivery with the same token
gets the recorded ContactId back without calling Connect, and a concurrent one is retried later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import DataclassSerializer

from outbound_caller.calls import PlacedCall
from outbound_caller.timeouts import DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS, client_config

# How long a placed call is remembered: as long as a request can come back, that is the source queue's
# retention (4 days, the stack's) plus a dead-letter redrive within the DLQ's 14 days.
RECORD_KEPT_SECONDS = (4 + 14) * 24 * 60 * 60
# A stable key prefix, so records survive a function rename or a code move.
KEY_PREFIX = "connect-outbound-caller#place_call"

PlaceCall = Callable[..., PlacedCall]


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    return dataclasses.replace(response, replayed=True)


# One config per container; the handler registers each invocation's context with it, so a record left
# "in progress" by an invocation that died expires when that invocation would have timed out.
config = IdempotencyConfig(
    event_key_jmespath="ClientToken",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=RECORD_KEPT_SECONDS,
    hash_function="sha256",
    response_hook=_mark_replayed,
)


def once_per_client_token(place_call: PlaceCall, table_name: str | None) -> PlaceCall:
    """``place_call`` recorded in ``table_name`` by ClientToken; unchanged when no table is configured."""
    if table_name is None:
        return place_call
    store = DynamoDBPersistenceLayer(
        table_name=table_name,
        boto_config=client_config(DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS),
    )
    recorded: PlaceCall = idempotent_function(
        data_keyword_argument="params",
        persistence_store=store,
        config=config,
        output_serializer=DataclassSerializer(PlacedCall),
        key_prefix=KEY_PREFIX,
    )(place_call)
    return recorded
