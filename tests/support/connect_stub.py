"""Amazon Connect's StartOutboundVoiceContact at the HTTP layer, behind the real botocore client.

The stub answers botocore's ``before-send`` event with raw REST-JSON bytes, exactly as Connect would,
so the request is really serialized and errors are really parsed by botocore. It is no kinder than Connect:
a ClientToken returns its contact only while that call is live; once it has ended (``hang_up_all``), the
same token starts a new call. Faults may strike before a contact is created or after it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local.connect_errors import ERROR_STATUS


@dataclass(frozen=True)
class ConnectError:
    """An error answer: its code (sent in x-amzn-ErrorType) and message."""

    code: str
    message: str = "stubbed failure"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawAnswer:
    """Any HTTP answer at all, e.g. a 200 whose body has no ContactId."""

    status: int
    body: dict[str, Any]


# An exception is raised where botocore sends the request: a BaseException (a dying sandbox) escapes everything.
Answer = ConnectError | RawAnswer | BaseException | None
Rule = Callable[[dict[str, Any]], Answer]


@dataclass(frozen=True)
class StubContact:
    """A contact the stub created: one real phone call."""

    contact_id: str
    client_token: str
    destination: str


class _RawBody:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


def _limited(answer: Answer, times: int | None) -> Callable[[], Answer]:
    remaining = [times]

    def next_answer() -> Answer:
        if remaining[0] is None:
            return answer
        if remaining[0] > 0:
            remaining[0] -= 1
            return answer
        return None

    return next_answer


@dataclass
class ConnectStub:
    """Records each StartOutboundVoiceContact request body and answers it according to its rules."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    # Rules consulted after a contact was created: the call rings, but the answer is lost or an error.
    after_create_rules: list[Rule] = field(default_factory=list)
    contacts: list[StubContact] = field(default_factory=list)
    # The instance's concurrent active calls quota: a new call beyond it is answered LimitExceededException.
    max_live_calls: int | None = None
    _live_by_token: dict[str, str] = field(default_factory=dict)

    def fail_destination(self, number: str, answer: Answer, times: int | None = None) -> None:
        """Answer calls to ``number`` with ``answer`` before creating anything (only the first ``times``, if given)."""
        next_answer = _limited(answer, times)
        self.rules.append(lambda body: next_answer() if body.get("DestinationPhoneNumber") == number else None)

    def fail_always(self, answer: Answer) -> None:
        """Answer every call with ``answer`` before creating anything."""
        self.rules.append(lambda _body: answer)

    def fail_after_create(self, number: str, answer: Answer, times: int | None = None) -> None:
        """Create the contact for calls to ``number``, then answer with ``answer`` (a 5xx, or a lost answer)."""
        next_answer = _limited(answer, times)
        self.after_create_rules.append(
            lambda body: next_answer() if body.get("DestinationPhoneNumber") == number else None
        )

    def hang_up_all(self) -> None:
        """Every call ends: from now on their tokens start new calls, as Connect's do after a disconnect."""
        self._live_by_token.clear()

    def hang_up(self, calls: int) -> None:
        """The oldest ``calls`` live calls end, freeing their places in the instance."""
        for token in list(self._live_by_token)[:calls]:
            del self._live_by_token[token]

    @property
    def live_calls(self) -> int:
        """Calls in progress now."""
        return len(self._live_by_token)

    @property
    def placed(self) -> dict[str, str]:
        """ContactId by ClientToken, for every call that was placed (the latest one per token)."""
        return {contact.client_token: contact.contact_id for contact in self.contacts}

    def calls_per_token(self) -> Counter[str]:
        """How many calls (contacts) each ClientToken started: more than one means a customer rang twice."""
        return Counter(contact.client_token for contact in self.contacts)

    def calls_to(self, number: str) -> int:
        """How many calls rang ``number``."""
        return sum(1 for contact in self.contacts if contact.destination == number)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        assert request.method == "PUT"
        assert request.url.endswith("/contact/outbound-voice")
        body = json.loads(request.body or b"{}")
        self.requests.append(body)
        for rule in self.rules:
            answered = _answer(request, rule(body))
            if answered is not None:
                return answered
        token = body["ClientToken"]
        contact_id = self._live_by_token.get(token)
        if contact_id is None and self.max_live_calls is not None and self.live_calls >= self.max_live_calls:
            full = _answer(request, ConnectError("LimitExceededException", "The allowed limit has been exceeded"))
            assert full is not None
            return full
        if contact_id is None:
            contact_id = f"contact-{len(self.contacts) + 1:04d}"
            self.contacts.append(StubContact(contact_id, token, body["DestinationPhoneNumber"]))
            self._live_by_token[token] = contact_id
        for rule in self.after_create_rules:
            answered = _answer(request, rule(body))
            if answered is not None:
                return answered
        payload = json.dumps({"ContactId": contact_id}).encode()
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, _RawBody(payload))


def _answer(request: AWSPreparedRequest, answer: Answer) -> AWSResponse | None:
    """The HTTP answer for an error (or raise the exception botocore would see); None to go on."""
    if isinstance(answer, BaseException):
        raise answer
    if isinstance(answer, ConnectError):
        status = answer.status or ERROR_STATUS.get(answer.code, 400)
        payload = json.dumps({"Message": answer.message}).encode()
        headers = {"x-amzn-ErrorType": f"{answer.code}:http://internal.amazon.com/", "content-type": "application/json"}
        return AWSResponse(request.url, status, {**headers, **answer.headers}, _RawBody(payload))
    if isinstance(answer, RawAnswer):
        headers = {"content-type": "application/json"}
        return AWSResponse(request.url, answer.status, headers, _RawBody(json.dumps(answer.body).encode()))
    return None
