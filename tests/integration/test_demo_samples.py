"""The demo's samples against calling safety, its calling hours and weekend whatever the time, and its opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from local.demo import DEMO_REQUESTS, DEMO_WEEKEND_DAYS_AHEAD, demo_calling_hours, demo_settings
from local.demo_opt_outs import as_an_operator_writes_it
from local.producers import (
    DEFERRED_PREFIX,
    PLACED,
    SUPPRESSED,
    Sample,
    build_requests,
    expected_outcomes,
    load_samples,
    opted_out_numbers,
)
from outbound_caller.config.calling_hours import parse_calling_hours
from outbound_caller.optout.changes import FROM_CONTACT_FLOW, FROM_EVENT, FROM_OPERATOR
from outbound_caller.safety.calling_hours import OPENING_SPREAD_SECONDS, next_opening
from outbound_caller.safety.destinations import DestinationNotAllowedError, check_destination, destination_of
from outbound_caller.safety.suppression import suppression_key

REFUSED_BY_POLICY = "DestinationNotAllowedByPolicy"
DEFERRED_FOR_HOURS = f"{DEFERRED_PREFIX}OutsideCallingHours"
LONDON = ZoneInfo("Europe/London")
# A request to a callee who opts out during an earlier call waits at least this long: their call is placed in the
# run's first seconds, the flow's invocation takes a moment, and the run starts a few seconds after the samples load.
MIN_WAIT_AFTER_OPT_OUT_SECONDS = 30


def _destinations(expected: set[str] | None = None) -> list[str]:
    return [
        str(sample.request["DestinationPhoneNumber"])
        for sample in load_samples()
        if sample.request is not None
        and "DestinationPhoneNumber" in sample.request
        and sample.expected != "ValidationError"
        and (expected is None or sample.expected in expected)
    ]


def test_every_sample_meant_to_reach_connect_passes_the_demos_destination_policy() -> None:
    # Given the demo's settings (cdk.json with the demo's overrides)
    settings = demo_settings({})
    countries = settings.destination_countries
    assert countries is not None
    # When each sample's destination meets the function's own policy
    for number in _destinations():
        destination = destination_of(number)
        refused = False
        try:
            check_destination(
                destination,
                allowed_regions=frozenset(countries),
                blocked_types=frozenset(settings.blocked_number_types),
            )
        except DestinationNotAllowedError:
            refused = True
        # Then only the samples meant to be refused are, and every other one has a time zone for calling hours
        assert refused == (number in _destinations({REFUSED_BY_POLICY})), number
        assert refused or destination.time_zones, number


def _time_zones(samples: list[Sample]) -> list[tuple[str, ...]]:
    """The samples' destinations' time zones, each set once (most samples share New York's or London's)."""
    zones = (destination_of(str((sample.request or {})["DestinationPhoneNumber"])).time_zones for sample in samples)
    return list(dict.fromkeys(zones))


def test_the_demos_calling_hours_defer_the_australian_sample_and_the_weekend_callback_whatever_the_time() -> None:
    # Given the demo's samples: those deferred for calling hours now (the Australian one), the callback asked for in
    # four days that falls in the demo's weekend, and the others, which calling hours must let through now
    samples = load_samples()
    for_hours = [sample for sample in samples if sample.expected == DEFERRED_FOR_HOURS]
    deferred_now = _time_zones([sample for sample in for_hours if "NotBefore" not in (sample.times_from_now or {})])
    [weekend_callback] = [sample for sample in for_hours if "NotBefore" in (sample.times_from_now or {})]
    assert weekend_callback.times_from_now is not None
    assert weekend_callback.request is not None
    [weekend_zones] = _time_zones([weekend_callback])
    callable_now = _time_zones(
        [
            sample
            for sample in samples
            if sample.request is not None
            and "DestinationPhoneNumber" in sample.request
            and sample.expected not in {DEFERRED_FOR_HOURS, REFUSED_BY_POLICY, "ValidationError"}
        ]
    )
    assert deferred_now
    assert callable_now
    # When the demo starts at any time of a year (daylight-saving changes included), every 3 hours and 20 minutes
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment < datetime(2027, 1, 1, tzinfo=UTC):
        hours = parse_calling_hours(demo_calling_hours(moment))
        # Then, from its start to well past its end, the others are open and the Australian one closed, with an
        # opening after the run and before its ExpiresAt (two days ahead)
        for elapsed in (timedelta(0), timedelta(minutes=10)):
            now_ms = int((moment + elapsed).timestamp() * 1000)
            for zones in callable_now:
                assert next_opening(hours, zones, now_ms) is None, (moment, hours, zones)
            for zones in deferred_now:
                opening = next_opening(hours, zones, now_ms)
                assert opening is not None, (moment, hours)
                assert timedelta(hours=1) < timedelta(milliseconds=opening.start_ms - now_ms) < timedelta(days=1)
        # And the callback's NotBefore falls in the weekend: closed, it is deferred over it to the next open day (in
        # London, a day after the weekend's last), before its ExpiresAt
        not_before = moment + timedelta(seconds=weekend_callback.times_from_now["NotBefore"])
        expires_at = moment + timedelta(seconds=weekend_callback.times_from_now["ExpiresAt"])
        opening = next_opening(hours, weekend_zones, int(not_before.timestamp() * 1000))
        assert opening is not None, (moment, hours)
        opens = datetime.fromtimestamp(opening.start_ms / 1000, UTC)
        weekend_ends = moment.astimezone(LONDON).date() + timedelta(days=max(DEMO_WEEKEND_DAYS_AHEAD))
        assert opens.astimezone(LONDON).date() > weekend_ends, (moment, hours)
        assert opens + timedelta(seconds=OPENING_SPREAD_SECONDS) < expires_at - timedelta(hours=1), (moment, hours)
        moment += timedelta(hours=3, minutes=20)


def test_sample_times_are_filled_in_relative_to_the_load() -> None:
    # Given a moment
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    # When the samples are loaded then
    timed = [sample for sample in load_samples(now=now) if sample.times_from_now]
    # Then each named time is set in the request, as ISO-8601 with an offset, and such samples are not "plain"
    assert timed
    for sample in timed:
        assert sample.request is not None
        assert sample.times_from_now is not None
        for name, seconds in sample.times_from_now.items():
            assert datetime.fromisoformat(sample.request[name]) == now + timedelta(seconds=seconds)
        assert not sample.plainly_placed


def test_placed_samples_and_deferred_ones_are_told_apart() -> None:
    samples = load_samples()
    assert sum(sample.expected == DEFERRED_FOR_HOURS for sample in samples) == 2
    assert not any(sample.plainly_placed for sample in samples if sample.expected != PLACED)


def _number(sample: Sample) -> str:
    return str((sample.request or {}).get("DestinationPhoneNumber"))


def test_every_suppressed_sample_is_opted_out_before_its_request_through_one_of_the_doors() -> None:
    # Given the samples, and the numbers opted out before the run (a producer's event, an operator's command)
    samples = load_samples()
    before_run = set(opted_out_numbers(samples, FROM_EVENT)) | set(opted_out_numbers(samples, FROM_OPERATOR))
    assert before_run
    # Then every sample expected suppressed is to such a number, or to a callee who presses 9 in an earlier sample's
    # call, placed at once, while this request waits out a NotBefore long after it
    for index, sample in enumerate(samples):
        if sample.expected != SUPPRESSED or _number(sample) in before_run:
            continue
        [call] = [earlier for earlier in samples[:index] if earlier.opt_out == FROM_CONTACT_FLOW]
        assert _number(call) == _number(sample), sample.description
        assert (call.expected, call.times_from_now) == (PLACED, None), call.description
        assert (sample.times_from_now or {}).get("NotBefore", 0) >= MIN_WAIT_AFTER_OPT_OUT_SECONDS, sample.description
    # And no other sample calls a number the samples opt out: its outcome would depend on when it ran
    opted_out = before_run | set(opted_out_numbers(samples, FROM_CONTACT_FLOW))
    assert [
        sample.description
        for sample in samples
        if _number(sample) in opted_out and sample.expected != SUPPRESSED and sample.opt_out != FROM_CONTACT_FLOW
    ] == []


def test_a_callee_who_opts_out_and_the_samples_whose_story_happens_once_are_sent_in_the_first_pass_only() -> None:
    # Given the samples: one callee opts out during the call, and the calls that turn out other than answered (a
    # number that answers only the second call, a busy line, an answering machine, an invalid number) are marked once
    samples = load_samples()
    [callee] = [sample for sample in samples if sample.opt_out == FROM_CONTACT_FLOW]
    once = [sample for sample in samples if sample.once]
    assert len(once) == 4
    # When the demo's requests are built from three passes over them
    requests = build_requests(samples, DEMO_REQUESTS)
    # Then those are sent once, in the first pass, and every other sample three times
    assert len(requests) == DEMO_REQUESTS
    assert requests[: len(samples)] == samples
    assert {requests.count(sample) for sample in [callee, *once]} == {1}
    assert {requests.count(sample) for sample in samples if sample is not callee and sample not in once} == {3}
    assert not callee.plainly_placed


def test_a_redialled_sample_expects_a_call_per_attempt() -> None:
    # Given the samples, two of which are placed twice (redialled)
    samples = load_samples()
    twice = [sample for sample in samples if sample.calls == 2]
    # Then each has a bound that leaves room for its second attempt (the demo's requests expire within a minute
    # otherwise, and the redial interval is a minute), and the placed calls expected count both attempts
    assert len(twice) == 2
    assert all(sample.times_from_now and sample.times_from_now.get("ExpiresAt", 0) >= 300 for sample in twice)
    assert expected_outcomes(samples)[PLACED] == sum(sample.calls for sample in samples if sample.expected == PLACED)
    assert expected_outcomes(samples)[PLACED] == sum(sample.expected == PLACED for sample in samples) + 2
    with pytest.raises(ValueError, match="calls counts the attempts of a placed request"):
        Sample("refused twice", "ValidationError", request={}, calls=2)


def test_the_operator_writes_the_number_otherwise_and_the_list_keys_it_as_one() -> None:
    # Given the number an operator lists before the run
    [number] = opted_out_numbers(load_samples(), FROM_OPERATOR)
    # When the demo writes it as a person would
    written = as_an_operator_writes_it(number)
    # Then it reads otherwise than the request's E.164, and the list keys both the same
    assert written != number
    assert suppression_key(b"any key", written) == suppression_key(b"any key", number)
