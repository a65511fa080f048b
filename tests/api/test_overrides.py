"""Overrides name a clinician from the accounts, with a reason: who may decide (the clinicians
list), what a real session accepts as the decider, and what a simulated one accepts."""

from collections.abc import Callable
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from tests.api.alert_support import bp
from tests.api.support import error_at, new_token, unique
from tests.helpers import new_session

PASSWORD = "a long enough password"
START_TICKS = {"consent": True, "identity": True, "iv_line": True}


def account(admin: TestClient, role: str, display_name: str) -> dict[str, Any]:
    response = admin.post(
        "/api/users",
        json={
            "username": unique(role),
            "password": PASSWORD,
            "role": role,
            "display_name": display_name,
        },
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def start(client: TestClient, session_id: int, **body: Any) -> httpx2.Response:
    return client.post(
        f"/api/sessions/{session_id}/phase",
        json={"phase": "infusing", "checklist": START_TICKS, **body},
    )


def above_the_gate(client: TestClient, **fields: Any) -> dict[str, Any]:
    session = new_session(client, **fields)
    bp(client, session["id"], 162, diastolic=96)
    return session


def test_the_clinicians_are_the_active_nurses_and_admins_by_name(
    as_admin: TestClient,
    as_staff: TestClient,
    as_trainer: TestClient,
    bearer: Callable[[str], TestClient],
) -> None:
    nurse = account(as_admin, "nurse", "Aaron Abbott RN")
    lead = account(as_admin, "admin", "Dr Aardvark (medical lead)")
    staff = account(as_admin, "staff", "Aaron Front Desk")
    gone = account(as_admin, "nurse", "Aaron Left")
    disabled = as_admin.patch(f"/api/users/{gone['id']}", json={"is_active": False})
    assert disabled.status_code == 200, disabled.text

    token = bearer(new_token(as_admin, "staff")["token"])
    for client in (as_staff, as_trainer, token):  # anyone signed in, browser or token
        response = client.get("/api/users/clinicians")
        assert response.status_code == 200, response.text
        listed = response.json()
        names = [c["display_name"] for c in listed]
        assert names == sorted(names)
        by_username = {c["username"]: c for c in listed}
        assert by_username[nurse["username"]] == {
            "username": nurse["username"],
            "display_name": "Aaron Abbott RN",
            "role": "nurse",
        }
        assert by_username[lead["username"]]["role"] == "admin"
        assert {"test-nurse", "test-admin"} <= by_username.keys()
        for absent in (staff, gone):
            assert absent["username"] not in by_username
        assert not {"test-staff", "test-trainer"} & by_username.keys()
    assert TestClient(as_admin.app).get("/api/users/clinicians").status_code == 401


def test_on_a_real_session_the_decider_must_be_an_active_clinicians_account(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    session = above_the_gate(as_nurse)
    gone = account(as_admin, "nurse", "Left Last Week")
    as_admin.patch(f"/api/users/{gone['id']}", json={"is_active": False})
    for who in ("Dr Shah", "test-staff", "test-trainer", gone["username"]):
        refused = start(as_nurse, session["id"], override_gate={"by": who, "reason": "reviewed"})
        error = error_at(refused, "body", "override_gate", "by")
        assert "active nurse or admin account" in error["msg"], who
    for missing in (
        {"by": "test-nurse"},
        {"reason": "reviewed"},
        {"by": "test-nurse", "reason": ""},
    ):
        refused = start(as_nurse, session["id"], override_gate=missing)
        assert refused.status_code == 422, refused.text
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"

    lead = account(as_admin, "admin", "Dr Priya Shah")
    reason = "Usual BP 160/95 at home; reviewed, go ahead"
    started = start(
        as_nurse, session["id"], override_gate={"by": lead["username"], "reason": reason}
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["gate_override_by"], body["gate_override_username"]) == (
        "Dr Priya Shah",
        lead["username"],
    )
    assert (body["gate_override_reason"], body["gate_override_entered_by"]) == (
        reason,
        "test-nurse",
    )

    # The printed record names the decider, the reason and who entered it.
    report = as_nurse.get(f"/api/sessions/{session['id']}/report").text
    assert f"decided by Dr Priya Shah ({lead['username']}), because: {reason}" in report
    assert "entered by test-nurse" in report
    assert "Pre-dose gate overridden" in report
    assert "yes, flagged" in report  # the baseline above the gate, and the overridden gate


def test_on_a_simulated_session_any_name_decides(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    # Trainers role-play, and a scenario cannot know the clinic's accounts.
    session = above_the_gate(as_trainer, simulated=True)
    decided = {"by": "Dr A. Example", "reason": "role-play: the prescriber agrees"}
    started = start(as_nurse, session["id"], override_gate=decided)
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["gate_override_by"], body["gate_override_username"]) == ("Dr A. Example", None)
    kept = body["phase_changes"][-1]["checklist"]["gate_override"]
    assert (kept["by"], kept["username"], kept["recorded_by"]) == (
        "Dr A. Example",
        None,
        "test-nurse",
    )
