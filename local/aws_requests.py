"""The requests local AWS served, counted by operation (and by queue for SQS), for a run's cost per call.

moto's server is wrapped with a WSGI counter that reads each request's X-Amz-Target (the JSON protocols of SQS,
DynamoDB, EventBridge and Secrets Manager name their operation there), and the SQS request's QueueUrl, then passes
it on untouched; GET COUNTS_PATH answers the counts so far as JSON.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

# Not an AWS operation: no service's API has this path.
COUNTS_PATH = "/_local/request-counts"
SQS_TARGET_PREFIX = "AmazonSQS."
DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
# DynamoDB's operations that read and those that write (each counted once per request, not per capacity unit).
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_TIMEOUT_SECONDS = 5


class CountingApplication:
    """A WSGI application counting the requests it passes on to ``app``, by operation (``AmazonSQS.SendMessage
    queue-name``, ``DynamoDB_20120810.GetItem``)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == COUNTS_PATH and environ.get("REQUEST_METHOD") == "GET":
            with self._lock:
                body = json.dumps(dict(self._counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            key = str(target)
            if key.startswith(SQS_TARGET_PREFIX):
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                key += f" {_queue_name(body)}"
            with self._lock:
                self._counts[key] += 1
        return self.app(environ, start_response)


def _queue_name(body: bytes) -> str:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return "?"
    url = request.get("QueueUrl") if isinstance(request, dict) else None
    return url.rsplit("/", 1)[-1] if isinstance(url, str) else "?"


def request_counts(urls: Iterable[str]) -> Counter[str]:
    """The requests served so far by the local AWS servers at these URLs, summed."""
    counts: Counter[str] = Counter()
    for url in dict.fromkeys(urls):
        with urllib.request.urlopen(f"{url}{COUNTS_PATH}", timeout=_TIMEOUT_SECONDS) as answer:  # noqa: S310 - our own server
            counts.update(json.loads(answer.read()))
    return counts


def sqs_requests(counts: Counter[str], queues: Iterable[str]) -> int:
    """SQS requests on these queues (by name)."""
    names = set(queues)
    return sum(
        count for key, count in counts.items() if key.startswith(SQS_TARGET_PREFIX) and key.rsplit(" ", 1)[-1] in names
    )


def dynamodb_requests(counts: Counter[str], operations: frozenset[str]) -> int:
    """DynamoDB requests of these operations."""
    return sum(
        count
        for key, count in counts.items()
        if key.startswith(DYNAMODB_TARGET_PREFIX) and key.removeprefix(DYNAMODB_TARGET_PREFIX) in operations
    )
