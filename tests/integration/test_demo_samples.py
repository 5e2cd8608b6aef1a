"""The demo's samples against calling safety, and its calling hours and weekend whatever the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from local.demo import DEMO_WEEKEND_DAYS_AHEAD, demo_calling_hours, demo_settings
from local.producers import DEFERRED_PREFIX, PLACED, Sample, load_samples
from outbound_caller.config.calling_hours import parse_calling_hours
from outbound_caller.safety.calling_hours import OPENING_SPREAD_SECONDS, next_opening
from outbound_caller.safety.destinations import DestinationNotAllowedError, check_destination, destination_of

REFUSED_BY_POLICY = "DestinationNotAllowedByPolicy"
DEFERRED_FOR_HOURS = f"{DEFERRED_PREFIX}OutsideCallingHours"
LONDON = ZoneInfo("Europe/London")


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
