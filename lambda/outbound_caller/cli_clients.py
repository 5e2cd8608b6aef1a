"""AWS clients for the command line, on a producer's or operator's machine: their profile, Region and endpoint.

Unlike the function's own clients (clients.py), these follow boto3's credential chain and named profiles, and are made
on first use, so that importing a command creates none.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from outbound_caller.privacy import redact_phone_numbers


class AwsClients:
    """boto3 clients for one profile, Region and endpoint, made on first use: importing this creates none."""

    def __init__(self, profile: str | None = None, region: str | None = None, endpoint_url: str | None = None) -> None:
        self.profile = profile
        self.region = region
        self.endpoint_url = endpoint_url

    @cache  # noqa: B019 - one per instance and service, for the life of the command
    def session(self) -> boto3.Session:
        """The boto3 session of the profile and Region asked for (else boto3's defaults)."""
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    @cache  # noqa: B019 - one per instance and service, for the life of the command
    def client(self, service: str) -> Any:
        """The service's client, at the endpoint asked for (else the standard one, or AWS_ENDPOINT_URL_*)."""
        return self.session().client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


def aws_error(error: ClientError | BotoCoreError) -> str:
    """An AWS error in a line: its code and message (ClientError) or botocore's own words, numbers masked."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error", {})
        code = details.get("Code") or "UnknownError"
        message = details.get("Message") or ""
        return f"{code}: {redact_phone_numbers(message)}" if message else code
    return redact_phone_numbers(str(error))
