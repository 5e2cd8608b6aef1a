"""The local Connect's behaviour settings: those that describe no possible instance are refused."""

from __future__ import annotations

import pytest

from local.connect_behaviour import DEFAULT_CALL_DURATION_SECONDS, ConnectBehaviour


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("calls_per_second", 0),
        ("burst", 0),
        ("max_concurrent_calls", 0),
        ("server_error_rate", 1.5),
        ("latency_seconds", -1),
        ("slow_answer_seconds", -1),
        ("drop_before_create_rate", -0.1),
        ("server_error_after_create_rate", 2),
        ("read_timeout_after_create_rate", 1.1),
        ("drop_after_create_rate", -1),
        ("call_duration_max_seconds", DEFAULT_CALL_DURATION_SECONDS / 2),
    ],
)
def test_impossible_behaviour_is_rejected(field: str, value: float) -> None:
    # Given / When a behaviour no instance can have / Then it is refused with the field's name
    with pytest.raises(ValueError, match=field.split("_")[0]):
        ConnectBehaviour(**{field: value})


@pytest.mark.parametrize(
    "shares",
    [
        {"server_error_rate": 0.6, "throttle_rate": 0.3, "drop_before_create_rate": 0.2},
        {"server_error_after_create_rate": 0.5, "read_timeout_after_create_rate": 0.6},
    ],
)
def test_fault_rates_drawn_together_must_not_exceed_one(shares: dict[str, float]) -> None:
    # Given / When fault rates that are shares of one draw and add up to more than 1 / Then they are refused
    with pytest.raises(ValueError, match="must not exceed 1"):
        ConnectBehaviour(**shares)
