"""The one way the function makes AWS clients: one botocore session, explicit timeouts, standard retries.

botocore itself rather than boto3: boto3 adds resources and S3 transfers, which the function never uses, to every cold
start. Each collaborator gets the client its timeouts call for (timeouts.py); the wiring builds them once.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config

from outbound_caller.timeouts import MAX_ATTEMPTS


def client_config(connect_timeout: int, read_timeout: int, attempts: int = MAX_ATTEMPTS) -> Config:
    """botocore settings for the function's clients: explicit timeouts, standard retries."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
        user_agent_extra="connect-outbound-caller",
    )


_SESSION = botocore.session.get_session()


def create_client(service_name: str, connect_timeout: int, read_timeout: int, attempts: int = MAX_ATTEMPTS) -> Any:
    """A client with the function's timeouts and retries (typed by the caller: its mypy_boto3 client type)."""
    return _SESSION.create_client(service_name, config=client_config(connect_timeout, read_timeout, attempts))
