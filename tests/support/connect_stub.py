"""Amazon Connect's StartOutboundVoiceContact at the HTTP layer, behind the real botocore client.

The stub answers botocore's ``before-send`` event with raw REST-JSON bytes, exactly as Connect would,
so the request is really serialized and errors are really parsed by botocore.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local.connect_endpoint import ERROR_STATUS


@dataclass(frozen=True)
class ConnectError:
    """An error answer: its code (sent in x-amzn-ErrorType) and message."""

    code: str
    message: str = "stubbed failure"
    status: int | None = None


Answer = ConnectError | Exception | None
Rule = Callable[[dict[str, Any]], Answer]


class _RawBody:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


@dataclass
class ConnectStub:
    """Records each StartOutboundVoiceContact request body and answers it according to its rules."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    contacts_by_token: dict[str, str] = field(default_factory=dict)

    def fail_destination(self, number: str, answer: ConnectError | Exception, times: int | None = None) -> None:
        """Answer calls to ``number`` with ``answer`` (only the first ``times`` attempts, if given)."""
        remaining = [times]

        def rule(body: dict[str, Any]) -> Answer:
            if body.get("DestinationPhoneNumber") != number:
                return None
            if remaining[0] is None:
                return answer
            if remaining[0] > 0:
                remaining[0] -= 1
                return answer
            return None

        self.rules.append(rule)

    def fail_always(self, answer: ConnectError | Exception) -> None:
        """Answer every call with ``answer``."""
        self.rules.append(lambda _body: answer)

    @property
    def placed(self) -> dict[str, str]:
        """ContactId by ClientToken, for every call that was placed."""
        return dict(self.contacts_by_token)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        assert request.method == "PUT"
        assert request.url.endswith("/contact/outbound-voice")
        body = json.loads(request.body or b"{}")
        self.requests.append(body)
        for rule in self.rules:
            answer = rule(body)
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, ConnectError):
                status = answer.status or ERROR_STATUS.get(answer.code, 400)
                payload = json.dumps({"Message": answer.message}).encode()
                headers = {
                    "x-amzn-ErrorType": f"{answer.code}:http://internal.amazon.com/",
                    "content-type": "application/json",
                }
                return AWSResponse(request.url, status, headers, _RawBody(payload))  # type: ignore[arg-type]
        token = body["ClientToken"]
        # Connect's idempotency: the same ClientToken returns the same contact.
        contact_id = self.contacts_by_token.setdefault(token, f"contact-{len(self.contacts_by_token) + 1:04d}")
        payload = json.dumps({"ContactId": contact_id}).encode()
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, _RawBody(payload))  # type: ignore[arg-type]
