"""Never twice, never lost: each window in which a redelivery could ring a customer again, or a request vanish.

Connect is the stub behind the real botocore client, no kinder than Connect: a token returns its contact only
while the call is live, so every redelivery below first hangs up the earlier call. The placed-calls ledger is
moto's DynamoDB. Every check counts calls placed per token, not distinct tokens.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)

from tests.integration.conftest import FunctionUnderTest, came_back, failed_ids
from tests.support.connect_stub import ConnectError, ConnectStub, RawAnswer
from tests.support.lambda_events import FakeLambdaContext, sqs_record

NUMBER = "+14155550123"
OTHER_NUMBER = "+14155550199"
# Longer than any invocation: a claim this old can only have been left by an invocation that died.
AFTER_EVERY_INVOCATION_SECONDS = 16 * 60


def body(**fields: Any) -> str:
    return json.dumps({"DestinationPhoneNumber": NUMBER, **fields})


def redelivered(record: dict[str, Any], receive_count: int = 2) -> dict[str, Any]:
    """The same SQS message delivered again: same messageId and body, a new receipt, a higher receive count."""
    attributes = {**record["attributes"], "ApproximateReceiveCount": str(receive_count)}
    return {**record, "receiptHandle": f"receipt-{receive_count}", "attributes": attributes}


def redriven(dead_letter: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A dead-letter message moved back to the source queue by an operator: a new messageId, its attributes (and the
    function's MAC over them) kept."""
    return came_back(dead_letter, message_id)


def outcomes(log_lines: Any) -> list[tuple[str, str | None]]:
    return [(line["outcome"], line.get("error_code")) for line in log_lines() if "outcome" in line]


class WorkerDied(BaseException):
    """The Lambda sandbox dying mid-invocation: nothing in the function may catch it, as nothing can catch SIGKILL."""


# A placed call whose record cannot be completed.


@pytest.mark.usefixtures("no_backoff")
def test_a_placed_call_whose_record_fails_is_placed_and_never_dialled_again(
    invoke: Any, connect: ConnectStub, failing_ledger_writes: Any, log_lines: Any, dead_letters: Any
) -> None:
    # Given a placed-calls table that refuses the write completing the record (every attempt), once
    failing_ledger_writes("complete", attempts=3)
    record = sqs_record(body(), message_id="w-1")
    # When the request is handled, its call ends, and the same message is delivered again later
    first = invoke(record)
    connect.hang_up_all()
    second = invoke(redelivered(record))
    # Then the call is placed and counted once: the first delivery logs its ContactId, not recorded yet, and the
    # record is completed later in the invocation, so the second delivery replays it without calling Connect
    assert first == second == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"w-1": 1}
    placed = [line for line in log_lines() if line.get("outcome") == "placed"]
    assert [(line["contact_id"], line["recorded"], line["replayed"]) for line in placed] == [
        ("contact-0001", False, False),
        ("contact-0001", True, True),
    ]
    assert dead_letters() == []


@pytest.mark.usefixtures("no_backoff")
def test_a_record_that_cannot_be_completed_at_all_still_never_dials_again(
    invoke: Any,
    connect: ConnectStub,
    failing_ledger_writes: Any,
    ledger: Any,
    dead_letters: Any,
    log_lines: Any,
    function: FunctionUnderTest,
) -> None:
    # Given a placed-calls table that refuses every update after the call was claimed
    failing_ledger_writes("complete", attempts=None)
    record = sqs_record(body(), message_id="w-2")
    first = invoke(record)
    # When a duplicate of the message arrives at another container (which holds no pending completion), after that
    # invocation is long over, the call having ended
    connect.hang_up_all()
    function.caller.once.pending.clear()
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    second = invoke(redelivered(record))
    # Then the first delivery was placed; the duplicate is dead-lettered for an operator, never dialled
    assert first == second == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"w-2": 1}
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["OutcomeUnknown"]
    assert ("placed", None) in outcomes(log_lines)


# Connect may have created the contact, and the function cannot know.


@pytest.mark.parametrize(
    "lost_answer",
    [
        ConnectError("InternalServiceException"),
        ReadTimeoutError(endpoint_url="https://connect"),
        ConnectionClosedError(endpoint_url="https://connect"),
    ],
    ids=["5xx", "read-timeout", "dropped-connection"],
)
@pytest.mark.usefixtures("no_backoff")
def test_an_uncertain_outcome_is_dead_lettered_and_never_dialled_again(
    invoke: Any, connect: ConnectStub, dead_letters: Any, lost_answer: Any
) -> None:
    # Given Connect creating the contact, then failing every attempt's answer (botocore retried with the token)
    connect.fail_after_create(NUMBER, lost_answer)
    record = sqs_record(body(), message_id="u-1")
    # When the request is handled, and a duplicate of the message arrives after the call ended
    first = invoke(record)
    connect.hang_up_all()
    second = invoke(redelivered(record))
    # Then one call rang; both deliveries are dead-lettered as OutcomeUnknown with the token, nothing retried
    assert connect.calls_per_token() == {"u-1": 1}
    assert failed_ids(first) == failed_ids(second) == set()
    letters = dead_letters()
    assert [(letter["ErrorCode"], letter["ClientToken"]) for letter in letters] == [("OutcomeUnknown", "u-1")] * 2


@pytest.mark.usefixtures("no_backoff")
def test_an_earlier_lost_answer_makes_the_call_uncertain_whatever_the_last_attempt_says(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a first attempt answered 500 after the contact was created, then attempts that cannot even connect
    attempts: list[int] = []

    def unreachable_after_the_first_attempt(_body: dict[str, Any]) -> Any:
        attempts.append(1)
        return None if len(attempts) == 1 else ConnectTimeoutError(endpoint_url="https://connect")

    connect.rules.append(unreachable_after_the_first_attempt)
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=1)
    # When the request is handled (botocore raises the last attempt's ConnectTimeoutError)
    response = invoke(sqs_record(body(), message_id="u-2"))
    # Then it is not retried as "surely not created": it is dead-lettered as OutcomeUnknown, naming the last error
    assert len(attempts) == 3
    assert failed_ids(response) == set()
    [letter] = dead_letters()
    assert letter["ErrorCode"] == "OutcomeUnknown"
    assert "Timeout" in letter["ErrorMessage"]


@pytest.mark.usefixtures("no_backoff")
def test_an_operators_redrive_of_an_unknown_outcome_calls_again_with_the_same_token(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a raw request (no token of its own) dead-lettered as OutcomeUnknown after its answer was lost
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(sqs_record(body(), message_id="r-1"))
    [letter] = dead_letters()
    connect.hang_up_all()
    # When an operator, having checked that the customer was not reached, redrives it (SQS gives it a new messageId)
    response = invoke(redriven(letter, message_id="r-1-redriven"))
    # Then the function calls again, with the first delivery's token, and places the call
    assert response == {"batchItemFailures": []}
    assert [request["ClientToken"] for request in connect.requests][-1] == "r-1"
    assert connect.calls_per_token() == {"r-1": 2}
    assert dead_letters() == []


# An invocation that died between sending the request and recording the answer.


def test_a_claim_left_by_a_dead_invocation_is_never_dialled_again(
    invoke: Any, connect: ConnectStub, ledger: Any, dead_letters: Any, log_lines: Any
) -> None:
    # Given an invocation that dies right after Connect created the contact, before anything was recorded
    connect.fail_after_create(NUMBER, WorkerDied(), times=1)
    record = sqs_record(body(), message_id="d-1")
    with pytest.raises(WorkerDied):
        invoke(record)
    connect.hang_up_all()
    # When SQS delivers the message again, after that invocation's time is surely over
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    response = invoke(redelivered(record))
    # Then the function does not dial again: it dead-letters the request as OutcomeUnknown, with its token
    assert response == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"d-1": 1}
    assert [(letter["ErrorCode"], letter["ClientToken"]) for letter in dead_letters()] == [("OutcomeUnknown", "d-1")]


def test_a_claim_of_a_running_invocation_is_retried_later(
    invoke: Any, connect: ConnectStub, dead_letters: Any, log_lines: Any
) -> None:
    # Given an invocation that died after its call was placed, and whose time is not over yet
    connect.fail_after_create(NUMBER, WorkerDied(), times=1)
    record = sqs_record(body(), message_id="d-2")
    with pytest.raises(WorkerDied):
        invoke(record)
    # When a duplicate of the message arrives now (it might still be running, for all the function knows)
    response = invoke(redelivered(record))
    # Then the duplicate is retried later, not dialled and not dead-lettered
    assert failed_ids(response) == {"d-2"}
    assert connect.calls_per_token() == {"d-2": 1}
    assert dead_letters() == []
    assert outcomes(log_lines)[-1] == ("retried", "CallInProgress")


# One token, two different calls.


def test_a_token_reused_for_another_call_is_dead_lettered_not_answered_with_the_first_call(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a call placed with a producer's token
    invoke(sqs_record(body(ClientToken="order-42"), message_id="t-1"))
    # When the same token arrives with a different destination
    second = body(ClientToken="order-42", DestinationPhoneNumber=OTHER_NUMBER)
    response = invoke(sqs_record(second, message_id="t-2"))
    # Then the second call is neither placed nor reported placed: it is dead-lettered as ClientTokenReused
    assert response == {"batchItemFailures": []}
    assert connect.calls_to(OTHER_NUMBER) == 0
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["SourceMessageId"], letter["body"]) == ("ClientTokenReused", "t-2", second)


# The token travels with the message: the last receive, and the operator's redrive.


@pytest.mark.usefixtures("no_backoff")
def test_the_last_receive_is_dead_lettered_with_its_reason_and_a_redrive_keeps_the_token(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a raw request (its token is its SQS messageId) that reaches Connect on no attempt, on its last receive
    connect.fail_destination(NUMBER, EndpointConnectionError(endpoint_url="https://connect"), times=3)
    response = invoke(sqs_record(body(), message_id="x-1", receive_count=5))
    # Then the function dead-letters it itself, naming the last error, with the token it was called with
    assert response == {"batchItemFailures": []}
    [letter] = dead_letters()
    assert (letter["ErrorCode"], letter["ClientToken"], letter["SourceMessageId"]) == ("RetriesExhausted", "x-1", "x-1")
    assert "ConnectionError: could not reach Connect" in letter["ErrorMessage"]
    # When the operator redrives it once Connect has capacity again (SQS gives it a new messageId)
    response = invoke(redriven(letter, message_id="x-1-redriven"))
    # Then the call is placed with the first delivery's token, not the new messageId
    assert response == {"batchItemFailures": []}
    assert connect.placed == {"x-1": "contact-0001"}


def test_a_dead_letter_of_a_producers_own_token_carries_it_masked(
    invoke: Any, connect: ConnectStub, dead_letters: Any
) -> None:
    # Given a request with its own token (free text: it could be an email address) to a destination Connect refuses
    connect.fail_always(ConnectError("DestinationNotAllowedException"))
    invalid = body(ClientToken="jane.doe@example.com-1")
    # When it is dead-lettered
    invoke(sqs_record(invalid, message_id="p-1"))
    # Then the token attribute shows a hash of it (the body, unchanged, still carries the token for a redrive)
    [letter] = dead_letters()
    assert letter["body"] == invalid
    assert letter["ClientToken"].startswith("sha256:")
    assert "jane" not in letter["ClientToken"]


def test_a_request_redelivered_after_its_record_expired_window_is_still_placed_once(
    invoke: Any, connect: ConnectStub, ledger: Any
) -> None:
    # Given a call placed and recorded
    record = sqs_record(body(), message_id="k-1")
    invoke(record)
    connect.hang_up_all()
    # When the message comes back as late as any request can (source retention, then the dead-letter queue's)
    from outbound_caller.retention import PLACED_CALL_KEPT_SECONDS

    ledger.clock = lambda: time.time() + PLACED_CALL_KEPT_SECONDS - 60
    invoke(redelivered(record))
    # Then the record still answers for it: no second call
    assert connect.calls_per_token() == {"k-1": 1}


def test_the_lease_is_the_invocation_deadline(invoke: Any, connect: ConnectStub, ledger: Any) -> None:
    # Given an invocation with ten minutes left that dies after placing its call
    connect.fail_after_create(NUMBER, WorkerDied(), times=1)
    record = sqs_record(body(), message_id="l-1")
    with pytest.raises(WorkerDied):
        invoke(record, context=FakeLambdaContext(remaining_ms=600_000))
    # When a duplicate arrives nine minutes later, then eleven minutes later
    ledger.clock = lambda: time.time() + 9 * 60
    during = invoke(redelivered(record, 2))
    ledger.clock = lambda: time.time() + 11 * 60
    after = invoke(redelivered(record, 3))
    # Then the first is retried (the invocation may still run), the second dead-lettered; neither dialled
    assert failed_ids(during) == {"l-1"}
    assert failed_ids(after) == set()
    assert connect.calls_per_token() == {"l-1": 1}


@pytest.mark.parametrize(
    "lost_answer",
    [ReadTimeoutError(endpoint_url="https://connect"), ConnectionClosedError(endpoint_url="https://connect")],
    ids=["read-timeout", "dropped-connection"],
)
@pytest.mark.usefixtures("no_backoff")
def test_a_lost_answer_is_not_retried_within_the_call(
    invoke: Any, connect: ConnectStub, dead_letters: Any, lost_answer: Exception
) -> None:
    # Given Connect creating the contact and the answer being lost; a call can end within the seconds a read
    # timeout takes (a busy line, a rejected call), and Connect would then start a new call for the same token
    connect.fail_after_create(NUMBER, lost_answer)

    def hang_up_then_go_on(_body: dict[str, Any]) -> None:
        connect.hang_up_all()  # every retry would meet an ended call

    connect.rules.append(hang_up_then_go_on)
    # When the request is handled
    invoke(sqs_record(body(), message_id="n-1"))
    # Then botocore does not retry it: one request, one call, and the request is dead-lettered as OutcomeUnknown
    assert len(connect.requests) == 1
    assert connect.calls_per_token() == {"n-1": 1}
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["OutcomeUnknown"]


@pytest.mark.usefixtures("no_backoff")
def test_a_server_error_is_retried_within_the_call_while_the_contact_is_live(invoke: Any, connect: ConnectStub) -> None:
    # Given Connect creating the contact and answering 500 once (the retry comes within ~100 ms: still ringing)
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=1)
    # When the request is handled
    response = invoke(sqs_record(body(), message_id="n-2"))
    # Then botocore's retry, with the same token, gets the same contact back: placed, one call
    assert response == {"batchItemFailures": []}
    assert len(connect.requests) == 2
    assert connect.calls_per_token() == {"n-2": 1}


@pytest.mark.usefixtures("no_backoff")
def test_a_claim_that_cannot_be_released_blocks_rather_than_permits(
    invoke: Any, connect: ConnectStub, failing_ledger_writes: Any, ledger: Any, dead_letters: Any
) -> None:
    # Given Connect reached by no attempt (nothing created) and a table refusing to release the claim
    connect.fail_destination(NUMBER, EndpointConnectionError(endpoint_url="https://connect"), times=3)
    failing_ledger_writes("release", attempts=None)
    record = sqs_record(body(), message_id="b-1")
    first = invoke(record)
    # When SQS delivers it again after that invocation is over
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    second = invoke(redelivered(record))
    # Then the first is retried; the second cannot tell the stale claim from a lost answer: it is dead-lettered as
    # OutcomeUnknown (a false alarm for an operator), and Connect is never called for it
    assert failed_ids(first) == {"b-1"}
    assert failed_ids(second) == set()
    assert connect.calls_per_token() == {}
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["OutcomeUnknown"]


def test_an_operators_confirmation_is_spent_once(
    invoke: Any, connect: ConnectStub, ledger: Any, dead_letters: Any
) -> None:
    # Given an OutcomeUnknown dead-letter an operator redrove, whose new call was placed by an invocation that then
    # died before recording it
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(sqs_record(body(), message_id="c-1"))
    [letter] = dead_letters()
    connect.hang_up_all()
    connect.fail_after_create(NUMBER, WorkerDied(), times=1)
    confirmed = redriven(letter, message_id="c-1-redriven")
    with pytest.raises(WorkerDied):
        invoke(confirmed)
    connect.hang_up_all()
    # When SQS delivers that same redriven message again, after the dead invocation's time
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    response = invoke(redelivered(confirmed))
    # Then the confirmation, already spent on the call that rang, does not ring the customer a third time:
    # the request is dead-lettered again as OutcomeUnknown, for a new decision
    assert response == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"c-1": 2}
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["OutcomeUnknown"]


# The operator's confirmation names the attempt it confirms.


def _dead_lettered_as_unknown(invoke: Any, connect: ConnectStub, dead_letters: Any, message_id: str) -> dict[str, Any]:
    """A raw request whose call Connect created and answered 500 on every attempt: one OutcomeUnknown dead-letter."""
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"))
    invoke(sqs_record(body(), message_id=message_id))
    [letter] = dead_letters()
    # Connect is healthy again, however many of the 500s botocore retried: its retry quota is per client, and earlier
    # tests' failures may have spent it (then it stops retrying in-call, as designed).
    connect.after_create_rules.clear()
    connect.hang_up_all()
    return dict(letter)


@pytest.mark.usefixtures("no_backoff")
def test_a_confirmation_survives_no_release_it_was_spent_before(
    invoke: Any, connect: ConnectStub, ledger: Any, dead_letters: Any
) -> None:
    # Given an operator's redrive of an OutcomeUnknown dead-letter (attempt 1), whose call never reaches Connect (so
    # the claim is released), and whose next delivery places a call and dies before recording it
    letter = _dead_lettered_as_unknown(invoke, connect, dead_letters, "h-1")
    assert letter["OutcomeUnknownAttempt"] == "1"
    confirmed = redriven(letter, message_id="h-1-redriven")
    connect.fail_destination(NUMBER, EndpointConnectionError(endpoint_url="https://connect"), times=3)
    assert failed_ids(invoke(confirmed)) == {"h-1-redriven"}
    connect.fail_after_create(NUMBER, WorkerDied(), times=1)
    with pytest.raises(WorkerDied):
        invoke(redelivered(confirmed, 2))
    connect.hang_up_all()
    # When the same redriven message is delivered again after that invocation's time
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    invoke(redelivered(confirmed, 3))
    # Then it does not call a third time: the confirmation was for attempt 1, and the ledger has moved past it
    assert connect.calls_per_token() == {"h-1": 2}
    [again] = dead_letters()
    assert (again["ErrorCode"], again["OutcomeUnknownAttempt"]) == ("OutcomeUnknown", "3")


@pytest.mark.usefixtures("no_backoff")
def test_two_copies_of_one_confirmation_call_once(invoke: Any, connect: ConnectStub, dead_letters: Any) -> None:
    # Given one OutcomeUnknown dead-letter twice in the queue (a duplicate delivery dead-lettered it twice), both
    # redriven by the move task with their own new messageIds
    letter = _dead_lettered_as_unknown(invoke, connect, dead_letters, "h-2")
    first, second = redriven(letter, message_id="h-2-copy-1"), redriven(letter, message_id="h-2-copy-2")
    # When the first copy's call is uncertain again, and then the second copy arrives
    connect.fail_after_create(NUMBER, ConnectError("InternalServiceException"), times=3)
    invoke(first)
    connect.hang_up_all()
    invoke(second)
    # Then the second copy does not call: it confirmed attempt 1, which the first copy already took over
    assert connect.calls_per_token() == {"h-2": 2}
    assert [(d["ErrorCode"], d["OutcomeUnknownAttempt"]) for d in dead_letters()] == [("OutcomeUnknown", "2")] * 2


def test_a_confirmed_redrive_makes_no_more_ledger_writes_than_the_time_reserve_holds(
    invoke: Any, connect: ConnectStub, dead_letters: Any, ledger_writes: list[str]
) -> None:
    # Given an operator's redrive of an OutcomeUnknown dead-letter: the heaviest path through the ledger
    from outbound_caller.timeouts import LEDGER_WRITES_PER_RECORD

    letter = _dead_lettered_as_unknown(invoke, connect, dead_letters, "h-3")
    ledger_writes.clear()
    # When it is placed
    invoke(redriven(letter, message_id="h-3-redriven"))
    # Then its writes (claim, take over, complete) are as many as the per-record time reserve budgets for
    assert ledger_writes == ["claim", "take_over", "complete"]
    assert len(ledger_writes) <= LEDGER_WRITES_PER_RECORD


# What counts as "Connect may have created the contact".


@pytest.mark.parametrize(
    "answer",
    [
        SSLError(endpoint_url="https://connect", error=OSError("record layer failure")),
        RawAnswer(200, {"Unexpected": "no ContactId"}),
        ConnectError("InternalServiceException", headers={"x-amz-retry-after": "3000"}),
    ],
    ids=["tls-error-after-sending", "200-without-contact-id", "5xx-asking-for-a-later-retry"],
)
@pytest.mark.usefixtures("no_backoff")
def test_failures_that_do_not_prove_nothing_was_created_are_uncertain(
    invoke: Any, connect: ConnectStub, dead_letters: Any, answer: Any
) -> None:
    # Given Connect creating the contact, then a failure that is not a refusal nor a connection never made
    connect.fail_after_create(NUMBER, answer)
    # When the request is handled
    response = invoke(sqs_record(body(), message_id="m1-1"))
    # Then it is not retried in-call nor by SQS: one request, one call, dead-lettered as OutcomeUnknown
    assert failed_ids(response) == set()
    assert len(connect.requests) == 1
    assert [letter["ErrorCode"] for letter in dead_letters()] == ["OutcomeUnknown"]


@pytest.mark.usefixtures("no_backoff")
def test_a_duplicate_in_the_same_container_is_answered_from_its_pending_record(
    invoke: Any, connect: ConnectStub, failing_ledger_writes: Any, ledger: Any, dead_letters: Any, log_lines: Any
) -> None:
    # Given a placed call whose record cannot be completed at all
    failing_ledger_writes("complete", attempts=None)
    record = sqs_record(body(), message_id="m5-1")
    invoke(record)
    connect.hang_up_all()
    # When a duplicate reaches the same container after that invocation's time
    ledger.clock = lambda: time.time() + AFTER_EVERY_INVOCATION_SECONDS
    response = invoke(redelivered(record))
    # Then the container answers with the ContactId it holds: placed, not dead-lettered as OutcomeUnknown
    assert response == {"batchItemFailures": []}
    assert connect.calls_per_token() == {"m5-1": 1}
    assert dead_letters() == []
    placed = [line for line in log_lines() if line.get("outcome") == "placed"]
    assert [(line["contact_id"], line["replayed"], line["recorded"]) for line in placed][-1] == (
        "contact-0001",
        True,
        False,
    )
