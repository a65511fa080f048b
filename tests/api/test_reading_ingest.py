"""Storing readings: which sessions accept them, what is stored, and what the server adds."""

from collections.abc import Callable
from datetime import timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from tests.api.support import discharged_session, message, move, new_token, now, parse_time
from tests.helpers import new_session, post_reading, readings_of

VITALS = ("heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature")


def test_a_reading_for_an_unknown_session_is_404_with_a_reason(as_nurse: TestClient) -> None:
    response = post_reading(as_nurse, 987_654_321, heart_rate=80)
    assert response.status_code == 404, response.text
    assert "no session with id 987654321" in message(response)


def test_a_discharged_session_refuses_readings_saying_it_ended(as_nurse: TestClient) -> None:
    session = discharged_session(as_nurse)
    before = readings_of(as_nurse, session["id"])  # the blood pressure discharge needed
    response = post_reading(as_nurse, session["id"], heart_rate=80)
    assert response.status_code == 409, response.text
    assert "ended" in message(response)
    assert readings_of(as_nurse, session["id"]) == before


def test_a_stopped_session_refuses_readings_saying_it_ended(as_nurse: TestClient) -> None:
    session = move(as_nurse, new_session(as_nurse)["id"], "stopped")
    response = post_reading(as_nurse, session["id"], heart_rate=80)
    assert response.status_code == 409, response.text
    assert "ended" in message(response)


@pytest.mark.parametrize(
    "path", [(), ("infusing",), ("infusing", "recovery")], ids=["baseline", "infusing", "recovery"]
)
def test_a_session_accepts_readings_in_every_active_phase(
    as_nurse: TestClient, path: tuple[str, ...]
) -> None:
    session = new_session(as_nurse)
    move(as_nurse, session["id"], *path)
    assert post_reading(as_nurse, session["id"], heart_rate=80).status_code == 201


def test_a_reading_with_only_spo2_is_stored_with_the_other_vitals_empty(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    assert post_reading(as_nurse, session["id"], spo2=97).status_code == 201
    (stored,) = readings_of(as_nurse, session["id"])
    assert {v: stored[v] for v in VITALS} == {v: (97 if v == "spo2" else None) for v in VITALS}
    assert stored["consciousness"] is None


def test_a_reading_with_only_blood_pressure_is_stored_as_sent(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    assert post_reading(as_nurse, session["id"], systolic=132, diastolic=84).status_code == 201
    (stored,) = readings_of(as_nurse, session["id"])
    assert (stored["systolic"], stored["diastolic"], stored["heart_rate"]) == (132, 84, None)


def test_a_full_reading_is_stored_with_every_value_as_sent(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    sent = {
        "heart_rate": 72,
        "systolic": 121,
        "diastolic": 79,
        "spo2": 98,
        "respiratory_rate": 14,
        "temperature": 36.8,
        "consciousness": "A",
    }
    assert post_reading(as_nurse, session["id"], **sent).status_code == 201
    (stored,) = readings_of(as_nurse, session["id"])
    assert {name: stored[name] for name in sent} == sent
    assert stored["entered_by"] == "test-nurse"


def test_received_at_is_the_server_clock_not_the_measurement_time(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    taken = now() - timedelta(minutes=10)
    before = now()
    response = post_reading(as_nurse, session["id"], heart_rate=80, taken_at=taken.isoformat())
    after = now()
    assert response.status_code == 201, response.text
    body = response.json()
    assert parse_time(body["taken_at"]) == taken
    assert before - timedelta(seconds=1) <= parse_time(body["received_at"]) <= after


def test_a_client_cannot_set_received_at(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = post_reading(as_nurse, session["id"], heart_rate=80, received_at=now().isoformat())
    assert response.status_code == 422, response.text


def test_an_omitted_taken_at_means_now(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    before = now()
    body = post_reading(as_nurse, session["id"], heart_rate=80).json()
    assert before - timedelta(seconds=1) <= parse_time(body["taken_at"]) <= now()


def test_times_on_the_wire_are_iso_8601_with_an_offset(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    sent = (now() - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))).isoformat()
    created = post_reading(as_nurse, session["id"], heart_rate=80, taken_at=sent).json()
    (listed,) = readings_of(as_nurse, session["id"])
    for reading in (created, listed):
        assert parse_time(reading["taken_at"]) == parse_time(sent)
        parse_time(reading["received_at"])
    detail = as_nurse.get(f"/api/sessions/{session['id']}").json()
    parse_time(detail["created_at"])
    parse_time(detail["phase_changed_at"])
    parse_time(detail["latest"]["heart_rate"]["taken_at"])


def test_a_signed_in_person_records_manual_readings_by_default(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    assert post_reading(as_nurse, session["id"], heart_rate=80).json()["source"] == "manual"


def test_a_token_records_device_readings_by_default_under_its_name(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    session = new_session(as_admin)
    token = new_token(as_admin, "staff")
    gateway = bearer(token["token"])
    response = post_reading(gateway, session["id"], spo2=96)
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "device"
    assert response.json()["entered_by"] == f"token:{token['name']}"


@pytest.mark.parametrize("source", ["manual", "device", "simulator"])
def test_the_sender_may_name_the_source(as_nurse: TestClient, source: str) -> None:
    session = new_session(as_nurse)
    response = post_reading(as_nurse, session["id"], heart_rate=80, source=source)
    assert response.status_code == 201, response.text
    assert readings_of(as_nurse, session["id"])[0]["source"] == source


def test_an_unknown_source_is_refused(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = post_reading(as_nurse, session["id"], heart_rate=80, source="telepathy")
    assert response.status_code == 422, response.text
