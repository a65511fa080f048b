"""Limits in layers: the clinic default, named profiles (admins), a session's own overrides
(nurses), validation of what is entered, and the record of every change."""

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.alert_support import (
    alarm_session,
    alarms_of,
    bp,
    default_limits,
    limits_of,
    new_profile,
    put_limits,
    session_with_limits,
    set_limits,
    the_alarm,
    vital_limit,
)
from tests.api.support import (
    error_at,
    errors,
    message,
    parse_time,
    patient_id,
    session_body,
    unique,
)

SYSTOLIC_UP_TO_200 = vital_limit(above=(200, 220), below=(90, 80), hysteresis=5)


def _changes(client: TestClient, path: str) -> list[dict[str, Any]]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()
    return changes


def test_a_session_starts_on_the_clinic_default_with_the_suggested_limits(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    limits = limits_of(as_nurse, session["id"])
    assert limits["profile_name"] == "Clinic default"
    assert limits["overrides"] == {}
    infusing = limits["effective"]["phases"]["infusing"]
    assert infusing["vitals"]["systolic"]["above"] == {"medium": 160, "high": 180}
    assert infusing["vitals"]["heart_rate"]["below"] == {"medium": 50, "high": 40}
    assert infusing["vitals"]["heart_rate"]["delay_s"] == 10
    assert infusing["vitals"]["spo2"]["below"] == {"medium": 92, "high": 89}
    assert infusing["baseline_rise"]["systolic"] == 40
    assert infusing["baseline_rise"]["diastolic"] == 25
    assert infusing["no_data_after_s"] == 30
    assert infusing["bp_due_every_s"] == 600
    assert limits["effective"]["phases"]["recovery"]["bp_due_every_s"] == 900
    assert limits["effective"]["timing"]["reminder_s"] == 180
    assert limits["effective"]["timing"]["escalate_after_s"] == 120


def test_a_nurse_raising_a_sessions_systolic_limit_changes_what_alarms(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    answer = set_limits(as_nurse, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    effective = answer["effective"]["phases"]["baseline"]["vitals"]["systolic"]
    assert effective["above"] == {"medium": 200, "high": 220}
    assert answer["overrides"]["baseline"]["systolic"]["above"]["medium"] == 200
    # Other phases and vitals keep the profile's limits.
    assert answer["effective"]["phases"]["infusing"]["vitals"]["systolic"]["above"]["medium"] == 160
    assert answer["effective"]["phases"]["baseline"]["vitals"]["diastolic"]["above"]["high"] == 110

    bp(as_nurse, session["id"], 190)
    assert alarms_of(as_nurse, session["id"]) == []
    bp(as_nurse, session["id"], 205)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["priority"] == "medium"


def test_a_nurse_lowering_a_limit_makes_a_value_alarm_that_did_not(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    strict = vital_limit(above=(140, 170), below=(90, 80), hysteresis=5)
    set_limits(as_nurse, session["id"], {"baseline": {"systolic": strict}})
    bp(as_nurse, session["id"], 150)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["priority"] == "medium"


def test_every_change_of_a_sessions_limits_records_who_when_old_and_new(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    path = f"/api/sessions/{session['id']}/limits/changes"
    assert _changes(as_nurse, path) == []

    set_limits(as_nurse, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    stricter = vital_limit(above=(150, 170), below=(90, 80), hysteresis=5)
    set_limits(as_nurse, session["id"], {"baseline": {"systolic": stricter}})

    latest, first = _changes(as_nurse, path)
    assert first["changed_by"] == latest["changed_by"] == "test-nurse"
    assert first["session_id"] == session["id"]
    assert first["old"] in (None, {})
    assert first["new"]["baseline"]["systolic"]["above"]["medium"] == 200
    assert latest["old"] == first["new"]
    assert latest["new"]["baseline"]["systolic"]["above"]["medium"] == 150
    assert parse_time(latest["changed_at"]) >= parse_time(first["changed_at"])


def test_clearing_a_sessions_overrides_returns_it_to_its_profile(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    set_limits(as_nurse, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    answer = set_limits(as_nurse, session["id"], {})
    assert answer["overrides"] == {}
    assert answer["effective"]["phases"]["baseline"]["vitals"]["systolic"]["above"]["medium"] == 160
    bp(as_nurse, session["id"], 190)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["priority"] == "high"


@pytest.mark.parametrize("role", ["staff", "trainer"])
def test_only_nurses_change_a_sessions_limits(
    as_nurse: TestClient, as_staff: TestClient, as_trainer: TestClient, role: str
) -> None:
    client = {"staff": as_staff, "trainer": as_trainer}[role]
    session = alarm_session(as_nurse)
    response = put_limits(client, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    assert response.status_code == 403, response.text
    assert limits_of(as_nurse, session["id"])["overrides"] == {}
    assert _changes(as_nurse, f"/api/sessions/{session['id']}/limits/changes") == []


def test_an_admin_may_change_a_sessions_limits(as_nurse: TestClient, as_admin: TestClient) -> None:
    session = alarm_session(as_nurse)
    answer = set_limits(as_admin, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    assert answer["overrides"]["baseline"]["systolic"]["above"]["medium"] == 200


def test_a_medium_limit_beyond_the_high_one_is_422_naming_the_vital(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    inverted = vital_limit(above=(150, 140), below=(50, 40), delay_s=10)
    response = put_limits(as_nurse, session["id"], {"infusing": {"heart_rate": inverted}})
    error = error_at(response, "body", "overrides", "infusing", "heart_rate")
    assert "medium" in error["msg"] and "high" in error["msg"]
    assert limits_of(as_nurse, session["id"])["overrides"] == {}


def test_a_low_medium_limit_below_the_low_high_one_is_422(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    inverted = vital_limit(below=(85, 90))
    response = put_limits(as_nurse, session["id"], {"infusing": {"spo2": inverted}})
    error_at(response, "body", "overrides", "infusing", "spo2")


def test_a_negative_delay_is_422_naming_the_vital_and_the_delay(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    negative = vital_limit(above=(120, 140), below=(50, 40), delay_s=-1)
    response = put_limits(as_nurse, session["id"], {"infusing": {"heart_rate": negative}})
    error = error_at(response, "body", "overrides", "infusing", "heart_rate")
    assert "delay" in error["msg"]


def test_a_delay_so_long_it_switches_the_alarm_off_is_422(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    endless = vital_limit(above=(120, 140), below=(50, 40), delay_s=1e308)
    response = put_limits(as_nurse, session["id"], {"infusing": {"heart_rate": endless}})
    error = error_at(response, "body", "overrides", "infusing", "heart_rate")
    assert "delay" in error["msg"] or "delay_s" in map(str, error["loc"]), error
    assert limits_of(as_nurse, session["id"])["overrides"] == {}


def test_a_limit_for_an_unknown_vital_is_422_naming_it(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    response = put_limits(
        as_nurse, session["id"], {"infusing": {"blood_sugar": vital_limit(above=(10, 15))}}
    )
    assert response.status_code == 422, response.text
    named = [e for e in errors(response) if "blood_sugar" in (*map(str, e["loc"]), e["msg"])]
    assert named, errors(response)
    assert limits_of(as_nurse, session["id"])["overrides"] == {}


def test_limits_for_an_unknown_phase_are_422(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    response = put_limits(as_nurse, session["id"], {"dosing": {"systolic": SYSTOLIC_UP_TO_200}})
    assert response.status_code == 422, response.text
    assert any("dosing" in e["loc"] for e in errors(response))


def test_limits_of_an_unknown_session_are_404(as_nurse: TestClient) -> None:
    assert as_nurse.get("/api/sessions/987654321/limits").status_code == 404
    response = put_limits(as_nurse, 987654321, {})
    assert response.status_code == 404, response.text


# ---- profiles -----------------------------------------------------------------------------


def test_the_clinic_default_and_the_protocol_profiles_are_seeded(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/limits/profiles")
    assert response.status_code == 200, response.text
    profiles = response.json()
    assert profiles[0]["is_default"] is True
    assert profiles[0]["name"] == "Clinic default"
    assert sum(p["is_default"] for p in profiles) == 1
    assert len(profiles) >= 3


def test_only_admins_create_or_change_profiles(
    as_nurse: TestClient, as_staff: TestClient, as_admin: TestClient
) -> None:
    limits = default_limits(as_admin)
    for client in (as_nurse, as_staff):
        response = client.post(
            "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
        )
        assert response.status_code == 403, response.text
    profile = new_profile(as_admin, limits)
    response = as_nurse.put(
        f"/api/limits/profiles/{profile['id']}", json={"name": profile["name"], "limits": limits}
    )
    assert response.status_code == 403, response.text


def test_a_session_on_a_profile_alarms_by_the_profiles_limits(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    def strict(limits: dict[str, Any]) -> None:
        limits["phases"]["baseline"]["vitals"]["systolic"]["above"] = {"medium": 140, "high": 170}

    session = session_with_limits(as_admin, as_nurse, strict)
    assert session["limit_profile_id"] is not None
    limits = limits_of(as_nurse, session["id"])
    assert limits["profile_id"] == session["limit_profile_id"]
    assert limits["profile_name"].startswith("Protocol")
    bp(as_nurse, session["id"], 150)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["priority"] == "medium"


def test_a_session_override_wins_over_its_profile(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    def strict(limits: dict[str, Any]) -> None:
        limits["phases"]["baseline"]["vitals"]["systolic"]["above"] = {"medium": 140, "high": 170}

    session = session_with_limits(as_admin, as_nurse, strict)
    set_limits(as_nurse, session["id"], {"baseline": {"systolic": SYSTOLIC_UP_TO_200}})
    bp(as_nurse, session["id"], 190)
    assert alarms_of(as_nurse, session["id"]) == []


def test_an_admin_changing_a_profile_is_recorded_and_applies_to_its_sessions(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    limits = default_limits(as_admin)
    profile = new_profile(as_admin, limits)
    session = alarm_session(as_nurse, limit_profile_id=profile["id"])

    changed = default_limits(as_admin)
    changed["phases"]["baseline"]["vitals"]["systolic"]["above"] = {"medium": 195, "high": 210}
    response = as_admin.put(
        f"/api/limits/profiles/{profile['id']}", json={"name": profile["name"], "limits": changed}
    )
    assert response.status_code == 200, response.text
    assert response.json()["updated_by"] == "test-admin"

    latest, created = _changes(as_admin, f"/api/limits/profiles/{profile['id']}/changes")
    assert created["old"] is None
    assert created["changed_by"] == latest["changed_by"] == "test-admin"
    assert latest["old"] == created["new"]
    systolic = latest["new"]["phases"]["baseline"]["vitals"]["systolic"]
    assert systolic["above"]["medium"] == 195

    effective = limits_of(as_nurse, session["id"])["effective"]
    assert effective["phases"]["baseline"]["vitals"]["systolic"]["above"]["medium"] == 195
    bp(as_nurse, session["id"], 190)
    assert alarms_of(as_nurse, session["id"]) == []


def test_a_profile_with_inverted_limits_is_422(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    limits["phases"]["infusing"]["vitals"]["systolic"]["above"] = {"medium": 190, "high": 180}
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    assert response.status_code == 422, response.text
    assert any(
        e["loc"][:5] == ["body", "limits", "phases", "infusing", "vitals"] for e in errors(response)
    ), errors(response)


def test_a_profile_with_an_unknown_vital_is_422(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    limits["phases"]["infusing"]["vitals"]["blood_sugar"] = vital_limit(above=(10, 15))
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    assert response.status_code == 422, response.text
    assert "blood_sugar" in response.text


def test_two_profiles_cannot_share_a_name(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    profile = new_profile(as_admin, limits)
    response = as_admin.post(
        "/api/limits/profiles", json={"name": profile["name"], "limits": limits}
    )
    assert response.status_code == 409, response.text


def test_a_session_on_an_unknown_profile_is_422(as_nurse: TestClient) -> None:
    body = session_body(patient_id(as_nurse), limit_profile_id=987654321)
    error_at(as_nurse.post("/api/sessions", json=body), "body", "limit_profile_id")


def test_changing_an_unknown_profile_is_404(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    response = as_admin.put(
        "/api/limits/profiles/987654321", json={"name": unique("Protocol"), "limits": limits}
    )
    assert response.status_code == 404, response.text


def test_renaming_a_profile_to_a_name_in_use_is_409(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    first, second = new_profile(as_admin, limits), new_profile(as_admin, limits)
    response = as_admin.put(
        f"/api/limits/profiles/{second['id']}", json={"name": first["name"], "limits": limits}
    )
    assert response.status_code == 409, response.text
    names = {p["id"]: p["name"] for p in as_admin.get("/api/limits/profiles").json()}
    assert names[second["id"]] == second["name"]


@pytest.mark.parametrize(
    "path",
    [
        ("timing", "reminder_s"),
        ("timing", "escalate_after_s"),
        ("phases", "infusing", "no_data_after_s"),
        ("phases", "recovery", "bp_due_every_s"),
        ("phases", "infusing", "baseline_rise", "systolic"),
        ("gate", "diastolic"),
    ],
    ids=lambda path: ".".join(path),
)
def test_a_profile_with_a_negative_time_or_threshold_is_422_naming_it(
    as_admin: TestClient, path: tuple[str, ...]
) -> None:
    limits = default_limits(as_admin)
    parent = limits
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = -1
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    assert response.status_code == 422, response.text
    assert any(path[-1] in (*map(str, e["loc"]), e["msg"]) for e in errors(response)), errors(
        response
    )


def test_a_negative_limit_is_422_naming_the_bound(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    limits["phases"]["infusing"]["vitals"]["heart_rate"]["above"]["medium"] = -1
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    error = error_at(
        response, "body", "limits", "phases", "infusing", "vitals", "heart_rate", "above", "medium"
    )
    assert "greater than or equal to 0" in error["msg"]


def test_an_above_limit_at_or_under_the_below_limit_is_422_as_it_would_always_alarm(
    as_admin: TestClient,
) -> None:
    limits = default_limits(as_admin)
    limits["phases"]["baseline"]["vitals"]["heart_rate"]["above"] = {"medium": 50, "high": 140}
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    error = error_at(response, "body", "limits", "phases", "baseline", "vitals", "heart_rate")
    # Our own words, without pydantic's "Value error, " in front.
    assert error["msg"].startswith("the above limit (50) must be higher than the below limit (50)")


def test_a_save_based_on_an_older_version_is_409_and_changes_nothing(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    profile = new_profile(as_admin, limits)
    url = f"/api/limits/profiles/{profile['id']}"
    mine, theirs = copy.deepcopy(limits), copy.deepcopy(limits)
    theirs["gate"]["systolic"] = 150
    first = as_admin.put(url, json={"name": profile["name"], "limits": theirs})
    assert first.status_code == 200, first.text

    mine["gate"]["systolic"] = 130
    stale = {"name": profile["name"], "limits": mine, "based_on": profile["updated_at"]}
    response = as_admin.put(url, json=stale)
    assert response.status_code == 409, response.text
    assert "after you opened it" in message(response)
    (kept,) = [p for p in as_admin.get("/api/limits/profiles").json() if p["id"] == profile["id"]]
    assert kept["limits"]["gate"]["systolic"] == 150

    fresh = {"name": profile["name"], "limits": mine, "based_on": first.json()["updated_at"]}
    assert as_admin.put(url, json=fresh).status_code == 200


def test_a_rename_is_on_record_and_a_save_that_changes_nothing_records_nothing(
    as_admin: TestClient,
) -> None:
    limits = default_limits(as_admin)
    profile = new_profile(as_admin, limits)
    url = f"/api/limits/profiles/{profile['id']}"
    assert as_admin.put(url, json={"name": profile["name"], "limits": limits}).status_code == 200
    renamed = unique("Renamed")
    assert as_admin.put(url, json={"name": renamed, "limits": limits}).status_code == 200

    latest, created = _changes(as_admin, f"{url}/changes")
    assert (created["new"]["name"], latest["old"]["name"], latest["new"]["name"]) == (
        profile["name"],
        profile["name"],
        renamed,
    )
    assert {k: v for k, v in latest["new"].items() if k != "name"} == limits
