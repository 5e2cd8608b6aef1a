"""The real completion handler as a test invokes it: built from an environment and a clock the test controls, with
Connect's DescribeContact answered by a stub (no contact known unless the test says so)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from outbound_caller.completion.collaborators import build_completion
from outbound_caller.config.completion import load_completion_settings
from tests.support.contacts_stub import ContactsStub
from tests.support.lambda_events import FakeLambdaContext


def completion_handler(
    environment: Mapping[str, str], clock: Callable[[], float], monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, Any]], Any]:
    """Invoke the completion handler with one event; the environment is also set, as the handler module builds its
    own collaborators from it when first imported (a cold start)."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from outbound_caller.completion.handler import handler_for

    completion = build_completion(load_completion_settings(environment), clock=clock)
    ContactsStub().install(completion.contacts.client)
    handler = handler_for(completion)
    return lambda event: handler(event, FakeLambdaContext(function_name="completion"))
