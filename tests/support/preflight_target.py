"""What preflight tests check: cdk.json's settings, a fixed account, and clients that refuse to be used."""

from __future__ import annotations

import functools
import json
from typing import Any

import boto3
from botocore.stub import Stubber

from infra.context_loading import settings_from_context
from infra.repository import CDK_JSON_PATH
from preflight.target import Clients, Target

ACCOUNT = "123456789012"  # moto's default account, so moto-made ARNs and the target's agree
REGION = "eu-west-2"
INSTANCE_ID = "12345678-abcd-4ef0-9876-0123456789ab"
FLOW_ID = "11111111-1111-1111-1111-111111111111"  # cdk.json's connectContactFlowId
SOURCE_NUMBER = "+15555550100"  # cdk.json's sourcePhoneNumber


def target(**context: Any) -> Target:
    """A target whose settings are cdk.json's context with these values (and a real-looking instance ID) over it."""
    values = json.loads(CDK_JSON_PATH.read_text(encoding="utf-8"))["context"]
    values |= {"connectInstanceId": INSTANCE_ID} | context
    return Target(settings_from_context(values), ACCOUNT, REGION, "aws")


def stubbed(service: str) -> tuple[Any, Stubber]:
    """A real botocore client whose answers come from a Stubber (activated; it refuses any unexpected call)."""
    client = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


@functools.cache
def _refusing(service: str) -> Any:
    """A client for a service a check must not call: a Stubber with nothing queued refuses every call (shared)."""
    return stubbed(service)[0]


def clients(**given: Any) -> Clients:
    """Clients for a check: the ones given, and for every other service a client that fails if called."""
    services = {
        "connect": "connect",
        "service_quotas": "service-quotas",
        "cloudformation": "cloudformation",
        "lambda_": "lambda",
        "iam": "iam",
        "sts": "sts",
    }
    return Clients(**{field: given.get(field) or _refusing(service) for field, service in services.items()})
