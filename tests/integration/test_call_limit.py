"""The per-destination call limit in DynamoDB (moto): counted once per token, across containers, in a sliding window."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws
from moto.core.models import botocore_stubber

from outbound_caller.clients import create_client
from outbound_caller.config.call_limits import parse_call_limits
from outbound_caller.safety.call_guard import CallLimitGuard, DestinationCallLimitError
from outbound_caller.safety.call_limit import CallCounter, CallLimitUnavailableError, destination_key
from outbound_caller.timeouts import CALL_LIMIT_WRITES, DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS
from outbound_caller.wiring import caller_clients
from tests.support.environment import IDEMPOTENCY_TABLE, INSTANCE_ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DestinationCallLimiter:
    """The per-destination limit as one container holds it: the function's guard with DESTINATION_CALL_LIMIT only,
    counting a number's calls by token."""

    def __init__(self, table: str, limit: str, client: DynamoDBClient, clock: Callable[[], float]) -> None:
        self.client = client
        self.guard = CallLimitGuard(
            CallCounter(table, client, clock=clock), salt=INSTANCE_ID, destination_limits=parse_call_limits(limit)
        )

    def reserve(self, number: str, token: str) -> None:
        self.guard.reserve({"ClientToken": token, "DestinationPhoneNumber": number})

    def release(self, number: str, token: str) -> None:
        self.guard.release({"ClientToken": token, "DestinationPhoneNumber": number})


NUMBER = "+14155550123"
OTHER_NUMBER = "+442071838750"
T0 = 1_800_000_000.0
HOUR = 3600


class Clock:
    """Wall-clock seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    """moto's DynamoDB with the placed-calls table as the stack creates it (the limit's items live beside the calls');
    no queues, which these tests do not need, to keep them fast."""
    with mock_aws():
        # Made by the function's own botocore session: a boto3 client costs a tenth of a second per test.
        client: DynamoDBClient = create_client(
            "dynamodb", DYNAMODB_CONNECT_TIMEOUT_SECONDS, DYNAMODB_READ_TIMEOUT_SECONDS
        )
        client.create_table(
            TableName=IDEMPOTENCY_TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def make_limiter(dynamodb: DynamoDBClient, clock: Clock) -> Callable[..., DestinationCallLimiter]:
    """A limiter as one container holds it, on the placed-calls table, with the test's clock and a client of its own
    made as the function's wiring makes it (one attempt, short timeouts)."""

    def _make(limit: str = "3/1h", table: str = IDEMPOTENCY_TABLE) -> DestinationCallLimiter:
        client = caller_clients().call_limit
        return DestinationCallLimiter(table, limit, client, clock)

    return _make


@pytest.fixture
def limiter(make_limiter: Callable[..., DestinationCallLimiter]) -> DestinationCallLimiter:
    return make_limiter()


@pytest.fixture
def items(dynamodb: DynamoDBClient) -> Callable[[], list[dict[str, Any]]]:
    """Every item of the table, raw, as DynamoDB holds it."""
    return lambda: dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]


@pytest.fixture
def counted(dynamodb: DynamoDBClient) -> Callable[..., dict[str, int]]:
    """The calls a number's item counts: token hash -> epoch ms."""

    def _counted(number: str = NUMBER) -> dict[str, int]:
        key = {"id": {"S": destination_key(number, INSTANCE_ID)}}
        item: dict[str, Any] = dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key=key).get("Item", {})
        return {token: int(at["N"]) for token, at in item.get("calls", {}).get("M", {}).items()}

    return _counted


def before_send(limiter: DestinationCallLimiter, operation: str, handler: Callable[..., None]) -> None:
    """Run ``handler`` before each ``operation`` request the limiter's own client sends."""
    limiter.client.meta.events.register_first(f"before-send.dynamodb.{operation}", handler)


def test_the_calls_the_limit_allows_pass_and_the_next_is_refused(
    limiter: DestinationCallLimiter, counted: Callable[..., dict[str, int]]
) -> None:
    # Given a limit of 3 calls an hour and 3 calls to one number
    for token in ("call-1", "call-2", "call-3"):
        limiter.reserve(NUMBER, token)
    # When a fourth call, another request, is counted
    # Then it is refused, and the number still has 3 calls counted
    with pytest.raises(DestinationCallLimitError, match=r"called 3 times in the last 1h; .* allows 3"):
        limiter.reserve(NUMBER, "call-4")
    assert len(counted()) == 3


def test_the_same_token_counts_once(limiter: DestinationCallLimiter, counted: Callable[..., dict[str, int]]) -> None:
    # Given a call counted, then counted again: a replay, or a retry of the same request
    limiter.reserve(NUMBER, "call-1")
    limiter.reserve(NUMBER, "call-1")
    # When two other calls are counted
    limiter.reserve(NUMBER, "call-2")
    limiter.reserve(NUMBER, "call-3")
    # Then they pass (the repeat did not use a slot), and a replay of a counted call passes even at the limit
    assert len(counted()) == 3
    limiter.reserve(NUMBER, "call-2")
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve(NUMBER, "call-4")


def test_a_released_call_frees_its_slot(limiter: DestinationCallLimiter) -> None:
    # Given a number at its limit
    for token in ("call-1", "call-2", "call-3"):
        limiter.reserve(NUMBER, token)
    # When one call is released (Connect surely created no contact for it)
    limiter.release(NUMBER, "call-2")
    # Then another call passes in its place, and the number is at its limit again
    limiter.reserve(NUMBER, "call-4")
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve(NUMBER, "call-5")


def test_releasing_what_was_never_counted_changes_nothing(
    limiter: DestinationCallLimiter, items: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given one call counted for a number
    limiter.reserve(NUMBER, "call-1")
    before = items()
    # When a call never counted is released, for that number and for a number never called
    limiter.release(NUMBER, "never-counted")
    limiter.release(OTHER_NUMBER, "never-counted")
    # Then nothing was written
    assert items() == before


def test_releasing_the_last_call_leaves_an_item_that_expires_now(
    limiter: DestinationCallLimiter, clock: Clock, items: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a number's only call
    limiter.reserve(NUMBER, "call-1")
    clock.now += 10
    # When it is released
    limiter.release(NUMBER, "call-1")
    # Then the item counts nothing and TTL may take it at once
    [item] = items()
    assert (item["calls"]["M"], int(item["expiration"]["N"])) == ({}, T0 + 10)


def test_a_call_stops_counting_when_its_window_has_passed(
    limiter: DestinationCallLimiter, clock: Clock, counted: Callable[..., dict[str, int]]
) -> None:
    # Given a number at its limit of 3 an hour, called at T0, T0 + 1 s and T0 + 2 s
    for second, token in enumerate(("call-1", "call-2", "call-3")):
        clock.now = T0 + second
        limiter.reserve(NUMBER, token)
    # When one millisecond short of an hour after the first call another is counted
    clock.now = T0 + HOUR - 0.001
    # Then the first still counts, and the call is refused
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve(NUMBER, "call-4")
    # When it is an hour after the first call
    clock.now = T0 + HOUR
    # Then the first no longer counts: one call passes, the next does not (the second still counts)
    limiter.reserve(NUMBER, "call-4")
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve(NUMBER, "call-5")
    # And the item was pruned of the call that stopped counting
    assert len(counted()) == 3


def test_two_numbers_are_counted_apart(limiter: DestinationCallLimiter, counted: Callable[..., dict[str, int]]) -> None:
    # Given one number at its limit
    for token in ("call-1", "call-2", "call-3"):
        limiter.reserve(NUMBER, token)
    # When another number is called
    # Then it has its whole allowance
    for token in ("call-4", "call-5", "call-6"):
        limiter.reserve(OTHER_NUMBER, token)
    assert (len(counted(NUMBER)), len(counted(OTHER_NUMBER))) == (3, 3)


def test_no_item_holds_the_number_or_the_token(
    limiter: DestinationCallLimiter, items: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given calls counted for two numbers, with a producer's own token
    limiter.reserve(NUMBER, "jane.doe@example.com-order-7")
    limiter.reserve(OTHER_NUMBER, "jane.doe@example.com-order-7")
    # When the raw items are read
    text = json.dumps(items())
    # Then no number's digits appear, in full or as the national number, and no token
    for number in (NUMBER, OTHER_NUMBER):
        assert number.lstrip("+") not in text
        assert number[-10:] not in text
    assert "jane.doe" not in text
    # And the keys are salted hashes under the limiter's own prefix
    assert sorted(item["id"]["S"] for item in items()) == sorted(
        destination_key(number, INSTANCE_ID) for number in (NUMBER, OTHER_NUMBER)
    )
    assert destination_key(NUMBER, INSTANCE_ID) != destination_key(NUMBER, "another-instance")


def test_the_item_expires_when_its_newest_call_stops_counting(
    limiter: DestinationCallLimiter, clock: Clock, items: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given calls counted at T0 and ten and a half seconds later
    limiter.reserve(NUMBER, "call-1")
    clock.now = T0 + 10.5
    limiter.reserve(NUMBER, "call-2")
    # When the item is read
    [item] = items()
    # Then TTL may take it once the newest call's window has passed (whole seconds, rounded up)
    assert int(item["expiration"]["N"]) == T0 + 11 + HOUR
    # And releasing the newest brings its expiry back to the older call's
    limiter.release(NUMBER, "call-2")
    [item] = items()
    assert int(item["expiration"]["N"]) == T0 + HOUR


def test_two_containers_racing_for_the_last_call_let_exactly_one_through(
    make_limiter: Callable[..., DestinationCallLimiter], counted: Callable[..., dict[str, int]]
) -> None:
    # Given two containers with a limit of 1 call, the second of which has read the number's (empty) count
    first, second = make_limiter("1/1h"), make_limiter("1/1h")
    raced: list[None] = []

    def first_counts_meanwhile(**_: Any) -> None:
        if not raced:
            raced.append(None)
            first.reserve(NUMBER, "call-a")

    before_send(second, "UpdateItem", first_counts_meanwhile)
    # When the first counts its call between the second's read and write
    # Then the second's write loses, it decides again on what the first wrote, and is refused
    with pytest.raises(DestinationCallLimitError):
        second.reserve(NUMBER, "call-b")
    assert raced
    assert len(counted()) == 1


def test_a_lost_race_with_room_left_is_decided_again_and_counted(
    make_limiter: Callable[..., DestinationCallLimiter], counted: Callable[..., dict[str, int]]
) -> None:
    # Given two containers with a limit of 3 calls, and one call already counted (the item exists, with a version)
    first, second = make_limiter("3/1h"), make_limiter("3/1h")
    first.reserve(NUMBER, "call-0")
    raced: list[None] = []

    def first_counts_meanwhile(**_: Any) -> None:
        if not raced:
            raced.append(None)
            first.reserve(NUMBER, "call-a")

    before_send(second, "UpdateItem", first_counts_meanwhile)
    # When the first counts a call between the second's read and write
    second.reserve(NUMBER, "call-b")
    # Then both calls are counted, neither overwriting the other
    assert len(counted()) == 3


def test_a_container_holding_a_deleted_items_version_never_finds_it_again(
    make_limiter: Callable[..., DestinationCallLimiter],
    clock: Clock,
    counted: Callable[..., dict[str, int]],
    dynamodb: DynamoDBClient,
) -> None:
    # Given a limit of 1 call and a call two hours ago, whose item TTL has not yet taken
    first, second = make_limiter("1/1h"), make_limiter("1/1h")
    first.reserve(NUMBER, "call-old")
    clock.now = T0 + 2 * HOUR
    raced: list[None] = []

    def ttl_deletes_and_second_counts(**_: Any) -> None:
        if not raced:
            raced.append(None)
            dynamodb.delete_item(TableName=IDEMPOTENCY_TABLE, Key={"id": {"S": destination_key(NUMBER, INSTANCE_ID)}})
            second.reserve(NUMBER, "call-new")

    before_send(first, "UpdateItem", ttl_deletes_and_second_counts)
    # When, between the first container's read and write, TTL deletes the item and the second creates it anew
    # Then the first's write on the old item's version fails, and it is refused on the second's call
    with pytest.raises(DestinationCallLimitError):
        first.reserve(NUMBER, "call-b")
    assert len(counted()) == 1


def test_a_count_that_keeps_changing_is_reported_after_a_few_tries(
    make_limiter: Callable[..., DestinationCallLimiter],
) -> None:
    # Given a number that another container counts a call for between each of our reads and writes
    ours, theirs = make_limiter("100/1h"), make_limiter("100/1h")
    writes: list[None] = []

    def theirs_counts_meanwhile(**_: Any) -> None:
        writes.append(None)
        theirs.reserve(NUMBER, f"theirs-{len(writes)}")

    before_send(ours, "UpdateItem", theirs_counts_meanwhile)
    # When we count our call
    # Then after a bounded number of lost races we give up as unavailable: no call is placed, the record retried
    with pytest.raises(CallLimitUnavailableError):
        ours.reserve(NUMBER, "ours")
    assert len(writes) == CALL_LIMIT_WRITES


def first_write_lands_and_its_answer_is_lost(
    limiter: DestinationCallLimiter, lost_answer: type[ReadTimeoutError | ConnectionClosedError]
) -> list[None]:
    """The limiter's first UpdateItem reaches moto, then the answer is lost; returns a list of the writes sent."""
    sent: list[None] = []

    def land_then_lose(request: Any, event_name: str, **_: Any) -> None:
        sent.append(None)
        if len(sent) == 1:
            botocore_stubber(event_name=event_name, request=request)
            raise lost_answer(endpoint_url=request.url)

    before_send(limiter, "UpdateItem", land_then_lose)
    return sent


@pytest.mark.parametrize("lost_answer", [ReadTimeoutError, ConnectionClosedError])
@pytest.mark.usefixtures("no_backoff")
def test_a_count_that_landed_but_whose_answer_was_lost_counts_once(
    make_limiter: Callable[..., DestinationCallLimiter],
    lost_answer: type[Exception],
    counted: Callable[..., dict[str, int]],
) -> None:
    # Given a limit of 1 call, and a write that reaches DynamoDB but whose answer is lost (one attempt: not resent)
    limiter = make_limiter("1/1h")
    sent = first_write_lands_and_its_answer_is_lost(limiter, lost_answer)
    # When the call is counted
    # Then the limiter cannot know, and says so: the record is retried and no call placed
    with pytest.raises(CallLimitUnavailableError):
        limiter.reserve(NUMBER, "call-1")
    assert len(counted()) == 1
    # And when the retried record counts it again, the limiter reads its own call already counted and writes nothing:
    # it counts once, and another call is refused
    limiter.reserve(NUMBER, "call-1")
    assert len(sent) == 1
    assert len(counted()) == 1
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve(NUMBER, "call-2")


@pytest.mark.usefixtures("no_backoff")
def test_a_release_that_landed_but_whose_answer_was_lost_is_done(
    make_limiter: Callable[..., DestinationCallLimiter], counted: Callable[..., dict[str, int]]
) -> None:
    # Given a counted call, and a release that reaches DynamoDB but whose answer is lost
    limiter = make_limiter("1/1h")
    limiter.reserve(NUMBER, "call-1")
    sent = first_write_lands_and_its_answer_is_lost(limiter, ReadTimeoutError)
    # When the call is released, and the release (best effort) is tried again
    with pytest.raises(CallLimitUnavailableError):
        limiter.release(NUMBER, "call-1")
    limiter.release(NUMBER, "call-1")
    # Then the second finds the call already gone, writes nothing, and the slot is free
    assert len(sent) == 1
    assert counted() == {}


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize("operation", ["GetItem", "UpdateItem"])
def test_an_unreachable_table_is_reported_as_unavailable(
    limiter: DestinationCallLimiter, operation: str, counted: Callable[..., dict[str, int]]
) -> None:
    # Given DynamoDB unreachable for the limiter's reads or writes (every attempt)
    def unreachable(request: Any, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    before_send(limiter, operation, unreachable)
    # When a call is counted or released
    # Then the caller gets the limiter's own error (retry the record, place no call), which never names the number
    with pytest.raises(CallLimitUnavailableError, match=r"^EndpointConnectionError$"):
        limiter.reserve(NUMBER, "call-1")
    if operation == "GetItem":
        with pytest.raises(CallLimitUnavailableError):
            limiter.release(NUMBER, "call-1")
    assert counted() == {}


def test_a_missing_table_is_reported_as_unavailable(make_limiter: Callable[..., DestinationCallLimiter]) -> None:
    # Given a table that does not exist
    limiter = make_limiter(table="no-such-table")
    # When a call is counted or released
    # Then the caller gets the limiter's own error, naming DynamoDB's error code
    with pytest.raises(CallLimitUnavailableError, match=r"^ResourceNotFoundException$"):
        limiter.reserve(NUMBER, "call-1")
    with pytest.raises(CallLimitUnavailableError):
        limiter.release(NUMBER, "call-1")


def test_one_line_written_two_ways_shares_one_count(make_limiter: Callable[..., DestinationCallLimiter]) -> None:
    # Given a limit of 1 call, and a London line written with and without its trunk 0 (both pass the E.164 pattern,
    # and libphonenumber dials both as +44 20 7946 0123)
    limiter = make_limiter("1/1h")
    limiter.reserve("+442079460123", "call-1")
    # When another call to the same line arrives written the other way
    # Then it is refused: the count is of the line, not of the text
    with pytest.raises(DestinationCallLimitError):
        limiter.reserve("+4402079460123", "call-2")


def test_several_windows_all_hold_and_the_tighter_one_refuses_first(
    make_limiter: Callable[..., DestinationCallLimiter], clock: Clock
) -> None:
    # Given 1 call per hour and 2 per day
    limiter = make_limiter("1/1h,2/24h")
    # When calls come an hour and a bit apart
    limiter.reserve(NUMBER, "call-1")
    with pytest.raises(DestinationCallLimitError, match="in the last 1h"):
        limiter.reserve(NUMBER, "call-2")
    clock.now += 3_601
    limiter.reserve(NUMBER, "call-3")
    clock.now += 3_601
    # Then the hourly limit allows a third, but the daily one does not
    with pytest.raises(DestinationCallLimitError, match="in the last 24h; DESTINATION_CALL_LIMIT allows 2"):
        limiter.reserve(NUMBER, "call-4")


def test_two_containers_racing_under_several_windows_let_exactly_one_through(
    make_limiter: Callable[..., DestinationCallLimiter], counted: Callable[..., dict[str, int]]
) -> None:
    # Given two containers with 2 per hour and 2 per 14 days, one call already counted
    first, second = make_limiter("2/1h,2/14d"), make_limiter("2/1h,2/14d")
    first.reserve(NUMBER, "call-0")
    raced: list[None] = []

    def first_counts_meanwhile(**_: Any) -> None:
        if not raced:
            raced.append(None)
            first.reserve(NUMBER, "call-a")

    before_send(second, "UpdateItem", first_counts_meanwhile)
    # When the first takes the last slot between the second's read and write
    # Then the second decides again on what the first wrote, and is refused by both windows' count
    with pytest.raises(DestinationCallLimitError):
        second.reserve(NUMBER, "call-b")
    assert len(counted()) == 2
