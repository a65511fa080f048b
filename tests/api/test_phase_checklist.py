"""Phase changes go through the protocol checklist: judged at the time of the change, refused
with the unmet items named, and kept on the phase change as it was confirmed."""

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from fastapi.testclient import TestClient

from tests.api.alert_support import bp, default_limits, new_profile, record
from tests.api.support import error_at, iso, message, parse_time, unique
from tests.helpers import new_session

START_TICKS = {"consent": True, "identity": True, "iv_line": True}
DISCHARGE_TICKS = {"oriented": True, "companion": True, "instructions": True}


def phase(client: TestClient, session_id: int, target: str, **body: Any) -> httpx2.Response:
    return client.post(f"/api/sessions/{session_id}/phase", json={"phase": target, **body})


def changed(client: TestClient, session_id: int, target: str, **body: Any) -> dict[str, Any]:
    response = phase(client, session_id, target, **body)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def checklist(client: TestClient, session_id: int, to: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/checklist", params={"to": to, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def items(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in body["items"]}


def in_recovery(client: TestClient, **fields: Any) -> dict[str, Any]:
    """A session whose infusion started and ended now, a blood pressure just taken."""
    session = new_session(client, **fields)
    bp(client, session["id"], 122, diastolic=78)
    changed(
        client, session["id"], "infusing", checklist=all_ticked(client, session["id"], "infusing")
    )
    return changed(client, session["id"], "recovery", checklist={"dose_complete": True})


def all_ticked(client: TestClient, session_id: int, to: str) -> dict[str, bool]:
    body = checklist(client, session_id, to)
    return {key: True for key, item in items(body).items() if item["kind"] == "manual"}


def profile_with(admin: TestClient, **discharge: float | bool) -> dict[str, Any]:
    limits = default_limits(admin)
    limits["discharge"] = {**limits["discharge"], **discharge}
    return new_profile(admin, limits)


def test_the_checklist_of_starting_judges_the_record_and_lists_what_to_tick(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    before = checklist(as_nurse, session["id"], "infusing")
    assert (before["transition"], before["ready"], before["reason_required"]) == (
        "start",
        False,
        False,
    )
    baseline = items(before)["baseline_bp"]
    assert (baseline["kind"], baseline["required"], baseline["met"]) == ("auto", True, False)
    assert baseline["detail"] == "none recorded"
    manual = {k for k, item in items(before).items() if item["kind"] == "manual"}
    assert manual == set(START_TICKS)

    bp(as_nurse, session["id"], 128, diastolic=82, spo2=98)
    after = checklist(as_nurse, session["id"], "infusing", tz="Asia/Kolkata")
    assert after["ready"] is True
    assert items(after)["baseline_bp"]["met"] is True
    (reading,) = as_nurse.get(f"/api/sessions/{session['id']}/readings").json()["items"]
    local = parse_time(reading["taken_at"]).astimezone(ZoneInfo("Asia/Kolkata"))
    assert items(after)["baseline_bp"]["detail"] == f"recorded 128/82 at {local:%H:%M}"
    assert items(after)["baseline_bp"]["attention"] is False


def test_starting_without_a_baseline_pressure_is_refused_naming_the_item(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    response = phase(as_nurse, session["id"], "infusing", checklist=START_TICKS)
    assert response.status_code == 409, response.text
    assert message(response).startswith("Cannot start the infusion yet. Not met: ")
    assert "Baseline blood pressure (last 30 min) (none recorded)" in message(response)
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"


def test_unticked_manual_items_are_refused_by_label(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    bp(as_nurse, session["id"], 120)
    response = phase(as_nurse, session["id"], "infusing", checklist={"consent": True})
    assert response.status_code == 409, response.text
    assert message(response) == (
        "Cannot start the infusion yet. "
        "Not confirmed: Patient identity checked; IV line (cannula) checked"
    )


def test_a_tick_for_an_item_the_checklist_does_not_have_is_422(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    bp(as_nurse, session["id"], 120)
    response = phase(
        as_nurse, session["id"], "infusing", checklist={**START_TICKS, "companion": True}
    )
    assert "companion" in error_at(response, "body", "checklist")["msg"]


def test_a_confirmed_change_keeps_its_checklist_with_who_and_when(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    bp(as_nurse, session["id"], 126, diastolic=84)
    stored = changed(as_nurse, session["id"], "infusing", checklist=START_TICKS, note="left arm")
    change = stored["phase_changes"][-1]
    record = change["checklist"]
    assert record["confirmed"] is True
    assert record["by"] == change["by"] == "test-nurse"
    assert parse_time(record["recorded_at"]) == parse_time(change["recorded_at"])
    kept = {item["key"]: item for item in record["items"]}
    assert kept["baseline_bp"]["met"] is True and kept["baseline_bp"]["detail"].startswith(
        "recorded 126/84"
    )
    assert kept["pre_dose_gate"]["met"] is True
    assert kept["baseline_spo2"] == {**kept["baseline_spo2"], "met": False, "required": False}
    assert all(kept[key]["met"] is True for key in START_TICKS)
    # The session as read later carries it too.
    read = as_nurse.get(f"/api/sessions/{session['id']}").json()
    assert read["phase_changes"][-1]["checklist"] == record


def test_going_ahead_over_the_gate_names_the_clinician_and_why(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    taken = record(as_nurse, session["id"], systolic=152, diastolic=88)
    held = phase(as_nurse, session["id"], "infusing", checklist=START_TICKS)
    assert held.status_code == 409
    assert "to start anyway, a clinician must override with a reason" in message(held)
    assert "override_gate" not in message(held)
    judged = items(checklist(as_nurse, session["id"], "infusing", tz="UTC"))
    gate = judged["pre_dose_gate"]
    assert gate["met"] is False and "systolic 152 > 140" in gate["detail"]
    # Recorded, but above the gate: never a plain tick.
    at = parse_time(taken["taken_at"])
    assert (judged["baseline_bp"]["met"], judged["baseline_bp"]["attention"]) == (True, True)
    assert judged["baseline_bp"]["detail"] == (
        f"recorded 152/88 at {at:%H:%M}, above the 140/90 gate "
        "(no date of birth recorded: the profile's default gate)"
    )

    decided = {"by": "test-nurse", "reason": "usual BP at home 150/85; Dr Shah agrees"}
    stored = changed(
        as_nurse, session["id"], "infusing", checklist=START_TICKS, override_gate=decided
    )
    change = stored["phase_changes"][-1]
    kept = {i["key"]: i for i in change["checklist"]["items"]}
    assert (kept["pre_dose_gate"]["met"], kept["pre_dose_gate"]["attention"]) == (True, True)
    assert kept["pre_dose_gate"]["detail"].endswith(
        "; overridden by test-nurse: usual BP at home 150/85; Dr Shah agrees"
    )
    assert change["checklist"]["gate_override"] == {
        "by": "test-nurse",
        "username": "test-nurse",
        "reason": decided["reason"],
        "recorded_by": "test-nurse",
        "advice": "Baseline blood pressure above the pre-dose gate: systolic 152 > 140 "
        "(no date of birth recorded: the profile's default gate)",
    }
    assert (
        stored["gate_override_by"],
        stored["gate_override_username"],
        stored["gate_override_reason"],
        stored["gate_override_entered_by"],
    ) == ("test-nurse", "test-nurse", decided["reason"], "test-nurse")


def test_discharge_before_the_minimum_observation_is_refused_saying_from_when(
    as_nurse: TestClient,
) -> None:
    session = in_recovery(as_nurse)
    seen_alert(as_nurse, session["id"])  # only the time stands in the way
    ended = parse_time(session["phase_changes"][-1]["at"])
    body = checklist(as_nurse, session["id"], "discharged", tz="UTC")
    observation = items(body)["min_observation"]
    due = ended + timedelta(minutes=60)
    assert observation["label"] == "Observed at least 60 min since dosing ended"
    assert observation["met"] is False
    assert parse_time(observation["due_at"]) == due == parse_time(body["ready_at"])
    assert observation["detail"] == f"0 of 60 min observed; possible from {due:%H:%M}"

    response = phase(as_nurse, session["id"], "discharged", checklist=DISCHARGE_TICKS)
    assert response.status_code == 409, response.text
    assert "Not met: Observed at least 60 min since dosing ended" in message(response)
    assert f"possible from {due:%H:%M}" in message(response)  # the clinic's zone: UTC here


def test_esketamine_is_observed_for_its_own_minimum(as_nurse: TestClient) -> None:
    session = in_recovery(as_nurse, drug="esketamine", route="intranasal")
    observation = items(checklist(as_nurse, session["id"], "discharged"))["min_observation"]
    assert observation["label"] == "Observed at least 120 min since dosing ended"


def test_discharge_once_observed_long_enough_stores_the_checklist(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    profile = profile_with(as_admin, min_observation_min=1)
    session = in_recovery(as_nurse, limit_profile_id=profile["id"])
    ended = parse_time(session["phase_changes"][-1]["at"])
    response = phase(as_nurse, session["id"], "discharged", checklist={"oriented": True})
    assert response.status_code == 409, response.text
    assert "Not confirmed: Companion present" in message(response)

    # Recorded as a minute after the end (ahead of the clock, within its tolerance).
    at = ended + timedelta(seconds=61)
    seen_alert(as_nurse, session["id"])
    stored = changed(as_nurse, session["id"], "discharged", checklist=DISCHARGE_TICKS, at=iso(at))
    assert parse_time(stored["ended_at"]) == at
    kept = {i["key"]: i for i in stored["phase_changes"][-1]["checklist"]["items"]}
    assert kept["min_observation"]["met"] is True
    assert kept["min_observation"]["detail"] == "1 min observed (minimum 1)"
    assert (kept["alert"]["met"], kept["alert"]["detail"]) == (True, "ACVPU A, MOAA/S 5")


def seen_alert(client: TestClient, session_id: int, letter: str = "A", level: int = 5) -> None:
    response = client.post(
        f"/api/sessions/{session_id}/readings", json={"consciousness": letter, "sedation": level}
    )
    assert response.status_code == 201, response.text


def test_no_one_is_discharged_before_being_seen_alert_in_recovery(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    # Nothing recorded since dosing ended blocks, for a nurse and for a client that ticks
    # nothing alike; each of ACVPU and MOAA/S is named when missing.
    profile = profile_with(as_admin, min_observation_min=1)
    session = in_recovery(as_nurse, limit_profile_id=profile["id"])
    at = iso(parse_time(session["phase_changes"][-1]["at"]) + timedelta(seconds=61))
    bp(as_nurse, session["id"], 118, diastolic=76)
    alert = items(checklist(as_nurse, session["id"], "discharged"))["alert"]
    assert (alert["required"], alert["met"]) == (True, False)
    for body in ({"checklist": DISCHARGE_TICKS}, {}):
        refused = phase(as_nurse, session["id"], "discharged", at=at, **body)
        assert refused.status_code == 409, refused.text
        assert (
            "Alert (ACVPU A) and MOAA/S 5 since dosing ended (no ACVPU recorded since dosing "
            "ended; no MOAA/S recorded since dosing ended)"
        ) in message(refused)
    seen_alert(as_nurse, session["id"], "A", 4)
    refused = phase(as_nurse, session["id"], "discharged", at=at)
    assert refused.status_code == 409 and "(last MOAA/S is 4, not 5)" in message(refused)
    seen_alert(as_nurse, session["id"])
    assert changed(as_nurse, session["id"], "discharged", at=at)["phase"] == "discharged"


def test_alertness_before_discharge_is_asked_for_by_the_profile(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    # A profile that judges fitness to leave otherwise keeps the item as information only.
    profile = profile_with(as_admin, min_observation_min=1, require_alertness=False)
    assert profile["limits"]["discharge"]["require_alertness"] is False
    session = in_recovery(as_nurse, limit_profile_id=profile["id"])
    at = iso(parse_time(session["phase_changes"][-1]["at"]) + timedelta(seconds=61))
    bp(as_nurse, session["id"], 118, diastolic=76, sedation=4)
    alert = items(checklist(as_nurse, session["id"], "discharged", at=at))["alert"]
    assert (alert["required"], alert["met"]) == (False, False)
    assert changed(as_nurse, session["id"], "discharged", at=at)["phase"] == "discharged"

    limits = default_limits(as_admin)
    limits["discharge"]["require_alertness"] = "sometimes"
    response = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
    )
    error_at(response, "body", "limits", "discharge", "require_alertness")


def test_a_drowsy_patient_is_not_discharged(as_nurse: TestClient, as_admin: TestClient) -> None:
    profile = profile_with(as_admin, min_observation_min=1)
    session = in_recovery(as_nurse, limit_profile_id=profile["id"])
    bp(as_nurse, session["id"], 118, diastolic=76, sedation=4)
    at = parse_time(session["phase_changes"][-1]["at"]) + timedelta(seconds=61)
    response = phase(as_nurse, session["id"], "discharged", checklist=DISCHARGE_TICKS, at=iso(at))
    assert response.status_code == 409, response.text
    assert (
        "Alert (ACVPU A) and MOAA/S 5 since dosing ended "
        "(no ACVPU recorded since dosing ended; last MOAA/S is 4, not 5)"
    ) in message(response)


def test_the_checklist_is_judged_at_the_time_the_change_is_set_back_to(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    created = parse_time(session["created_at"])
    bp(as_nurse, session["id"], 124)  # taken now: after the moment the start is set back to
    back = created + timedelta(milliseconds=1)
    response = phase(as_nurse, session["id"], "infusing", checklist=START_TICKS, at=iso(back))
    assert response.status_code == 409, response.text
    assert "Baseline blood pressure (last 30 min) (none recorded)" in message(response)

    bp(as_nurse, session["id"], 130, taken_at=iso(created - timedelta(minutes=10)))
    stored = changed(as_nurse, session["id"], "infusing", checklist=START_TICKS, at=iso(back))
    change = stored["phase_changes"][-1]
    assert parse_time(change["at"]) == back < parse_time(change["recorded_at"])
    kept = {i["key"]: i for i in change["checklist"]["items"]}
    assert kept["baseline_bp"]["detail"].startswith("recorded 130/80")


def test_the_gate_of_a_start_set_back_reads_the_pressure_of_that_time_not_a_later_one(
    as_nurse: TestClient,
) -> None:
    """A nurse who forgot to press Start sets it back to when dosing began: the 150/95 taken
    since (dosing raises it) is not the baseline the gate judges."""
    session = new_session(as_nurse)
    created = parse_time(session["created_at"])
    bp(as_nurse, session["id"], 128, 82, taken_at=iso(created - timedelta(minutes=10)))
    bp(as_nurse, session["id"], 150, 95)  # taken now, after the moment set back to
    back = created + timedelta(milliseconds=1)
    judged = items(checklist(as_nurse, session["id"], "infusing", at=iso(back), tz="UTC"))
    assert judged["pre_dose_gate"]["met"] is True, judged["pre_dose_gate"]
    stored = changed(as_nurse, session["id"], "infusing", checklist=START_TICKS, at=iso(back))
    assert stored["phase"] == "infusing"
    assert stored.get("gate_override_by") is None


def test_stopping_early_needs_a_reason(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    for missing in ({}, {"note": "   "}):
        response = phase(as_nurse, session["id"], "stopped", **missing)
        assert "reason" in error_at(response, "body", "note")["msg"]
    stop = checklist(as_nurse, session["id"], "stopped")
    assert stop["reason_required"] is True and stop["transition"] == "stop"

    stored = changed(
        as_nurse, session["id"], "stopped", note="patient unwell before dosing", checklist={}
    )
    assert stored["phase"] == "stopped"
    assert stored["phase_changes"][-1]["note"] == "patient unwell before dosing"


def test_stopping_an_infusion_early_asks_only_that_the_pump_is_stopped(
    as_nurse: TestClient,
) -> None:
    session = new_session(as_nurse)
    bp(as_nurse, session["id"], 120)
    changed(as_nurse, session["id"], "infusing", checklist=START_TICKS)
    response = phase(as_nurse, session["id"], "stopped", note="nausea", checklist={})
    assert response.status_code == 409, response.text
    assert message(response) == "Cannot stop early yet. Not confirmed: Infusion pump stopped"
    changed(as_nurse, session["id"], "stopped", note="nausea", checklist={"dosing_stopped": True})


def test_a_client_that_sends_no_checklist_is_held_to_the_record_and_kept_unconfirmed(
    as_nurse: TestClient,
) -> None:
    # Devices and scenario timelines move phases without a nurse at the chair: nobody asks them
    # to tick the manual items, but what the record shows (a baseline BP here) holds for them too.
    session = new_session(as_nurse)
    held = phase(as_nurse, session["id"], "infusing")
    assert held.status_code == 409, held.text
    assert "Baseline blood pressure (last 30 min) (none recorded)" in message(held)
    assert "Not confirmed" not in message(held)
    bp(as_nurse, session["id"], 126, diastolic=84)
    stored = changed(as_nurse, session["id"], "infusing")
    record = stored["phase_changes"][-1]["checklist"]
    assert record["confirmed"] is False
    kept = {i["key"]: i["met"] for i in record["items"]}
    assert kept["baseline_bp"] is True and kept["consent"] is False


def test_a_checklist_for_a_change_that_is_not_allowed_is_409(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    response = as_nurse.get(f"/api/sessions/{session['id']}/checklist", params={"to": "discharged"})
    assert response.status_code == 409, response.text
    assert "cannot go from baseline to discharged" in message(response)
    unknown = as_nurse.get(
        f"/api/sessions/{session['id']}/checklist", params={"to": "infusing", "tz": "Mars/Base"}
    )
    assert unknown.status_code == 422, unknown.text


def test_the_discharge_minimum_is_part_of_a_profile_and_validated(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    assert limits["discharge"] == {
        "min_observation_min": 60,
        "esketamine_min_observation_min": 120,
        "require_alertness": True,
    }

    profile = profile_with(as_admin, esketamine_min_observation_min=150)
    assert profile["limits"]["discharge"]["esketamine_min_observation_min"] == 150
    changed_limits = {**profile["limits"], "discharge": {"min_observation_min": 90}}
    response = as_admin.put(
        f"/api/limits/profiles/{profile['id']}",
        json={"name": profile["name"], "limits": changed_limits},
    )
    assert response.status_code == 200, response.text
    assert response.json()["limits"]["discharge"] == {
        "min_observation_min": 90,
        "esketamine_min_observation_min": 120,  # left out: the default
        "require_alertness": True,
    }

    for bad in (0, -5, 1000, "soon"):
        limits["discharge"]["min_observation_min"] = bad
        response = as_admin.post(
            "/api/limits/profiles", json={"name": unique("Protocol"), "limits": limits}
        )
        error_at(response, "body", "limits", "discharge", "min_observation_min")


def test_alertness_counts_only_as_observed_after_dosing_ended(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    # Alert at the baseline says nothing about fitness to leave.
    record = as_nurse.post(
        f"/api/sessions/{session['id']}/readings", json={"consciousness": "A", "sedation": 5}
    )
    assert record.status_code == 201, record.text
    bp(as_nurse, session["id"], 122, diastolic=78)
    changed(
        as_nurse,
        session["id"],
        "infusing",
        checklist=all_ticked(as_nurse, session["id"], "infusing"),
    )
    changed(as_nurse, session["id"], "recovery", checklist={"dose_complete": True})
    alert = items(checklist(as_nurse, session["id"], "discharged"))["alert"]
    assert (alert["met"], alert["detail"]) == (
        False,
        "no ACVPU recorded since dosing ended; no MOAA/S recorded since dosing ended",
    )
