"""DESTINATION_CALL_LIMIT's text: how many calls to one number in which window, refused with the value named."""

from __future__ import annotations

import pytest

from outbound_caller.config.call_limits import (
    MAX_CALL_LIMIT_CALLS,
    MAX_CALL_LIMIT_WINDOW_SECONDS,
    CallLimit,
    parse_call_limit,
)
from outbound_caller.safety.call_guard import DestinationCallLimitError
from outbound_caller.safety.call_limit import LimitReachedError


@pytest.mark.parametrize(
    ("text", "calls", "window_seconds"),
    [
        ("3/24h", 3, 24 * 3600),
        ("1/30m", 1, 30 * 60),
        ("10/7d", 10, 7 * 86400),
        ("5/3600s", 5, 3600),
        (" 3 / 24h ", 3, 24 * 3600),
        ("3/24 h", 3, 24 * 3600),
        ("\t2/1d\n", 2, 86400),
        ("1/30d", 1, MAX_CALL_LIMIT_WINDOW_SECONDS),
        (f"{MAX_CALL_LIMIT_CALLS}/1s", MAX_CALL_LIMIT_CALLS, 1),
        ("007/01h", 7, 3600),
    ],
)
def test_a_call_limit_reads_as_calls_per_window(text: str, calls: int, window_seconds: int) -> None:
    # Given a DESTINATION_CALL_LIMIT value in one of the accepted forms
    # When it is parsed
    # Then it is that many calls per that many seconds
    assert parse_call_limit(text) == CallLimit(calls, window_seconds)


@pytest.mark.parametrize(
    "text",
    ["3/24", "3/h", "/24h", "3", "", "   ", "three/24h", "3/24w", "3/24H", "-3/24h", "3/-24h", "3/2.5h", "3/24h/1d",
     "3//24h", "3 per 24h", "3/24hours", "３/24h", "3/٢٤h"],
)  # fmt: skip
def test_a_value_not_in_the_form_is_refused_naming_it_and_the_form(text: str) -> None:
    # Given a value that is not <calls>/<duration with unit>
    # When it is parsed
    with pytest.raises(ValueError, match="is not a call limit") as refused:
        parse_call_limit(text)
    # Then the message names the value and shows the expected form
    assert repr(text) in str(refused.value)
    assert "like 3/24h (calls per window; the window in s, m, h or d)" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0/24h", "allows no call at all"),
        ("3/0h", "window is empty"),
        ("3/0s", "window is empty"),
        ("1/31d", "window is longer than 30d"),
        ("1/721h", "window is longer than 30d"),
        (f"1/{MAX_CALL_LIMIT_WINDOW_SECONDS + 1}s", "window is longer than 30d"),
        (f"{MAX_CALL_LIMIT_CALLS + 1}/24h", f"more than {MAX_CALL_LIMIT_CALLS} calls"),
    ],
)
def test_a_limit_out_of_bounds_is_refused_naming_the_value_and_why(text: str, problem: str) -> None:
    # Given a value in the right form whose calls or window are out of bounds
    # When it is parsed
    with pytest.raises(ValueError, match="is not a usable call limit") as refused:
        parse_call_limit(text)
    # Then the message names the value and what is wrong with it
    assert repr(text) in str(refused.value)
    assert problem in str(refused.value)


@pytest.mark.parametrize(("calls", "window_seconds"), [(0, 60), (1, 0), (MAX_CALL_LIMIT_CALLS + 1, 60), (1, -1)])
def test_a_limit_built_directly_is_checked_too(calls: int, window_seconds: int) -> None:
    # Given calls and a window out of bounds
    # When a limit is built from them without parsing
    # Then it is refused the same way
    with pytest.raises(ValueError, match="is not a usable call limit"):
        CallLimit(calls, window_seconds)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("3/24h", "3/24h"),
        ("3/1d", "3/24h"),
        ("3/48h", "3/2d"),
        ("1/90m", "1/90m"),
        ("5/3600s", "5/1h"),
        ("2/61s", "2/61s"),
        (" 4/ 30d", "4/30d"),
    ],
)
def test_a_limit_prints_as_the_canonical_text_that_reads_back_the_same(text: str, canonical: str) -> None:
    # Given a parsed limit
    limit = parse_call_limit(text)
    # When it is printed
    # Then it is its canonical text, which parses back to the same limit
    assert str(limit) == canonical
    assert parse_call_limit(str(limit)) == limit


def test_the_refusal_says_how_many_calls_in_which_window_and_never_the_number() -> None:
    # Given a number that had all its calls
    # When the refusal is described
    message = str(DestinationCallLimitError(LimitReachedError(parse_call_limit("3/24h"), 3, frees_at_ms=0)))
    # Then it says how many calls and what the limit allows, without the number (it is never given one)
    assert message == "the destination was called 3 times in the last 24h; DESTINATION_CALL_LIMIT allows 3"
