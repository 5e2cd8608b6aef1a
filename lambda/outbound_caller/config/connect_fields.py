"""What the function calls Connect with by default, and what else a request may name: instance, flows, caller IDs,
queues, related contacts."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from outbound_caller.api_limits import CONTACT_FLOW_ID_MAX_LENGTH, E164_PATTERN, INSTANCE_ID_MAX_LENGTH
from outbound_caller.config.common import FROZEN, blank_is_unset, comma_separated


class ConnectFields(BaseModel):
    """The Connect side of the function's settings."""

    model_config = FROZEN

    instance_id: str = Field(alias="CONNECT_INSTANCE_ID", min_length=1, max_length=INSTANCE_ID_MAX_LENGTH)
    contact_flow_id: str = Field(alias="CONNECT_CONTACT_FLOW_ID", min_length=1, max_length=CONTACT_FLOW_ID_MAX_LENGTH)
    extra_contact_flow_ids: frozenset[str] = Field(alias="CONNECT_ALLOWED_CONTACT_FLOW_IDS", default=frozenset())
    source_phone_number: str | None = Field(alias="CONNECT_SOURCE_PHONE_NUMBER", default=None, pattern=E164_PATTERN)
    queue_id: str | None = Field(alias="CONNECT_QUEUE_ID", default=None, min_length=1)
    extra_source_phone_numbers: frozenset[str] = Field(
        alias="CONNECT_ALLOWED_SOURCE_PHONE_NUMBERS", default=frozenset()
    )
    extra_queue_ids: frozenset[str] = Field(alias="CONNECT_ALLOWED_QUEUE_IDS", default=frozenset())
    # RelatedContactId copies another contact's attributes into the call: refused unless the deployment opts in.
    allow_related_contact: bool = Field(alias="ALLOW_RELATED_CONTACT", default=False)

    @field_validator("extra_contact_flow_ids", "extra_source_phone_numbers", "extra_queue_ids", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return comma_separated(value)

    @field_validator("source_phone_number", "queue_id", mode="before")
    @classmethod
    def _connect_blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    @field_validator("extra_contact_flow_ids")
    @classmethod
    def _flow_ids_within_limits(cls, value: frozenset[str]) -> frozenset[str]:
        if any(len(flow_id) > CONTACT_FLOW_ID_MAX_LENGTH for flow_id in value):
            raise ValueError(f"a contact flow ID is longer than {CONTACT_FLOW_ID_MAX_LENGTH} characters")
        return value

    @field_validator("extra_source_phone_numbers")
    @classmethod
    def _source_numbers_are_e164(cls, value: frozenset[str]) -> frozenset[str]:
        if any(not re.fullmatch(E164_PATTERN, number) for number in value):
            raise ValueError("every caller ID must be an E.164 number like +15555550100")
        return value

    @property
    def allowed_source_phone_numbers(self) -> frozenset[str]:
        """The default caller ID and every extra one a request may name."""
        default = {self.source_phone_number} if self.source_phone_number else set()
        return self.extra_source_phone_numbers | default

    @property
    def allowed_queue_ids(self) -> frozenset[str]:
        """The default queue and every extra one a request may name."""
        return self.extra_queue_ids | ({self.queue_id} if self.queue_id else set())

    @property
    def allowed_contact_flow_ids(self) -> frozenset[str]:
        """The default flow and every extra flow a request may name."""
        return self.extra_contact_flow_ids | {self.contact_flow_id}
