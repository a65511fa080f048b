"""NEWS2 over the API: the score with its parts from a complete recent set, or what is missing."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.alert_support import record
from tests.api.support import minutes_ago, move
from tests.helpers import new_session

COMPLETE = {
    "respiratory_rate": 22,  # 2
    "spo2": 95,  # 1
    "on_oxygen": False,  # 0
    "systolic": 105,  # 1
    "diastolic": 70,
    "heart_rate": 95,  # 1
    "consciousness": "A",  # 0
    "temperature": 37.0,  # 0
}


def news2_of(client: TestClient, session_id: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/news2")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_complete_recent_set_gives_the_score_band_and_parts(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    record(as_nurse, session["id"], **COMPLETE)

    news = news2_of(as_nurse, session["id"])
    assert (news["score"], news["band"], news["complete"]) == (5, "medium", True)
    assert news["missing"] == []
    parts = {p["parameter"]: (p["value"], p["points"]) for p in news["parts"]}
    assert parts["respiratory_rate"] == (22, 2)
    assert parts["on_oxygen"] == (False, 0)
    assert parts["consciousness"] == ("A", 0)
    assert {p["label"] for p in news["parts"]} >= {"Pulse", "Air or oxygen", "Temperature"}

    # The ward gets the same object on each session.
    summary = as_nurse.get(f"/api/sessions/{session['id']}").json()
    assert summary["news2"]["score"] == 5
    tiles = as_nurse.get("/api/sessions", params={"limit": 500}).json()
    assert [t["news2"]["score"] for t in tiles if t["id"] == session["id"]] == [5]


def test_an_incomplete_set_has_no_score_and_names_what_is_missing(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    record(as_nurse, session["id"], heart_rate=80, spo2=97, systolic=120, diastolic=80)
    record(as_nurse, session["id"], respiratory_rate=14, taken_at=minutes_ago(45))

    news = news2_of(as_nurse, session["id"])
    assert (news["score"], news["band"], news["complete"]) == (None, None, False)
    missing = {m["parameter"]: m["reason"] for m in news["missing"]}
    assert missing == {
        "respiratory_rate": "older than 30 min",
        "on_oxygen": "not recorded",
        "consciousness": "not recorded",
        "temperature": "not recorded",
    }
    assert {p["parameter"] for p in news["parts"]} == {"spo2", "systolic", "heart_rate"}


def test_the_latest_value_counts_and_a_later_set_changes_the_score(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    record(as_nurse, session["id"], **COMPLETE)
    record(as_nurse, session["id"], consciousness="V", on_oxygen=True)
    news = news2_of(as_nurse, session["id"])
    assert (news["score"], news["band"]) == (10, "high")


def test_scale_2_is_chosen_per_session(as_nurse: TestClient) -> None:
    session = new_session(as_nurse, spo2_scale=2)
    assert session["spo2_scale"] == 2
    record(as_nurse, session["id"], **{**COMPLETE, "spo2": 90})  # 88–92: 0 on scale 2
    news = news2_of(as_nurse, session["id"])
    assert news["spo2_scale"] == 2
    assert {p["parameter"]: p["points"] for p in news["parts"]}["spo2"] == 0


def test_an_invalid_scale_is_refused_by_field(as_nurse: TestClient) -> None:
    patient = as_nurse.post(
        "/api/patients", json={"clinic_id": "SCALE-3", "display_name": "Scale Three"}
    ).json()
    response = as_nurse.post(
        "/api/sessions",
        json={
            "patient_id": patient["id"],
            "chair": "Scale",
            "drug": "ketamine",
            "route": "iv",
            "spo2_scale": 3,
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "spo2_scale"]


def test_an_ended_session_is_scored_as_it_stood_when_it_ended(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    record(as_nurse, session["id"], **COMPLETE)
    ended = move(as_nurse, session["id"], "infusing", "recovery", "discharged")
    news = news2_of(as_nurse, session["id"])
    assert news["as_of"] == ended["ended_at"]
    assert news["score"] == 5


def test_news2_of_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    assert as_nurse.get("/api/sessions/999999/news2").status_code == 404


def test_news2_needs_a_sign_in(client: TestClient) -> None:
    assert client.get("/api/sessions/1/news2").status_code == 401
