"""Settings and request builders for testing the contract without AWS."""

from __future__ import annotations

from typing import Any

import pytest

from outbound_caller.config.settings import Settings, load_settings
from tests.support.environment import FUNCTION_ENVIRONMENT


@pytest.fixture
def settings() -> Settings:
    """The settings the function runs with in the test environment."""
    return load_settings(FUNCTION_ENVIRONMENT)


def request(**fields: Any) -> dict[str, Any]:
    """A valid call request with ``fields`` added or replaced."""
    return {"DestinationPhoneNumber": "+14155550123", **fields}
