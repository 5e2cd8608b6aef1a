"""Patches to moto 5.2 for the local pipeline's load; each one keeps every answer moto gives exactly as it was.

Two close races of moto's threaded server that the pipeline's concurrent pollers and producers hit (a reliability
run lost 2% of its requests to them), by taking the queue's own lock. The others remove costs that grow with the
length of a queue or with the number of requests rather than with the work asked for: a reliability run of
thousands of requests spent most of its time in them (docs/local-pipeline.md, "What moto is patched for").

Each patch says in its docstring why moto's answers stay the same; tests/integration/test_local_moto_patches.py
puts the patched server's answers beside unpatched moto's.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

# moto's clock, unix_time(): a naive UTC datetime of now, minus the epoch's, as days, seconds and microseconds.
MICROSECONDS_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
# jsonpath expressions moto's EventBridge parses: one per input path of each target's InputTransformer.
PARSED_PATHS_KEPT = 1_024
# Where Table.query takes index_name among its positional arguments (self not counted).
INDEX_NAME_POSITION = 7


def unix_time_of(microseconds_since_epoch: int) -> float:
    """moto's unix_time() of the moment ``microseconds_since_epoch``, with moto's own arithmetic.

    datetime.now() floors the system clock to microseconds; moto subtracts the epoch and adds up the timedelta's
    days, seconds and microseconds in this order, so the same float comes out.
    """
    days, rest = divmod(microseconds_since_epoch, SECONDS_PER_DAY * MICROSECONDS_PER_SECOND)
    seconds, microseconds = divmod(rest, MICROSECONDS_PER_SECOND)
    return days * SECONDS_PER_DAY + (seconds + microseconds / 1e6)


def install() -> None:
    """Apply every patch; call once, in the moto server's process, before it serves."""
    _clock_without_datetimes()
    _retained_in_constant_time()
    _queue_operations_under_the_queue_lock()
    _standard_queue_sends_without_counts()
    _event_paths_parsed_once()
    _index_queries_without_sorting_the_table()


def _clock_without_datetimes() -> None:
    """moto's unix_time() of now, without building two datetimes: the same number, 40 times cheaper.

    Every SQS message's visibility and delay is checked against it, twice per message on each scan of a queue
    (a receive, a long poll waking up, a count), so a scan of a queue costs ~8 us per message. unix_time(dt) of a
    given datetime keeps moto's code. Modules that imported it by name get the new one too.
    """
    import moto.core.utils
    import moto.events.models
    import moto.sqs.models

    moto_unix_time = moto.core.utils.unix_time

    def unix_time(dt: Any = None) -> float:
        if dt is not None:
            return float(moto_unix_time(dt))
        return unix_time_of(time.time_ns() // 1_000)  # datetime.now()'s flooring to microseconds

    for module in (moto.core.utils, moto.sqs.models, moto.events.models):
        module.unix_time = unix_time  # type: ignore[attr-defined]


def _retained_in_constant_time() -> None:
    """The same retention rule as moto's, reading one attribute instead of computing them all.

    ReceiveMessage checks each message's retention by computing every queue attribute, which scans the whole
    queue three times: this reads the queue's retention period alone.
    """
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def _queue_operations_under_the_queue_lock() -> None:
    """Serialise DeleteMessage and ReceiveMessage with SendMessage on each queue's own lock.

    DeleteMessage rebuilds the queue's message list without the lock SendMessage appends under: a message sent
    meanwhile is appended to the discarded list and vanishes; and two concurrent ReceiveMessage calls can hand out
    the same message. (The lock is a Condition: a long poll waiting for messages releases it.)
    """
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


def _standard_queue_sends_without_counts() -> None:
    """SendMessage to a standard queue without counting the queue's messages three times over.

    SendMessage computes every attribute of the queue to read one, ContentBasedDeduplication, and so scans the
    whole queue three times (visible, in flight, delayed) per message sent: the result sink, which the result
    bus's rule fills, and a source queue holding deferrals made every send slower than the last. A standard
    queue has no ContentBasedDeduplication attribute (moto lists it only for a FIFO queue), so within its
    SendMessage the attributes are read as the empty mapping, where that one read finds nothing either. FIFO
    queues, whose sends read it and deduplicate, keep moto's code whole.
    """
    from moto.sqs.models import Queue, SQSBackend

    every_attribute = Queue.attributes.fget  # type: ignore[attr-defined]
    send_message = SQSBackend.send_message
    sending_to = threading.local()  # the queue this thread's SendMessage is for

    def attributes(self: Queue) -> dict[str, Any]:
        if getattr(sending_to, "queue", None) is self and not self.fifo_queue:
            return {}
        return every_attribute(self)  # type: ignore[no-any-return]

    def send_message_uncounted(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        sending_to.queue = self.get_queue(queue_name)
        try:
            return send_message(self, queue_name, *args, **kwargs)
        finally:
            sending_to.queue = None

    Queue.attributes = property(attributes)  # type: ignore[method-assign, assignment]
    SQSBackend.send_message = send_message_uncounted  # type: ignore[method-assign]


def _event_paths_parsed_once() -> None:
    """EventBridge parses each JSONPath of a target's input (eight for the default input) once, not per event.

    moto builds a new jsonpath parser, tables and all, for every path of every event it forwards to a target: an
    eighth of the server's time under the result events' load. A parsed path is a value (finding matches
    reads it, never changes it), so the same text always gives an equal expression to reuse.
    """
    import jsonpath_ng.ext

    parse = jsonpath_ng.ext.parse  # type: ignore[attr-defined]

    @lru_cache(maxsize=PARSED_PATHS_KEPT)
    def parse_once(path: str, debug: bool | None = None) -> Any:
        return parse(path, debug=debug)

    jsonpath_ng.ext.parse = parse_once  # type: ignore[attr-defined]  # moto's EventTemplateParser imports it from the module on every event


def _index_queries_without_sorting_the_table() -> None:
    """A query of an index by a string hash key sorts only the items that can match, not the whole table.

    moto answers every index query by sorting all the table's items (all_items(), by their keys, through DynamoType
    comparisons), then keeping those whose index key equals the one asked for: 50 ms for a table of 10,000 items, on
    every completion's ledger lookup by ContactId, so a reliability run's completions fell ever further behind its
    calls. Within such a query, all_items() returns only the items whose attribute holds the same string (a superset
    of those moto's own test keeps, since DynamoType equality of strings is equality of their text), sorted as moto
    sorts them: a subset of a stably sorted list keeps its order, so moto's own filtering, sorting, paging and
    projection see the same items in the same order. It reads a snapshot of the items, so a write meanwhile cannot
    break the iteration (moto's own all_items() raised "dictionary changed size during iteration" under the load).
    Any other query (a number key, several hash conditions, the table's own key) keeps moto's code whole.
    """
    from moto.dynamodb.models.table import Table

    query = Table.query
    all_items = Table.all_items
    querying = threading.local()  # (table, attribute, text) of this thread's index query

    def items_that_can_match(self: Table) -> list[Any]:
        asked = getattr(querying, "asked", None)
        if asked is None or asked[0] is not self:
            return all_items(self)
        _, attribute, text = asked
        candidates = []
        for hash_set in list(self.items.values()):
            for item in list(hash_set.values()) if self.range_key_attr else [hash_set]:
                value = item.attrs.get(attribute)
                if value is not None and value.type == "S" and value.value == text:
                    candidates.append(item)
        return sorted(candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def index_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        conditions = kwargs.get("hash_key_conditions")
        # moto's backend passes index_name as the eighth positional argument, after hash_key ... projection_expressions
        index_name = kwargs.get("index_name", args[INDEX_NAME_POSITION] if len(args) > INDEX_NAME_POSITION else None)
        if not (index_name and conditions and len(conditions) == 1 and conditions[0][1].type == "S"):
            return query(self, *args, **kwargs)
        attribute, value = conditions[0]
        querying.asked = (self, attribute, value.value)
        try:
            return query(self, *args, **kwargs)
        finally:
            querying.asked = None

    Table.all_items = items_that_can_match  # type: ignore[method-assign]
    Table.query = index_query  # type: ignore[method-assign]


def dispatcher() -> Any:
    """moto's request dispatcher, remembering which backend serves each host.

    Every request's host is matched against hundreds of backend URL patterns; a host's backend never changes
    while the server runs, so the first match is kept.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class RememberingDispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backend_by_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backend_by_host:
                self._backend_by_host[host] = super().get_backend_for_host(host)
            return self._backend_by_host[host]

    return RememberingDispatcher()
