"""What the server refuses to store as a reading, and the boundaries it accepts
(clinical.md section 3: a fat-fingered 1200 for 120 must never reach a chart)."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import error_at, errors, iso, now
from tests.helpers import new_session, post_reading, readings_of

IMPOSSIBLE = [
    ("heart_rate", -1, "0–350"),
    ("heart_rate", 351, "0–350"),
    ("heart_rate", 1200, "0–350"),
    ("systolic", -1, "0–350"),
    ("systolic", 351, "0–350"),
    ("diastolic", -1, "0–300"),
    ("diastolic", 301, "0–300"),
    ("spo2", -1, "0–100"),
    ("spo2", 101, "0–100"),
    ("respiratory_rate", -1, "0–100"),
    ("respiratory_rate", 101, "0–100"),
    ("temperature", -1, "25–45"),
    ("temperature", 24.9, "25–45"),
    ("temperature", 45.1, "25–45"),
]

BOUNDARIES = [
    ("heart_rate", 0),
    ("heart_rate", 350),
    ("systolic", 0),
    ("systolic", 350),
    ("diastolic", 0),
    ("diastolic", 300),
    ("spo2", 0),
    ("spo2", 100),
    ("respiratory_rate", 0),
    ("respiratory_rate", 100),
    ("temperature", 25),
    ("temperature", 45),
]


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


@pytest.mark.parametrize(("vital", "value", "allowed"), IMPOSSIBLE)
def test_an_impossible_value_is_refused_naming_the_field_and_the_allowed_range(
    as_nurse: TestClient, session_id: int, vital: str, value: float, allowed: str
) -> None:
    response = post_reading(as_nurse, session_id, **{vital: value})
    error = error_at(response, "body", vital)
    assert f"allowed range is {allowed}" in error["msg"]
    assert vital in response.json()["message"]
    assert readings_of(as_nurse, session_id) == []


@pytest.mark.parametrize(("vital", "value"), BOUNDARIES)
def test_the_extremes_of_the_possible_range_are_accepted(
    as_nurse: TestClient, session_id: int, vital: str, value: float
) -> None:
    response = post_reading(as_nurse, session_id, **{vital: value})
    assert response.status_code == 201, response.text
    assert response.json()[vital] == value


@pytest.mark.parametrize(("systolic", "diastolic"), [(80, 80), (80, 120)])
def test_a_diastolic_not_below_systolic_is_refused_with_a_readable_reason(
    as_nurse: TestClient, session_id: int, systolic: int, diastolic: int
) -> None:
    response = post_reading(as_nurse, session_id, systolic=systolic, diastolic=diastolic)
    (error,) = errors(response)
    assert f"diastolic ({diastolic} mmHg) must be below systolic ({systolic} mmHg)" in error["msg"]


def test_a_diastolic_just_below_systolic_is_accepted(as_nurse: TestClient, session_id: int) -> None:
    response = post_reading(as_nurse, session_id, systolic=80, diastolic=79)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "body",
    [{}, {"taken_at": iso(now())}, {"source": "manual"}, {"heart_rate": None}],
    ids=["nothing", "only-a-time", "only-a-source", "explicit-null"],
)
def test_a_reading_without_any_vital_is_refused(
    as_nurse: TestClient, session_id: int, body: dict[str, Any]
) -> None:
    (error,) = errors(post_reading(as_nurse, session_id, **body))
    assert "at least one vital" in error["msg"]


def test_a_fractional_heart_rate_is_refused(as_nurse: TestClient, session_id: int) -> None:
    error_at(post_reading(as_nurse, session_id, heart_rate=80.5), "body", "heart_rate")


def test_a_fractional_temperature_is_kept_as_sent(as_nurse: TestClient, session_id: int) -> None:
    response = post_reading(as_nurse, session_id, temperature=37.2)
    assert response.status_code == 201, response.text
    assert response.json()["temperature"] == 37.2


def test_a_consciousness_level_outside_acvpu_is_refused(
    as_nurse: TestClient, session_id: int
) -> None:
    error_at(post_reading(as_nurse, session_id, consciousness="X"), "body", "consciousness")


def test_an_unknown_field_is_refused_rather_than_silently_dropped(
    as_nurse: TestClient, session_id: int
) -> None:
    error_at(post_reading(as_nurse, session_id, heart_rate=80, pulse=80), "body", "pulse")


def test_a_taken_at_without_an_offset_is_refused(as_nurse: TestClient, session_id: int) -> None:
    naive = now().replace(tzinfo=None).isoformat()
    error_at(post_reading(as_nurse, session_id, heart_rate=80, taken_at=naive), "body", "taken_at")


def test_a_taken_at_far_in_the_future_is_refused_naming_taken_at(
    as_nurse: TestClient, session_id: int
) -> None:
    future = iso(now() + timedelta(hours=1))
    response = post_reading(as_nurse, session_id, heart_rate=80, taken_at=future)
    assert "future" in error_at(response, "body", "taken_at")["msg"]
    assert readings_of(as_nurse, session_id) == []


def test_a_taken_at_slightly_ahead_within_the_clock_tolerance_is_accepted(
    as_nurse: TestClient, session_id: int
) -> None:
    ahead = iso(now() + timedelta(seconds=60))
    response = post_reading(as_nurse, session_id, heart_rate=80, taken_at=ahead)
    assert response.status_code == 201, response.text


def test_an_impossible_value_and_swapped_pressures_are_reported_together(
    as_nurse: TestClient, session_id: int
) -> None:
    response = post_reading(as_nurse, session_id, heart_rate=1200, systolic=80, diastolic=90)
    assert response.status_code == 422
    fields = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert "0–350" in fields[("body", "heart_rate")]
    assert "must be below systolic" in fields[("body", "diastolic")]


@pytest.mark.parametrize(
    ("field", "value"), [("sedation", 6), ("sedation", -1), ("on_oxygen", "maybe")]
)
def test_sedation_and_oxygen_are_checked(nurse: TestClient, field: str, value: Any) -> None:
    session = new_session(nurse)
    response = post_reading(nurse, session["id"], heart_rate=80, **{field: value})
    assert error_at(response, "body", field)


def test_sedation_and_oxygen_alone_make_a_reading(nurse: TestClient) -> None:
    session = new_session(nurse)
    response = post_reading(nurse, session["id"], sedation=3, on_oxygen=True)
    assert response.status_code == 201, response.text
    assert (response.json()["sedation"], response.json()["on_oxygen"]) == (3, True)
