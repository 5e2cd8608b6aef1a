"""Lambda's synchronous Invoke, answered in-process by a handler of ours, behind the real botocore client.

moto runs Lambda functions in Docker, which these tests do not have: a ``before-call`` handler takes the request the
client built, runs the handler with its payload as the event, and answers as Lambda does (the payload a stream, a
function's exception as FunctionError with its errorType).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from tests.support.lambda_events import FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


def answer_invokes_with(client: Any, handler: Handler) -> None:
    """Make ``client`` (a Lambda client) answer every Invoke by running ``handler`` on the payload."""

    def invoke(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        event = json.loads(params["body"] or b"{}")
        answer: dict[str, Any] = {"StatusCode": 200, "ResponseMetadata": {"HTTPStatusCode": 200}}
        try:
            result = handler(event, FakeLambdaContext(function_name="opt-out"))
        except Exception as error:  # noqa: BLE001 - a function's exception is what Lambda reports, as it does
            result = {"errorType": type(error).__name__, "errorMessage": str(error)}
            answer["FunctionError"] = "Unhandled"
        data = json.dumps(result).encode()
        answer["Payload"] = StreamingBody(io.BytesIO(data), len(data))
        return AWSResponse(params["url"], 200, {}, None), answer

    client.meta.events.register_first("before-call.lambda.Invoke", invoke, unique_id="answer-invokes")
