"""The published JSON Schema and examples agree with the model producers are validated against."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from outbound_caller.config.settings import Settings
from outbound_caller.request.contract import CallRequest, request_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "call-request.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*-request.json"))


def test_committed_schema_is_generated_from_the_model() -> None:
    # Given the schema file producers download
    committed = json.loads(SCHEMA_FILE.read_text())
    # When the model's schema is generated
    # Then they are the same (run `make schema` after changing the model)
    assert committed == request_json_schema()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_examples_are_valid_requests(example: Path, settings: Settings) -> None:
    # Given a documented example request, and a deployment that redials (the redial example narrows its policy)
    data = json.loads(example.read_text())
    redialling = settings.model_copy(
        update={"redial_on": frozenset({"NoAnswer", "Busy", "Voicemail"}), "redial_max_attempts": 3}
    )
    # When it is checked against the schema and the model
    jsonschema.validate(data, request_json_schema())
    # Then both accept it
    request = CallRequest.model_validate(data, context=redialling)
    assert request.DestinationPhoneNumber == data["DestinationPhoneNumber"]


def test_the_redial_example_narrows_the_deployments_policy_and_is_refused_where_there_is_none(
    settings: Settings,
) -> None:
    # Given the redial example (3 attempts on NoAnswer and Busy, an hour apart)
    data = json.loads((ROOT / "examples" / "redial-request.json").read_text())
    redialling = settings.model_copy(
        update={"redial_on": frozenset({"NoAnswer", "Busy", "Voicemail"}), "redial_max_attempts": 3}
    )
    # Then a deployment redialling up to 3 times on those outcomes takes it, narrowed to the request's own
    policy = CallRequest.model_validate(data, context=redialling).redial_policy(redialling)
    assert (policy.on, policy.max_attempts, policy.interval_seconds) == (frozenset({"NoAnswer", "Busy"}), 3, 3600)
    # And a deployment without redial refuses it, naming what it asks for beyond the policy
    with pytest.raises(ValueError, match="Redial"):
        CallRequest.model_validate(data, context=settings)


def test_schema_refuses_what_the_model_refuses() -> None:
    # Given a request with an unknown member and a bad number
    # When it is checked against the schema
    # Then the schema refuses it too
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"DestinationPhoneNumber": "+1", "Colour": "red"}, request_json_schema())


def test_eventbridge_example_carries_a_valid_request(settings: Settings) -> None:
    # Given the documented PutEvents entry
    entry = json.loads((ROOT / "examples" / "eventbridge-entry.json").read_text())[0]
    # When its Detail is validated
    # Then it is a valid request, with the detail-type the stack's rule matches by default
    assert entry["DetailType"] == "Outbound Call Requested"
    CallRequest.model_validate_json(entry["Detail"], context=settings)
