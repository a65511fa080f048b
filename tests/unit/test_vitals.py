"""The plausibility rules of clinical.md section 3, at their boundaries."""

import pytest

from backend.readings.vitals import (
    VITALS,
    blood_pressure_error,
    confirmation_reason,
    range_error,
)

# (vital, lowest possible, highest possible, step just beyond)
RANGES = [
    ("heart_rate", 0, 350, 1),
    ("systolic", 0, 350, 1),
    ("diastolic", 0, 300, 1),
    ("spo2", 0, 100, 1),
    ("respiratory_rate", 0, 100, 1),
    ("temperature", 25, 45, 0.1),
]

# (vital, lowest not asking to confirm, highest not asking to confirm, step just beyond)
CONFIRM = [
    ("heart_rate", 30, 220, 1),
    ("systolic", 60, 260, 1),
    ("diastolic", 30, 160, 1),
    ("respiratory_rate", 6, 40, 1),
    ("temperature", 34, 41, 0.1),
]


def test_every_vital_has_a_range_and_the_table_matches_clinical_md() -> None:
    assert {name: (s.lowest, s.highest) for name, s in VITALS.items()} == {
        name: (low, high) for name, low, high, _ in RANGES
    }


@pytest.mark.parametrize(("name", "low", "high", "step"), RANGES)
def test_the_ends_of_the_possible_range_are_possible(
    name: str, low: float, high: float, step: float
) -> None:
    assert range_error(name, low) is None
    assert range_error(name, high) is None


@pytest.mark.parametrize(("name", "low", "high", "step"), RANGES)
def test_just_beyond_either_end_is_impossible_and_the_reason_gives_the_range(
    name: str, low: float, high: float, step: float
) -> None:
    for value in (low - step, high + step):
        reason = range_error(name, value)
        assert reason is not None
        assert f"allowed range is {low:g}–{high:g} {VITALS[name].unit}" in reason


def test_a_fat_fingered_heart_rate_is_impossible() -> None:
    assert range_error("heart_rate", 1200) == (
        "1200 /min is not a possible heart rate: allowed range is 0–350 /min"
    )


def test_a_temperature_reason_keeps_its_decimal() -> None:
    reason = range_error("temperature", 45.5)
    assert reason is not None and reason.startswith("45.5 °C")


def test_diastolic_equal_to_systolic_is_an_error_that_suggests_a_swap() -> None:
    reason = blood_pressure_error(120, 120)
    assert reason is not None
    assert "diastolic (120 mmHg) must be below systolic (120 mmHg)" in reason
    assert "swapped" in reason


def test_diastolic_above_systolic_is_an_error() -> None:
    assert blood_pressure_error(80, 120) is not None


def test_diastolic_one_below_systolic_is_fine() -> None:
    assert blood_pressure_error(120, 119) is None


@pytest.mark.parametrize(("systolic", "diastolic"), [(None, 80), (120, None), (None, None)])
def test_half_a_blood_pressure_is_not_a_pressure_error(
    systolic: float | None, diastolic: float | None
) -> None:
    assert blood_pressure_error(systolic, diastolic) is None


@pytest.mark.parametrize(("name", "low", "high", "step"), CONFIRM)
def test_the_confirmation_thresholds_themselves_need_no_confirmation(
    name: str, low: float, high: float, step: float
) -> None:
    assert confirmation_reason(name, low) is None
    assert confirmation_reason(name, high) is None


@pytest.mark.parametrize(("name", "low", "high", "step"), CONFIRM)
def test_just_beyond_a_confirmation_threshold_asks_to_confirm(
    name: str, low: float, high: float, step: float
) -> None:
    low_reason = confirmation_reason(name, low - step)
    high_reason = confirmation_reason(name, high + step)
    assert low_reason is not None and low_reason.endswith("unusually low")
    assert high_reason is not None and high_reason.endswith("unusually high")


def test_spo2_asks_to_confirm_only_when_low() -> None:
    assert confirmation_reason("spo2", 70) is None
    assert confirmation_reason("spo2", 100) is None
    assert confirmation_reason("spo2", 69) == "SpO2 69 % is unusually low"


def test_a_normal_reading_needs_no_confirmation() -> None:
    normal: dict[str, float] = {"heart_rate": 72, "systolic": 120, "diastolic": 80, "spo2": 98}
    normal |= {"respiratory_rate": 14, "temperature": 36.8}
    assert {name: confirmation_reason(name, v) for name, v in normal.items()} == dict.fromkeys(
        normal
    )
