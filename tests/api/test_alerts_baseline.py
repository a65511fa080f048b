"""Rules that compare with the pre-dose baseline: the rise alarm and the pre-dose gate."""

from datetime import timedelta
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from tests.api.alert_support import (
    alarm_session,
    alarms_of,
    bp,
    conditions_open,
    record,
    session_with_limits,
    the_alarm,
)
from tests.api.support import message, move, parse_time


def gate_of(client: TestClient, session_id: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/gate")
    assert response.status_code == 200, response.text
    gate: dict[str, Any] = response.json()
    return gate


def start_infusion(client: TestClient, session_id: int, **body: Any) -> httpx2.Response:
    return client.post(f"/api/sessions/{session_id}/phase", json={"phase": "infusing", **body})


def test_a_rise_of_40_systolic_from_the_pre_dose_baseline_alarms(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 165, diastolic=85)

    rise = the_alarm(as_nurse, session["id"], "baseline_rise")
    assert rise["priority"] == "medium"
    assert rise["status"] == "active"
    assert "systolic up 45" in rise["message"] and "baseline 120" in rise["message"]


def test_a_rise_of_25_diastolic_alone_alarms(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 110, diastolic=60)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 125, diastolic=86)  # both within the absolute limits
    assert conditions_open(as_nurse, session["id"]) == {"baseline_rise"}
    assert "diastolic up 26" in the_alarm(as_nurse, session["id"], "baseline_rise")["message"]


def test_a_smaller_rise_does_not_alarm_and_a_later_fall_resolves_the_rise(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 100, diastolic=60)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 139, diastolic=84)  # +39 / +24
    assert alarms_of(as_nurse, session["id"]) == []

    bp(as_nurse, session["id"], 145, diastolic=70)  # +45
    assert conditions_open(as_nurse, session["id"]) == {"baseline_rise"}
    bp(as_nurse, session["id"], 120, diastolic=70)
    assert the_alarm(as_nurse, session["id"], "baseline_rise")["status"] == "resolved"


def test_the_baseline_is_the_last_pressure_before_the_infusion_started(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 140, diastolic=85)
    bp(as_nurse, session["id"], 110, diastolic=70)  # the one that counts
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 152, diastolic=75)  # +42 from 110, +12 from 140
    assert conditions_open(as_nurse, session["id"]) == {"baseline_rise"}
    bp(as_nurse, session["id"], 149, diastolic=75)  # +39: the rise clears
    assert conditions_open(as_nurse, session["id"]) == set()


def test_the_rise_rule_does_not_apply_before_dosing(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 100, diastolic=60)
    bp(as_nurse, session["id"], 150, diastolic=90)
    assert alarms_of(as_nurse, session["id"]) == []


def test_the_rise_rule_applies_in_recovery_too(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 110, diastolic=70)
    move(as_nurse, session["id"], "infusing", "recovery")
    bp(as_nurse, session["id"], 155, diastolic=70)
    assert conditions_open(as_nurse, session["id"]) == {"baseline_rise"}


def test_a_rise_in_percent_follows_the_profile(as_admin: TestClient, as_nurse: TestClient) -> None:
    def percent(limits: dict[str, Any]) -> None:
        limits["phases"]["infusing"]["baseline_rise"] = {
            "systolic": 20,
            "diastolic": None,
            "percent": True,
            "priority": 2,
        }

    session = session_with_limits(as_admin, as_nurse, percent)
    bp(as_nurse, session["id"], 100, diastolic=60)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 119, diastolic=90)  # +19 %; diastolic rise not checked
    assert alarms_of(as_nurse, session["id"]) == []
    bp(as_nurse, session["id"], 121, diastolic=60)  # +21 %
    assert conditions_open(as_nurse, session["id"]) == {"baseline_rise"}


def test_the_gate_advises_against_dosing_with_a_high_baseline(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 150, diastolic=95)
    gate = gate_of(as_nurse, session["id"])
    assert gate["advised_against"] is True
    assert gate["baseline_systolic"] == 150
    assert gate["baseline_diastolic"] == 95
    assert (gate["gate"]["systolic"], gate["gate"]["diastolic"]) == (140, 90)
    assert "systolic 150 > 140" in gate["message"]
    assert "diastolic 95 > 90" in gate["message"]


def test_the_gate_is_quiet_for_a_normal_baseline_and_before_any_pressure(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    quiet = gate_of(as_nurse, session["id"])
    assert (quiet["advised_against"], quiet["message"], quiet["baseline_systolic"]) == (
        False,
        None,
        None,
    )
    bp(as_nurse, session["id"], 140, diastolic=90)  # on the gate is not above it
    assert gate_of(as_nurse, session["id"])["advised_against"] is False
    response = start_infusion(as_nurse, session["id"])
    assert response.status_code == 200, response.text
    assert response.json()["gate_override_by"] is None


def test_starting_the_infusion_against_the_gate_is_409_with_a_readable_reason(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 150, diastolic=95)
    response = start_infusion(as_nurse, session["id"])
    assert response.status_code == 409, response.text
    reason = message(response)
    assert "pre-dose gate" in reason and "systolic 150 > 140" in reason
    assert "to start anyway, a clinician must override with a reason" in reason
    after = as_nurse.get(f"/api/sessions/{session['id']}").json()
    assert after["phase"] == "baseline"
    assert after["gate_override_by"] is None


def test_a_nurse_may_start_against_the_gate_and_the_decision_is_recorded(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 150, diastolic=95)
    decided = {"by": "test-admin", "reason": "discussed with the prescriber"}
    response = start_infusion(as_nurse, session["id"], override_gate=decided, note="discussed")
    assert response.status_code == 200, response.text
    started = response.json()
    assert started["phase"] == "infusing"
    # An admin (a clinic's medical lead) decided; the nurse entered it.
    assert started["gate_override_by"] == started["gate_override_username"] == "test-admin"
    assert started["gate_override_reason"] == "discussed with the prescriber"
    assert started["gate_override_entered_by"] == "test-nurse"
    assert parse_time(started["gate_override_at"]) >= parse_time(started["created_at"])
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["gate_override_by"] == (
        "test-admin"
    )


def test_an_override_with_nothing_to_override_records_no_decision(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    decided = {"by": "test-nurse", "reason": "just in case"}
    response = start_infusion(as_nurse, session["id"], override_gate=decided)
    assert response.status_code == 200, response.text
    assert response.json()["gate_override_by"] is None
    assert "gate_override" not in response.json()["phase_changes"][-1]["checklist"]


def test_the_gate_follows_the_profile(as_admin: TestClient, as_nurse: TestClient) -> None:
    def lenient(limits: dict[str, Any]) -> None:
        limits["gate"] = {"systolic": 160, "diastolic": 100}

    session = session_with_limits(as_admin, as_nurse, lenient)
    bp(as_nurse, session["id"], 150, diastolic=95)
    assert gate_of(as_nurse, session["id"])["advised_against"] is False
    assert start_infusion(as_nurse, session["id"]).status_code == 200


def test_the_gate_of_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    assert as_nurse.get("/api/sessions/987654321/gate").status_code == 404


# ---- issue 14 (7c): a struck baseline ---------------------------------------------------------


def _strike(client: TestClient, session_id: int, reading_id: str, reason: str) -> None:
    response = client.post(
        f"/api/sessions/{session_id}/readings/{reading_id}/entered-in-error",
        json={"reason": reason},
    )
    assert response.status_code == 200, response.text


def test_a_struck_baseline_leaves_the_rise_judged_on_the_last_valid_pre_dose_bp(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 100, diastolic=60)
    wrong = record(as_nurse, session["id"], systolic=130, diastolic=70)  # the wrong patient's
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 165, diastolic=75)  # +35 from 130: no rise alarm
    assert "baseline_rise" not in conditions_open(as_nurse, session["id"])

    _strike(as_nurse, session["id"], wrong["id"], "cuff on the wrong patient")
    rise = the_alarm(as_nurse, session["id"], "baseline_rise")
    assert rise["status"] == "active"
    assert "systolic up 65" in rise["message"] and "baseline 100" in rise["message"]
    assert gate_of(as_nurse, session["id"])["baseline_systolic"] == 100


def test_with_no_valid_baseline_left_an_advisory_says_the_rise_cannot_be_judged(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    wrong = record(as_nurse, session["id"], systolic=100, diastolic=60)  # typed for 120/80
    started = move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 155, diastolic=82)
    rise = the_alarm(as_nurse, session["id"], "baseline_rise")  # +55 from the wrong 100
    assert rise["status"] == "active"

    _strike(as_nurse, session["id"], wrong["id"], "typed 100/60 for 120/80")
    advisory = the_alarm(as_nurse, session["id"], "no_baseline")
    assert (advisory["status"], advisory["kind"], advisory["priority"]) == (
        "active",
        "advisory",
        "low",
    )
    assert advisory["message"] == (
        "No valid pre-dose blood pressure: the rise-from-baseline alarm cannot be judged"
    )
    # The rise was judged against that baseline: it no longer stands.
    assert "baseline_rise" not in conditions_open(as_nurse, session["id"])

    # The true baseline, entered afterwards with the time it was taken (before dosing began).
    (start,) = [c for c in started["phase_changes"] if c["to_phase"] == "infusing"]
    taken_at = (parse_time(start["at"]) - timedelta(minutes=2)).isoformat()
    record(as_nurse, session["id"], systolic=110, diastolic=70, taken_at=taken_at)
    assert the_alarm(as_nurse, session["id"], "no_baseline")["status"] == "resolved"
    rise = the_alarm(as_nurse, session["id"], "baseline_rise")  # 155 is +45 from 110
    assert rise["status"] == "active" and "baseline 110" in rise["message"]
