"""`python -m local.moto_process`: moto's server in a process of its own, on a free port of 127.0.0.1.

The local pipeline's own process runs the event source's pollers and the local Connect; moto in the same
process would share one interpreter lock with them and cap the whole pipeline at one core. This process
prints the port it listens on, then serves until its standard input closes.

Its threaded server has two races the pipeline's concurrent pollers and producers hit (a reliability run lost
2% of its requests to them); both are closed here by taking the queue's own lock:
- DeleteMessage rebuilds the queue's message list without the lock SendMessage appends under: a message sent
  meanwhile is appended to the discarded list and vanishes;
- two concurrent ReceiveMessage calls can hand out the same message. (The lock is a Condition: a long poll
  waiting for messages releases it.)

Two of moto 5.2's costs grow with the load rather than with the work, and a reliability run of thousands of
requests spends most of its time in them; both are relieved here without changing what moto answers:
- every request's host is matched against hundreds of backend URL patterns: the match is remembered per host;
- ReceiveMessage checks each message's retention by computing every queue attribute, which scans the whole
  queue three times: the check reads the queue's retention period instead.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from local.account import LOCAL_HOST

READY_PREFIX = "listening on port "


def _retained_in_constant_time() -> None:
    """The same retention rule as moto's, reading one attribute instead of computing them all."""
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def _queue_operations_under_the_queue_lock() -> None:
    """Serialise DeleteMessage and ReceiveMessage with SendMessage on each queue's own lock."""
    from moto.sqs.models import Queue, SQSBackend

    delete_message = Queue.delete_message
    receive_message = SQSBackend.receive_message

    def locked_delete_message(self: Queue, receipt_handle: str) -> None:
        with self._messages_lock:
            delete_message(self, receipt_handle)

    def locked_receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.get_queue(queue_name)._messages_lock:
            return receive_message(self, queue_name, *args, **kwargs)

    Queue.delete_message = locked_delete_message  # type: ignore[method-assign]
    SQSBackend.receive_message = locked_receive_message  # type: ignore[method-assign]


def _dispatcher() -> Any:
    """moto's request dispatcher, remembering which backend serves each host."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class RememberingDispatcher(DomainDispatcherApplication):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backend_by_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backend_by_host:
                self._backend_by_host[host] = super().get_backend_for_host(host)
            return self._backend_by_host[host]

    return RememberingDispatcher()


def main() -> None:
    """Serve until standard input closes."""
    # Imported here, so that the pipeline's own process (which imports READY_PREFIX) need not import moto.
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the demo's terminal
    _retained_in_constant_time()
    _queue_operations_under_the_queue_lock()
    server = make_server(LOCAL_HOST, 0, _dispatcher(), threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    print(f"{READY_PREFIX}{server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
