"""The protocol rules the record shows hold for every client: a device or script with an API
token that confirms no checklist is held to them exactly as a nurse's browser is."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.readings.models import Reading
from backend.sessions.models import InfusionSession, PhaseChange
from tests.api.alert_support import acknowledged, bp, default_limits, open_alarms_of, the_alarm
from tests.api.support import error_at, message, new_token, observe_briefly, unique
from tests.helpers import new_session

Body = dict[str, Any]


@pytest.fixture
def gateway(as_admin: TestClient, bearer: Callable[[str], TestClient]) -> TestClient:
    """A machine client with a nurse's token: it sends no checklist."""
    return bearer(new_token(as_admin, "nurse")["token"])


def phase(client: TestClient, session_id: int, target: str, **body: Any) -> httpx2.Response:
    return client.post(f"/api/sessions/{session_id}/phase", json={"phase": target, **body})


def changed(client: TestClient, session_id: int, target: str, **body: Any) -> Body:
    response = phase(client, session_id, target, **body)
    assert response.status_code == 200, response.text
    session: Body = response.json()
    return session


def kept_items(session: Body) -> dict[str, Body]:
    return {i["key"]: i for i in session["phase_changes"][-1]["checklist"]["items"]}


def begun_ago(client: TestClient, session_id: int, minutes: float) -> None:
    """As if the session had begun `minutes` earlier: its start, phase changes and readings
    all move back together (tests cannot wait two hours)."""
    by = timedelta(minutes=minutes)
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.unit_of_work(write=True) as db:
        session = db.get(InfusionSession, session_id)
        session.created_at -= by
        session.phase_changed_at -= by
        for change in db.scalars(select(PhaseChange).where(PhaseChange.session_id == session_id)):
            change.at -= by
        for reading in db.scalars(select(Reading).where(Reading.session_id == session_id)):
            reading.taken_at -= by


def in_recovery(client: TestClient, **fields: Any) -> Body:
    session = new_session(client, **fields)
    bp(client, session["id"], 124, diastolic=80)
    changed(client, session["id"], "infusing")
    return changed(client, session["id"], "recovery")


def test_a_token_client_without_a_checklist_cannot_start_the_infusion_without_a_bp(
    gateway: TestClient,
) -> None:
    session = new_session(gateway)
    response = phase(gateway, session["id"], "infusing")
    assert response.status_code == 409, response.text
    assert message(response).startswith("Cannot start the infusion yet. Not met: ")
    assert "Baseline blood pressure (last 30 min) (none recorded)" in message(response)
    assert gateway.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"

    bp(gateway, session["id"], 128, diastolic=82)
    started = changed(gateway, session["id"], "infusing")
    record = started["phase_changes"][-1]["checklist"]
    assert record["confirmed"] is False  # the manual items were not asked of it
    assert kept_items(started)["baseline_bp"]["met"] is True


def test_a_token_client_cannot_dose_over_the_gate_without_a_named_override(
    gateway: TestClient,
) -> None:
    session = new_session(gateway)
    bp(gateway, session["id"], 156, diastolic=92)
    response = phase(gateway, session["id"], "infusing")
    assert response.status_code == 409, response.text
    assert "Pre-dose gate passed or overridden" in message(response)
    # The old boolean: false is no override, true no longer says who decides or why.
    assert phase(gateway, session["id"], "infusing", override_gate=False).status_code == 409
    blank = phase(gateway, session["id"], "infusing", override_gate=True)
    assert "who decides and why" in error_at(blank, "body", "override_gate")["msg"]
    decided = {"by": "test-nurse", "reason": "reviewed by the prescriber"}
    started = changed(gateway, session["id"], "infusing", override_gate=decided)
    assert (started["gate_override_by"], started["gate_override_reason"]) == (
        "test-nurse",
        "reviewed by the prescriber",
    )
    assert started["gate_override_entered_by"].startswith("token:")


def test_esketamine_is_not_discharged_at_90_minutes_and_no_profile_can_shorten_it(
    gateway: TestClient, as_admin: TestClient
) -> None:
    limits = default_limits(as_admin)
    limits["discharge"] = {**limits["discharge"], "esketamine_min_observation_min": 60}
    refused = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Spravato short"), "limits": limits}
    )
    error = error_at(refused, "body", "limits", "discharge", "esketamine_min_observation_min")
    assert "120" in error["msg"]

    session = in_recovery(gateway, drug="esketamine", route="intranasal")
    begun_ago(gateway, session["id"], 90)
    bp(gateway, session["id"], 122, diastolic=78)
    response = phase(gateway, session["id"], "discharged")
    assert response.status_code == 409, response.text
    assert "Observed at least 120 min since dosing ended (90 of 120 min observed" in message(
        response
    )

    # Ketamine's own minimum (60 min by default) is met by the same 90 minutes.
    ketamine = in_recovery(gateway)
    begun_ago(gateway, ketamine["id"], 90)
    bp(gateway, ketamine["id"], 122, diastolic=78, consciousness="A", sedation=5)
    assert changed(gateway, ketamine["id"], "discharged")["phase"] == "discharged"


def test_a_token_client_cannot_discharge_without_a_recent_bp(gateway: TestClient) -> None:
    session = in_recovery(gateway)
    begun_ago(gateway, session["id"], 70)
    response = phase(gateway, session["id"], "discharged")
    assert response.status_code == 409, response.text
    assert "Blood pressure in the last 15 min (last 124/80" in message(response)


def test_an_open_high_alarm_blocks_discharge_unless_a_named_clinician_overrides_it(
    gateway: TestClient, as_nurse: TestClient, as_admin: TestClient
) -> None:
    clinician = as_admin.post(
        "/api/users",
        json={
            "username": unique("jbloggs"),
            "password": "a long enough password",
            "role": "nurse",
            "display_name": "Jo Bloggs RN",
        },
    ).json()
    session = in_recovery(gateway)
    observe_briefly(gateway, session["id"])
    # Systolic above 180: high priority. The patient is alert, so only the alarm stands.
    bp(gateway, session["id"], 190, diastolic=96, consciousness="A", sedation=5)
    alarm = the_alarm(gateway, session["id"], "systolic.above")
    assert alarm["priority"] == "high"

    response = phase(gateway, session["id"], "discharged")
    assert response.status_code == 409, response.text
    assert "No open high-priority alarm (or overridden by name) (1 open: " in message(response)
    assert "acknowledge them, or a clinician must override with a reason" in message(response)
    assert "override_alarms" not in message(response)
    # Acknowledged while still present, it is still open: a person must say why it may wait.
    acknowledged(as_nurse, alarm["id"], "BP repeated, patient comfortable")
    assert phase(gateway, session["id"], "discharged").status_code == 409
    # The browser's way (a checklist) is held to it too.
    ticks = {"oriented": True, "companion": True, "instructions": True}
    assert phase(as_nurse, session["id"], "discharged", checklist=ticks).status_code == 409

    nameless = phase(gateway, session["id"], "discharged", override_alarms={"reason": "fine"})
    error_at(nameless, "body", "override_alarms", "by")
    reasonless = phase(
        gateway, session["id"], "discharged", override_alarms={"by": "Jo", "reason": " "}
    )
    error_at(reasonless, "body", "override_alarms", "reason")

    # On a real session the decider is a clinician's account, not a typed name.
    typed = {"by": "Jo Bloggs RN", "reason": "reviewed by Dr Shah; BP falling on repeat"}
    unknown = phase(gateway, session["id"], "discharged", override_alarms=typed)
    assert (
        "active nurse or admin account" in error_at(unknown, "body", "override_alarms", "by")["msg"]
    )

    override = {**typed, "by": clinician["username"]}
    ended = changed(gateway, session["id"], "discharged", override_alarms=override)
    record = ended["phase_changes"][-1]["checklist"]
    assert record["alarm_override"]["by"] == "Jo Bloggs RN"
    assert record["alarm_override"]["username"] == clinician["username"]
    assert record["alarm_override"]["reason"] == override["reason"]
    assert record["alarm_override"]["recorded_by"].startswith("token:")
    assert len(record["alarm_override"]["alarms"]) == 1
    item = kept_items(ended)["no_open_high_alarm"]
    assert (item["met"], item["attention"]) == (True, True)
    assert item["detail"].endswith(f"overridden by Jo Bloggs RN: {override['reason']}")
    assert open_alarms_of(gateway, session["id"]) == []  # the session took them with it

    # The session record (the printable report) shows who overrode and why.
    report = as_nurse.get(f"/api/sessions/{session['id']}/report")
    assert report.status_code == 200, report.text
    assert "overridden by Jo Bloggs RN: reviewed by Dr Shah" in report.text
    assert (
        f"Discharged with high-priority alarms open: decided by Jo Bloggs RN "
        f"({clinician['username']}), because: reviewed by Dr Shah"
    ) in report.text
