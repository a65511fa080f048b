"""Moving a session through its phases: baseline → infusing → recovery → discharged, or stopped."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.alert_support import bp
from tests.api.support import error_at, iso, message, move, now, parse_time
from tests.helpers import new_session

PHASES = ["baseline", "infusing", "recovery", "discharged", "stopped"]


def test_each_phase_change_is_recorded_with_its_time_and_who_made_it(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    final = move(as_nurse, session["id"], "infusing", "recovery", "discharged")
    history = final["phase_changes"]
    assert [(c["from_phase"], c["to_phase"]) for c in history] == [
        (None, "baseline"),
        ("baseline", "infusing"),
        ("infusing", "recovery"),
        ("recovery", "discharged"),
    ]
    assert {c["by"] for c in history} == {"test-nurse"}
    times = [parse_time(c["at"]) for c in history]
    assert times == sorted(times)
    assert final["phase"] == "discharged"
    assert parse_time(final["phase_changed_at"]) == times[-1]
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["phase_changes"] == history


def test_a_phase_change_may_be_dated_back_and_carry_a_note(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    started = parse_time(session["created_at"])
    bp(as_nurse, session["id"], 124, taken_at=iso(started - timedelta(minutes=5)))
    at = started + timedelta(milliseconds=5)
    response = as_nurse.post(
        f"/api/sessions/{session['id']}/phase",
        json={"phase": "infusing", "at": iso(at), "note": "line placed, pump started"},
    )
    assert response.status_code == 200, response.text
    last = response.json()["phase_changes"][-1]
    assert parse_time(last["at"]) == at
    assert last["note"] == "line placed, pump started"
    assert parse_time(last["recorded_at"]) >= at


def test_discharge_sets_ended_at_to_the_time_of_the_change(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    move(as_nurse, session["id"], "infusing", "recovery")
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["ended_at"] is None
    final = move(as_nurse, session["id"], "discharged")
    assert parse_time(final["ended_at"]) == parse_time(final["phase_changes"][-1]["at"])


@pytest.mark.parametrize(
    "path", [(), ("infusing",), ("infusing", "recovery")], ids=["baseline", "infusing", "recovery"]
)
def test_stopping_early_from_any_active_phase_sets_ended_at(
    as_nurse: TestClient, path: tuple[str, ...]
) -> None:
    session = new_session(as_nurse)
    final = move(as_nurse, session["id"], *path, "stopped")
    assert final["phase"] == "stopped"
    assert parse_time(final["ended_at"]) == parse_time(final["phase_changed_at"])


def test_skipping_a_phase_is_409_naming_the_allowed_next_phases(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = as_nurse.post(f"/api/sessions/{session['id']}/phase", json={"phase": "recovery"})
    assert response.status_code == 409, response.text
    assert "allowed next: infusing, stopped" in message(response)
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"


@pytest.mark.parametrize("target", PHASES)
def test_nothing_follows_discharge(as_nurse: TestClient, target: str) -> None:
    session = new_session(as_nurse)
    move(as_nurse, session["id"], "infusing", "recovery", "discharged")
    response = as_nurse.post(f"/api/sessions/{session['id']}/phase", json={"phase": target})
    assert response.status_code == 409, response.text
    assert "ended" in message(response)


def test_a_phase_change_dated_in_the_future_is_422(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = as_nurse.post(
        f"/api/sessions/{session['id']}/phase",
        json={"phase": "infusing", "at": iso(now() + timedelta(hours=1))},
    )
    assert "future" in error_at(response, "body", "at")["msg"]


def test_a_phase_change_dated_before_the_previous_change_is_422(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    before = parse_time(session["created_at"]) - timedelta(minutes=1)
    response = as_nurse.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "infusing", "at": iso(before)}
    )
    assert "previous phase change" in error_at(response, "body", "at")["msg"]
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"


def test_a_phase_change_time_without_an_offset_is_422(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    naive = now().replace(tzinfo=None).isoformat()
    response = as_nurse.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "infusing", "at": naive}
    )
    error_at(response, "body", "at")


def test_an_unknown_phase_is_422(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = as_nurse.post(f"/api/sessions/{session['id']}/phase", json={"phase": "dosing"})
    error_at(response, "body", "phase")


def test_changing_the_phase_of_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.post("/api/sessions/987654321/phase", json={"phase": "infusing"})
    assert response.status_code == 404, response.text
