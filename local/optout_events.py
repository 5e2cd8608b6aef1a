"""Opt-out and opt-in events on the intake bus reaching the opt-out function, as Lambda's asynchronous invocation does.

In AWS the opt-out rule targets the function: EventBridge hands each event to Lambda's own event queue, and Lambda
invokes the function with the event as it is, retrying a failed invocation twice (MaximumRetryAttempts' default) and
then dropping the event (no on-failure destination). Locally the rule targets a queue standing in for Lambda's
(local/intake.py), and this poller plays Lambda's part: it invokes the function with each event, deletes it once an
invocation succeeded, and drops it after the third failed attempt. The retries come after RETRY_DELAY_SECONDS, not
Lambda's minute or two, as the demo compresses every wait.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from local.function_container import SUCCEEDED, FunctionInitError
from local.optout_function import OPT_OUT_TIMEOUT_SECONDS, LocalOptOutFunction

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The door's name, as the opt-out function's invocations record it.
EVENT_DOOR = "event"
# Lambda's asynchronous invocation: the first attempt and two retries.
ASYNC_ATTEMPTS = 3
# Compressed: Lambda waits about a minute before the first retry and two before the second.
RETRY_DELAY_SECONDS = 2
# Each receive waits this long for an event, so stopping is prompt.
POLL_WAIT_SECONDS = 1
SQS_MAX_MESSAGES_PER_RECEIVE = 10
# How long stopping waits for the poller: a receive's wait, and an invocation in progress to its timeout.
STOP_WAIT_SECONDS = POLL_WAIT_SECONDS + OPT_OUT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class EventDeliveries:
    """How the events the rule delivered ended: handled by the function, attempts that failed, events dropped."""

    handled: int
    failed_attempts: int
    dropped: int


class OptOutEventDelivery:
    """Reads the rule's queue and invokes the function with each event; use as a context manager.

    Create it inside the pipeline's scoped_environment, so that its client reaches the local AWS.
    """

    def __init__(self, queue_url: str, function: LocalOptOutFunction) -> None:
        self.queue_url = queue_url
        self.function = function
        self._sqs: SQSClient = boto3.client("sqs")
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._handled = self._failed_attempts = self._dropped = 0
        self._thread = threading.Thread(target=self._poll, name="opt-out-event-delivery", daemon=True)
        self.init_error: FunctionInitError | None = None  # the function failed to start (see its log)

    @property
    def deliveries(self) -> EventDeliveries:
        """A snapshot of how the events delivered so far ended."""
        with self._changed:
            return EventDeliveries(self._handled, self._failed_attempts, self._dropped)

    def wait_until_handled(self, events: int, timeout_seconds: float) -> bool:
        """Wait until the function has handled (or dropped) this many events; whether it did in time."""
        deadline = time.monotonic() + timeout_seconds
        with self._changed:
            while self._handled + self._dropped < events:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def __enter__(self) -> OptOutEventDelivery:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=STOP_WAIT_SECONDS)

    def _poll(self) -> None:
        while not self._stop.is_set():
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=SQS_MAX_MESSAGES_PER_RECEIVE,
                WaitTimeSeconds=POLL_WAIT_SECONDS,
                VisibilityTimeout=RETRY_DELAY_SECONDS,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
            for message in messages:
                if self._stop.is_set():
                    return
                attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                try:
                    succeeded = self.function.invoke(json.loads(message["Body"]), door=EVENT_DOOR).outcome == SUCCEEDED
                except FunctionInitError as error:  # as Lambda's Runtime.ImportModuleError: a failed attempt
                    self.init_error = error
                    succeeded = False
                if succeeded or attempt >= ASYNC_ATTEMPTS:
                    self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                with self._changed:
                    if succeeded:
                        self._handled += 1
                    else:
                        self._failed_attempts += 1
                        if attempt >= ASYNC_ATTEMPTS:
                            self._dropped += 1
                    self._changed.notify_all()
