"""The devices domain's pure rules (no database, no app): which chair a PV1-3 bed names, how a
report's rows become readings, what a device's row shows after a message."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.devices.report import DeviceObservation, Skip
from backend.devices.rules import (
    Bed,
    ChairPlace,
    chair_for_bed,
    eui64_error,
    group,
    is_current,
    parse_bed,
    with_last_values,
    with_skipped,
)

CHAIRS = [
    ChairPlace(1, "Chair 1", "Room A", "North"),
    ChairPlace(2, "Chair 1", "Room B", "North"),
    ChairPlace(3, "Chair 7", "Room B", "North"),
    ChairPlace(4, "Chair 1", "Room A", "South"),
]
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def obs(vital: str, value: float, code: int = 0, at: datetime = T0) -> DeviceObservation:
    return DeviceObservation(vital, value, at, code, "MDC", "unit", 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ICU^Room 2^Bed 4", Bed("ICU", "Room 2", "Bed 4")),
        ("^^Bed 4", Bed("", "", "Bed 4")),
        ("ICU&1.2.3&ISO^R2&x^B4", Bed("ICU", "R2", "B4")),
        ("ICU^Room 2", None),
        ("", None),
        (None, None),
    ],
)
def test_a_pv1_3_is_read_as_point_of_care_room_and_bed(
    text: str | None, expected: Bed | None
) -> None:
    assert parse_bed(text) == expected


@pytest.mark.parametrize(
    ("bed", "chair_id"),
    [
        (Bed("", "", "chair  7"), 3),  # unique across rooms, spelt loosely
        (Bed("", "room b", "CHAIR 1"), 2),  # the room picks one of the chairs called Chair 1
        (Bed("South", "Room A", "Chair 1"), 4),  # the site (point of care) picks among rooms
        (Bed("", "", "Chair 1"), None),  # three rooms have one: never guessed
        (Bed("", "Room A", "Chair 1"), None),  # North and South both have a Room A
        (Bed("", "Room A", "Chair 7"), None),  # a configured room without that chair
        (Bed("", "Ward 9", "Chair 7"), 3),  # a room Vigil does not know: the unique name
        (Bed("", "", "Chair 9"), None),
    ],
)
def test_a_bed_names_a_chair_only_when_exactly_one_fits(bed: Bed, chair_id: int | None) -> None:
    assert chair_for_bed(bed, CHAIRS) == chair_id


def test_an_ecg_heart_rate_wins_over_a_pulse_at_the_same_moment() -> None:
    (reading,) = group([obs("heart_rate", 88, 149530), obs("heart_rate", 72, 147842)])
    assert reading.values == {"heart_rate": 72}


def test_rows_measured_at_different_moments_are_separate_readings_oldest_first() -> None:
    later = T0 + timedelta(seconds=30)
    readings = group([obs("spo2", 96.6, at=later), obs("temperature", 36.75), obs("spo2", 97.2)])
    assert [(r.taken_at, r.values) for r in readings] == [
        (T0, {"temperature": 36.75, "spo2": 97}),
        (later, {"spo2": 97}),
    ]


def test_last_values_keep_the_newest_measured_whatever_the_arrival_order() -> None:
    last = with_last_values({}, [obs("spo2", 95, at=T0 + timedelta(seconds=10))])
    last = with_last_values(last, [obs("spo2", 99), obs("heart_rate", 70)])
    assert last["spo2"]["value"] == 95
    assert last["heart_rate"] == {"value": 70, "taken_at": T0.isoformat()}


def test_skipped_rows_add_up_by_reason() -> None:
    counts = with_skipped({}, {Skip.TEST: 2, Skip.DEVICE_ROW: 0})
    assert with_skipped(counts, {Skip.TEST: 1, Skip.UNKNOWN_CODE: 4}) == {
        "test": 3,
        "unknown_code": 4,
    }


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0012A1FFFE3B4C5D", True),
        ("0012a1fffe3b4c5d", True),
        ("0012A1FFFE3B4C5", False),
        ("0012A1FFFE3B4C5DX", False),
        ("0012A1FF FE3B4C5D", False),
        ("", False),
    ],
)
def test_an_eui64_is_sixteen_hex_digits(text: str, ok: bool) -> None:
    assert (eui64_error(text) is None) is ok


def test_a_value_is_current_for_five_minutes() -> None:
    assert is_current(T0 - timedelta(minutes=5), T0)
    assert not is_current(T0 - timedelta(minutes=5, seconds=1), T0)
