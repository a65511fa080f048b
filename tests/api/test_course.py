"""GET /api/patients/{id}/course: each real session of a real patient with its figures, for the
register's readers only, every view on the audit trail as a view of the patient."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.sessions.models import InfusionSession
from tests.api.support import error_at, message, move, session_body
from tests.helpers import mark_in_error, new_patient, post_reading, readings_of


def course(client: TestClient, patient_id: int) -> dict[str, Any]:
    response = client.get(f"/api/patients/{patient_id}/course")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def start(client: TestClient, patient_id: int, **fields: Any) -> int:
    body = session_body(patient_id, planned_dose_mg=35, weight_kg=70, **fields)
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return session_id


def reading(client: TestClient, session_id: int, **vitals: Any) -> None:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text


def a_treated_session(client: TestClient, patient_id: int) -> int:
    """Baseline 122/78, a peak of 151/96 while dosing (and an error of 190 struck out), SpO2 down
    to 93, MOAA/S 3 at worst, then alert in recovery and discharged."""
    sid = start(client, patient_id)
    reading(client, sid, systolic=122, diastolic=78, spo2=98)
    move(client, sid, "infusing")
    reading(client, sid, systolic=151, diastolic=96, spo2=93, consciousness="V", sedation=3)
    reading(client, sid, systolic=140, diastolic=88)
    wrong = post_reading(client, sid, systolic=190, diastolic=120, spo2=70)
    assert wrong.status_code == 201, wrong.text
    mark_in_error(client, sid, wrong.json()["id"], "wrong patient's cuff")
    move(client, sid, "recovery")
    reading(client, sid, systolic=128, diastolic=80, consciousness="A", sedation=5)
    move(client, sid, "discharged")
    return sid


def test_a_course_lists_each_session_with_its_figures_oldest_first(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    pid = new_patient(as_nurse, "Course Patient")["id"]
    first = a_treated_session(as_nurse, pid)
    second = start(as_nurse, pid, drug="esketamine", route="intranasal")
    body = course(as_nurse, pid)
    assert body["patient"]["id"] == pid
    assert body["total"] == 2
    assert body["clinic_timezone"]
    rows = body["sessions"]
    assert [r["session_id"] for r in rows] == [first, second]
    row = rows[0]
    assert (row["drug"], row["route"], row["phase"]) == ("ketamine", "iv", "discharged")
    assert (row["dose_mg"], row["dose_mg_per_kg"]) == (35, 0.5)
    assert (row["baseline_systolic"], row["baseline_diastolic"]) == (122, 78)
    # The struck-out 190/120 and SpO2 70 are not the patient's.
    assert (row["peak_systolic_rise"], row["peak_diastolic_rise"]) == (29, 18)
    assert row["lowest_spo2"] == 93
    assert (row["deepest_sedation"], row["deepest_consciousness"]) == (3, "V")
    assert row["minutes_to_ready"] is not None and 0 <= row["minutes_to_ready"] < 1
    assert row["ready_note"] is None
    assert row["started_at"].endswith("+00:00") or row["started_at"].endswith("Z")
    # The open session, not dosed yet: no rise, no readiness, said why.
    later = rows[1]
    assert (later["drug"], later["phase"]) == ("esketamine", "baseline")
    assert later["peak_systolic_rise"] is None and later["baseline_systolic"] is None
    assert (later["minutes_to_ready"], later["ready_note"]) == (None, "not dosed")
    assert later["alarms"] == 0


def test_no_rise_without_a_pre_dose_baseline(as_nurse: TestClient) -> None:
    pid = new_patient(as_nurse)["id"]
    sid = start(as_nurse, pid)
    move(as_nurse, sid, "infusing")  # the checklist makes it take a baseline first
    baseline = readings_of(as_nurse, sid)
    assert baseline, "a baseline blood pressure was recorded"
    mark_in_error(as_nurse, sid, baseline[0]["id"], "taken on the wrong arm")
    reading(as_nurse, sid, systolic=150, diastolic=95)
    (row,) = course(as_nurse, pid)["sessions"]
    assert row["baseline_systolic"] is None
    assert row["peak_systolic_rise"] is None and row["peak_diastolic_rise"] is None


def test_alarms_are_counted_and_a_high_one_is_counted_high(as_nurse: TestClient) -> None:
    pid = new_patient(as_nurse)["id"]
    sid = start(as_nurse, pid)
    reading(as_nurse, sid, systolic=120, diastolic=80)
    move(as_nurse, sid, "infusing")
    reading(as_nurse, sid, systolic=195, diastolic=100)  # systolic high, high priority
    (row,) = course(as_nurse, pid)["sessions"]
    assert row["alarms"] >= 1
    assert row["high_alarms"] >= 1


def test_simulated_sessions_are_never_part_of_a_patients_course(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    # The API never puts a drill on a real patient; should a row ever say so (an old import, a
    # hand-made fix), the course still leaves it out.
    drill_patient = new_patient(as_trainer, simulated=True)["id"]
    drill = as_trainer.post("/api/sessions", json=session_body(drill_patient, simulated=True))
    assert drill.status_code == 201, drill.text
    pid = new_patient(as_nurse)["id"]
    database = as_nurse.app.state.database  # type: ignore[attr-defined]
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(InfusionSession)
            .where(InfusionSession.id == drill.json()["id"])
            .values(patient_id=pid)
        )
    real = a_treated_session(as_nurse, pid)
    body = course(as_nurse, pid)
    assert [r["session_id"] for r in body["sessions"]] == [real]
    assert body["total"] == 1


def test_a_simulated_patient_has_no_course(as_nurse: TestClient) -> None:
    pid = new_patient(as_nurse, simulated=True)["id"]
    response = as_nurse.get(f"/api/patients/{pid}/course")
    assert response.status_code == 404
    assert "no real patient" in message(response)


def test_an_unknown_patient_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/patients/2147483000/course")
    assert response.status_code == 404
    assert message(response) == "no real patient with id 2147483000"


def test_the_register_readers_see_a_course_and_trainers_are_refused(
    as_admin: TestClient, as_staff: TestClient, as_trainer: TestClient, as_nurse: TestClient
) -> None:
    pid = new_patient(as_nurse)["id"]
    for client in (as_admin, as_staff, as_nurse):
        assert client.get(f"/api/patients/{pid}/course").status_code == 200
    refused = as_trainer.get(f"/api/patients/{pid}/course")
    assert refused.status_code == 403
    # Nor may a trainer learn whether an id is a patient: refused before anything is read.
    assert as_trainer.get("/api/patients/2147483000/course").status_code == 403


def test_signed_out_is_401(client: TestClient, as_nurse: TestClient) -> None:
    pid = new_patient(as_nurse)["id"]
    assert client.get(f"/api/patients/{pid}/course").status_code == 401


def test_each_view_is_on_the_trail_as_a_view_of_the_patient(
    as_staff: TestClient, as_admin: TestClient, as_nurse: TestClient, as_trainer: TestClient
) -> None:
    pid = new_patient(as_nurse)["id"]
    start(as_nurse, pid)
    course(as_staff, pid)
    as_trainer.get(f"/api/patients/{pid}/course")  # refused: not a view
    events = as_admin.get(
        "/api/audit", params={"patient_id": pid, "action": "patient.view", "limit": 50}
    ).json()["items"]
    assert len(events) == 1
    (event,) = events
    assert (event["actor_role"], event["patient_id"]) == ("staff", pid)
    assert event["detail"] == {"via": "course", "sessions": 1}
    course(as_staff, pid)
    again = as_admin.get("/api/audit", params={"patient_id": pid, "action": "patient.view"})
    assert len(again.json()["items"]) == 2


@pytest.mark.parametrize(
    "bad",
    ["0", "-1", "2147483648", "99999999999999999999999", "abc", "1.5", "NaN", "true", "%ED%A0%80"],
)
def test_hostile_ids_are_a_422_naming_the_path(as_nurse: TestClient, bad: str) -> None:
    response = as_nurse.get(f"/api/patients/{bad}/course")
    assert response.status_code == 422, response.text
    error_at(response, "path", "patient_id")


@pytest.mark.parametrize("bad", ["%00", "1%00"])
def test_a_nul_in_the_path_is_refused_before_routing(as_nurse: TestClient, bad: str) -> None:
    # The app refuses a NUL anywhere in a path (core/url_text.py) before any route reads it.
    response = as_nurse.get(f"/api/patients/{bad}/course")
    assert response.status_code == 422, response.text
    error_at(response, "path")


def test_a_real_record_names_its_patient_for_the_viewers_course_link(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    pid = new_patient(as_nurse)["id"]
    sid = start(as_nurse, pid)
    report = as_nurse.get(f"/api/sessions/{sid}/report")
    assert report.status_code == 200, report.text
    assert f'<meta name="vigil-patient" content="{pid}">' in report.text
    # A drill's record links to no course: its patient is nobody's.
    drill_patient = new_patient(as_trainer, simulated=True)["id"]
    drill = as_trainer.post("/api/sessions", json=session_body(drill_patient, simulated=True))
    assert drill.status_code == 201, drill.text
    simulated = as_trainer.get(f"/api/sessions/{drill.json()['id']}/report")
    assert simulated.status_code == 200, simulated.text
    assert 'name="vigil-patient"' not in simulated.text
