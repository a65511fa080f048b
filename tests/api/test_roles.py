"""Who may do what: trainers work only with simulated sessions, clinical roles only with real
ones, and phases are a nurse's decision."""

import pytest
from fastapi.testclient import TestClient

from backend.core.roles import Role
from tests.api.support import (
    RoleClient,
    error_at,
    message,
    patient_id,
    session_body,
    simulated_session,
)
from tests.helpers import new_session, post_reading


def test_a_trainer_starts_a_simulated_session(as_trainer: TestClient, as_nurse: TestClient) -> None:
    session = simulated_session(as_trainer, patient_id(as_trainer))
    assert (session["simulated"], session["created_by"]) == (True, "test-trainer")


def test_a_trainer_cannot_start_a_real_session(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    response = as_trainer.post("/api/sessions", json=session_body(patient_id(as_nurse)))
    assert response.status_code == 403, response.text
    assert "simulated" in message(response)


@pytest.mark.parametrize("role", [Role.NURSE, Role.STAFF])
def test_clinical_roles_cannot_start_simulated_sessions(as_role: RoleClient, role: Role) -> None:
    clinician = as_role(role)
    body = session_body(patient_id(clinician), simulated=True)
    response = clinician.post("/api/sessions", json=body)
    assert response.status_code == 403, response.text
    assert "only trainers" in message(response)


def test_an_admin_may_start_either_kind_of_session(as_admin: TestClient) -> None:
    real = as_admin.post("/api/sessions", json=session_body(patient_id(as_admin)))
    drills_patient = patient_id(as_admin, simulated=True)
    simulated = as_admin.post("/api/sessions", json=session_body(drills_patient, simulated=True))
    assert (real.status_code, simulated.status_code) == (201, 201)


def test_a_drill_runs_on_a_drills_patient_and_a_patient_is_never_a_drills(
    as_admin: TestClient, as_trainer: TestClient
) -> None:
    # Otherwise a real patient's name would reach the trainers who run the drill.
    real_patient = patient_id(as_admin)
    drill = as_admin.post("/api/sessions", json=session_body(real_patient, simulated=True))
    assert drill.status_code == 422, drill.text
    assert "needs a simulated patient" in error_at(drill, "body", "patient_id")["msg"]
    by_trainer = as_trainer.post("/api/sessions", json=session_body(real_patient, simulated=True))
    assert by_trainer.status_code == 422, by_trainer.text
    assert "Test Patient" not in by_trainer.text
    drills_patient = patient_id(as_trainer)  # a trainer's new patient is a drill's
    real = as_admin.post("/api/sessions", json=session_body(drills_patient))
    assert real.status_code == 422, real.text
    assert "drill's" in error_at(real, "body", "patient_id")["msg"]


def test_a_trainer_cannot_record_a_reading_on_a_real_session(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    session = new_session(as_nurse)
    response = post_reading(as_trainer, session["id"], heart_rate=80)
    assert response.status_code == 403, response.text
    assert "simulated" in message(response)
    assert as_nurse.get(f"/api/sessions/{session['id']}/readings").json()["items"] == []


def test_a_trainer_is_refused_a_real_sessions_readings_before_their_bodies_are_judged(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    """The refusal says why (not simulated), not what was wrong with the values: a trainer
    learns nothing of a real session by probing it with bad readings."""
    session_id = new_session(as_nurse)["id"]
    one = as_trainer.post(f"/api/sessions/{session_id}/readings", json={"heart_rate": 9999})
    batch = as_trainer.post(
        f"/api/sessions/{session_id}/readings/batch", json={"readings": [{"spo2": -1}]}
    )
    for response in (one, batch):
        assert response.status_code == 403, response.text
        assert "simulated" in message(response)


@pytest.mark.parametrize("path", ["/api/sessions/x/readings", "/api/sessions/0/readings/batch"])
def test_no_caller_hears_401_before_a_malformed_session_id_is_judged(
    client: TestClient, path: str
) -> None:
    assert client.post(path, json={"heart_rate": 70}).status_code == 401


def test_a_malformed_session_id_is_refused_for_what_it_is(as_nurse: TestClient) -> None:
    response = as_nurse.post("/api/sessions/x/readings", json={"heart_rate": 70})
    assert error_at(response, "path", "session_id")


def test_a_trainer_cannot_move_a_real_session_through_its_phases(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    session = new_session(as_nurse)
    response = as_trainer.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
    assert response.status_code == 403, response.text


def test_a_trainer_runs_a_simulated_session_end_to_end(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    session = simulated_session(as_trainer, patient_id(as_trainer))
    # A blood pressure: dosing needs a baseline one, whoever moves the phase.
    reading = {"heart_rate": 80, "systolic": 120, "diastolic": 80}
    assert post_reading(as_trainer, session["id"], **reading).status_code == 201
    response = as_trainer.post(f"/api/sessions/{session['id']}/phase", json={"phase": "infusing"})
    assert response.status_code == 200, response.text


def test_staff_record_readings_but_cannot_change_phases(as_staff: TestClient) -> None:
    session = new_session(as_staff)
    assert post_reading(as_staff, session["id"], heart_rate=80).status_code == 201
    response = as_staff.post(f"/api/sessions/{session['id']}/phase", json={"phase": "infusing"})
    assert response.status_code == 403, response.text
    assert message(response) == "this needs one of the roles: admin, nurse, trainer"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_read_the_ward(as_role: RoleClient, role: Role) -> None:
    assert as_role(role).get("/api/sessions").status_code == 200


@pytest.mark.parametrize("role", [Role.NURSE, Role.STAFF])
def test_the_clinicians_being_drilled_record_on_a_trainers_simulated_session(
    as_role: RoleClient, as_trainer: TestClient, as_nurse: TestClient, role: Role
) -> None:
    session = simulated_session(as_trainer, patient_id(as_trainer))
    assert post_reading(as_role(role), session["id"], spo2=91).status_code == 201


def test_a_nurse_being_drilled_moves_a_simulated_session_through_its_phases(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    session = simulated_session(as_trainer, patient_id(as_trainer))
    assert post_reading(as_nurse, session["id"], systolic=120, diastolic=80).status_code == 201
    response = as_nurse.post(f"/api/sessions/{session['id']}/phase", json={"phase": "infusing"})
    assert response.status_code == 200, response.text
