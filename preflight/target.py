"""What preflight checks: the deployment's settings in the account and Region of the operator's credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from mypy_boto3_connect import ConnectClient

from infra.deployment import STACK_NAME
from infra.settings import DeploymentSettings

# Read-only calls an operator makes once: a few quick attempts, not the function's tuned budget.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)


class TargetUnavailable(Exception):  # noqa: N818 - it is a condition the operator fixes, named as one
    """No credentials, no Region, or credentials STS rejects: nothing can be checked; the message says why."""


@dataclass(frozen=True)
class Target:
    """The deployment under check: its settings, the account and Region, and the stack's name."""

    settings: DeploymentSettings
    account: str
    region: str
    partition: str
    stack_name: str = STACK_NAME

    def connect_arn(self, resource: str) -> str:
        """The ARN of a Connect resource of this account and Region, e.g. ``instance/<id>``."""
        return f"arn:{self.partition}:connect:{self.region}:{self.account}:{resource}"

    @property
    def instance_arn(self) -> str:
        """The configured instance's ARN."""
        return self.connect_arn(f"instance/{self.settings.instance_id}")


@dataclass(frozen=True)
class Clients:
    """The AWS clients the checks use; tests hand in moto-backed or stubbed ones."""

    connect: ConnectClient
    service_quotas: Any
    cloudformation: Any
    lambda_: Any
    iam: Any
    sts: Any

    @classmethod
    def from_session(cls, session: boto3.Session) -> Clients:
        """Clients for the session's credentials and Region."""
        return cls(
            connect=session.client("connect", config=CLIENT_CONFIG),
            service_quotas=session.client("service-quotas", config=CLIENT_CONFIG),
            cloudformation=session.client("cloudformation", config=CLIENT_CONFIG),
            lambda_=session.client("lambda", config=CLIENT_CONFIG),
            iam=session.client("iam", config=CLIENT_CONFIG),
            sts=session.client("sts", config=CLIENT_CONFIG),
        )


def region_of(session: boto3.Session) -> str:
    """The session's Region, or TargetUnavailable saying how to set it."""
    if not session.region_name:
        raise TargetUnavailable(
            "no AWS Region: set AWS_REGION (as for make deploy) to the Region of your Connect instance"
        )
    return session.region_name


def resolve_target(session: boto3.Session, sts: Any, settings: DeploymentSettings) -> Target:
    """The account (from STS), Region and partition of the session, with the settings to check."""
    region = region_of(session)
    try:
        account = str(sts.get_caller_identity()["Account"])
    except NoCredentialsError:
        raise TargetUnavailable(
            "no AWS credentials: configure them (aws configure, AWS_PROFILE, or SSO) so that"
            " `aws sts get-caller-identity` works, then run preflight again"
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise TargetUnavailable(f"STS rejected your credentials ({code}): refresh them, then run preflight") from None
    except BotoCoreError as error:
        raise TargetUnavailable(f"cannot reach STS in {region}: {error}") from None
    return Target(settings, account, region, session.get_partition_for_region(region))
