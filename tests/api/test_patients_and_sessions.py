"""Registering patients, starting sessions, and the ward's list of sessions."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import (
    discharged_session,
    message,
    minutes_ago,
    move,
    parse_time,
    patient_id,
    session_body,
    unique,
)
from tests.helpers import new_patient, new_session, post_reading


def ward(client: TestClient, status: str = "active") -> dict[int, dict[str, Any]]:
    response = client.get("/api/sessions", params={"status": status, "limit": 500})
    assert response.status_code == 200, response.text
    return {s["id"]: s for s in response.json()}


def test_a_patient_is_registered_and_found_by_clinic_id(as_staff: TestClient) -> None:
    clinic_id = unique("MRN")
    response = as_staff.post(
        "/api/patients", json={"clinic_id": clinic_id, "display_name": "Ada Byron"}
    )
    assert response.status_code == 201, response.text
    found = as_staff.get("/api/patients", params={"q": clinic_id}).json()
    assert [(p["clinic_id"], p["display_name"]) for p in found] == [(clinic_id, "Ada Byron")]
    assert as_staff.get(f"/api/patients/{response.json()['id']}").json() == response.json()


def test_a_duplicate_clinic_id_is_409_naming_it(as_nurse: TestClient) -> None:
    patient = new_patient(as_nurse)
    response = as_nurse.post(
        "/api/patients", json={"clinic_id": patient["clinic_id"], "display_name": "Someone else"}
    )
    assert response.status_code == 409, response.text
    assert patient["clinic_id"] in message(response)


def test_an_unknown_patient_is_404(as_nurse: TestClient) -> None:
    assert as_nurse.get("/api/patients/987654321").status_code == 404


def test_a_session_starts_in_baseline_recorded_with_who_started_it(as_nurse: TestClient) -> None:
    pid = patient_id(as_nurse)
    response = as_nurse.post("/api/sessions", json=session_body(pid, planned_dose_mg=35))
    assert response.status_code == 201, response.text
    session = response.json()
    assert (session["patient"]["id"], session["phase"], session["ended_at"]) == (
        pid,
        "baseline",
        None,
    )
    assert session["created_by"] == "test-nurse"
    (start,) = session["phase_changes"]
    assert (start["from_phase"], start["to_phase"], start["by"]) == (None, "baseline", "test-nurse")
    assert parse_time(start["at"]) == parse_time(session["created_at"])


def test_a_session_for_an_unknown_patient_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.post("/api/sessions", json=session_body(987_654_321))
    assert response.status_code == 404, response.text
    assert "987654321" in message(response)


def test_a_second_active_session_on_the_same_chair_is_409(as_nurse: TestClient) -> None:
    first = new_session(as_nurse)
    response = as_nurse.post(
        "/api/sessions", json=session_body(patient_id(as_nurse), chair=first["chair"])
    )
    assert response.status_code == 409, response.text
    assert first["chair"] in message(response)


def test_a_chair_is_free_again_once_its_session_has_ended(as_nurse: TestClient) -> None:
    ended = discharged_session(as_nurse)
    response = as_nurse.post(
        "/api/sessions", json=session_body(patient_id(as_nurse), chair=ended["chair"])
    )
    assert response.status_code == 201, response.text


def test_an_unknown_session_is_404_with_a_reason(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/sessions/987654321")
    assert response.status_code == 404, response.text
    assert "no session with id 987654321" in message(response)


def test_the_active_list_leaves_out_ended_sessions(as_nurse: TestClient) -> None:
    running = new_session(as_nurse, chair=unique("!A"))
    discharged = discharged_session(as_nurse)
    stopped = move(as_nurse, new_session(as_nurse)["id"], "stopped")
    active = ward(as_nurse)
    assert running["id"] in active
    assert discharged["id"] not in active
    assert stopped["id"] not in active
    assert {discharged["id"], stopped["id"]} <= ward(as_nurse, "ended").keys()
    assert running["id"] not in ward(as_nurse, "ended")


def test_real_patient_views_can_leave_simulated_sessions_out(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    real = new_session(as_nurse)
    simulated = new_session(as_trainer, simulated=True)

    def listed(**params: Any) -> set[int]:
        response = as_nurse.get("/api/sessions", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()}

    assert {real["id"], simulated["id"]} <= listed()
    assert real["id"] in listed(simulated="false")
    assert simulated["id"] not in listed(simulated="false")
    assert listed(simulated="true") >= {simulated["id"]}
    assert real["id"] not in listed(simulated="true")


def test_the_ward_shows_each_vitals_latest_value_and_when_it_was_taken(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse, chair=unique("!A"))
    sid = session["id"]
    early, late = minutes_ago(10), minutes_ago(2)
    post_reading(as_nurse, sid, heart_rate=71, systolic=120, diastolic=80, taken_at=early)
    post_reading(as_nurse, sid, heart_rate=95, spo2=97, taken_at=late)
    post_reading(as_nurse, sid, heart_rate=60, taken_at=minutes_ago(20))  # late arrival, older
    latest = ward(as_nurse)[sid]["latest"]
    assert {name: (v["value"], parse_time(v["taken_at"])) for name, v in latest.items()} == {
        "heart_rate": (95, parse_time(late)),
        "spo2": (97, parse_time(late)),
        "systolic": (120, parse_time(early)),
        "diastolic": (80, parse_time(early)),
    }
    assert as_nurse.get(f"/api/sessions/{sid}").json()["latest"] == latest


def test_the_latest_consciousness_level_is_shown_as_its_letter(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    post_reading(as_nurse, session["id"], consciousness="V")
    latest = as_nurse.get(f"/api/sessions/{session['id']}").json()["latest"]
    assert latest["consciousness"]["value"] == "V"


def test_a_session_without_readings_has_no_latest_values(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["latest"] == {}


def test_the_ward_sends_whole_number_vitals_as_integers_like_the_readings_do(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    post_reading(as_nurse, session["id"], heart_rate=95, spo2=97, temperature=37.5)
    latest = as_nurse.get(f"/api/sessions/{session['id']}").json()["latest"]
    assert type(latest["heart_rate"]["value"]) is int
    assert type(latest["spo2"]["value"]) is int
    assert latest["temperature"]["value"] == 37.5
