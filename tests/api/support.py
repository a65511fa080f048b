"""Small helpers for the API tests: people and machines signing in, phases, error details."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.alerts.models import LimitProfile
from backend.core.roles import Role
from backend.sessions.models import InfusionSession
from tests.helpers import Client, chair_named, new_patient, new_session


class ClientFactory:
    """Makes clients of an app that `running` started, each with its own cookies. They send
    their requests to the app's own event loop, as a server would: a client of its own would
    start a thread and an event loop for every request (about a millisecond each), and the
    app's handlers would run apart from its bus and clocks."""

    def __init__(self, running: TestClient) -> None:
        self._running = running
        self.made: list[TestClient] = []

    def __call__(
        self, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None
    ) -> TestClient:
        extra = TestClient(self._running.app, headers=headers, cookies=cookies)
        extra.portal = self._running.portal
        self.made.append(extra)
        return extra


RoleClient = Callable[[Role], TestClient]

# The app of the test running now (tests/api/conftest.py sets it), so `session_body` can give a
# body a configured chair without every caller passing a client.
current_app: FastAPI | None = None


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on the same database) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def minutes_ago(minutes: float) -> str:
    return iso(now() - timedelta(minutes=minutes))


def parse_time(value: str) -> datetime:
    """A timestamp from the wire, insisting that it carries its offset."""
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() is not None, f"{value!r} has no UTC offset"
    return moment


def errors(response: httpx2.Response) -> list[dict[str, Any]]:
    """The validation errors of a 422 answer."""
    assert response.status_code == 422, response.text
    detail: list[dict[str, Any]] = response.json()["detail"]
    return detail


def error_at(response: httpx2.Response, *loc: str | int) -> dict[str, Any]:
    """The one validation error at `loc`; fails listing what was reported instead."""
    found = [e for e in errors(response) if tuple(e["loc"]) == loc]
    assert found, f"no error at {list(loc)}; got {[e['loc'] for e in errors(response)]}"
    return found[0]


def message(response: httpx2.Response) -> str:
    """The human-readable reason in an error answer (4xx other than 422)."""
    detail = response.json()["detail"]
    assert isinstance(detail, str), detail
    return detail


def move(client: Client, session_id: int, *phases: str) -> dict[str, Any]:
    """Take a session through `phases` in order, as a client that confirms no checklist; the
    rules judged from the record still hold, so this meets them first (`meet_the_rules`).
    Returns the session as the last change left it."""
    body: dict[str, Any] = {}
    for phase in phases:
        # Stopping early always needs a reason.
        change = {"phase": phase, **({"note": "a test ends it"} if phase == "stopped" else {})}
        change.update(meet_the_rules(client, session_id, phase))
        response = client.post(f"/api/sessions/{session_id}/phase", json=change)
        assert response.status_code == 200, response.text
        body = response.json()
    return body


def meet_the_rules(client: Client, session_id: int, phase: str) -> dict[str, Any]:
    """Make the record meet what the server judges before `phase`: a blood pressure when none
    is recent, the minimum observation (`observe_briefly`), an alert patient in recovery, and a
    named override of open high alarms. Returns what the change must add to its body."""
    if phase not in ("infusing", "discharged"):
        return {}
    response = client.get(f"/api/sessions/{session_id}/checklist", params={"to": phase})
    assert response.status_code == 200, response.text
    unmet = {i["key"]: i for i in response.json()["items"] if i["required"] and i["met"] is False}
    if "min_observation" in unmet:
        observe_briefly(client, session_id)
    if {"baseline_bp", "bp_recent"} & unmet.keys():
        taken = client.post(
            f"/api/sessions/{session_id}/readings", json={"systolic": 120, "diastolic": 80}
        )
        assert taken.status_code == 201, taken.text
    if "alert" in unmet:
        # Seen alert in recovery: the latest ACVPU and MOAA/S since dosing ended.
        seen = client.post(
            f"/api/sessions/{session_id}/readings", json={"consciousness": "A", "sedation": 5}
        )
        assert seen.status_code == 201, seen.text
    if "no_open_high_alarm" in unmet:
        return {"override_alarms": {"by": "test-nurse", "reason": "a test discharges anyway"}}
    return {}


def observe_briefly(client: Client, session_id: int) -> None:
    """Tests cannot wait an hour: put the session on a copy of its limit profile whose minimum
    observation (ketamine) is 0.6 ms, which has passed by the next request. Nothing else about it
    changes."""
    assert isinstance(client, TestClient), "this needs the app's database"
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.unit_of_work(write=True) as db:
        session = db.get(InfusionSession, session_id)
        assert session is not None
        query = select(LimitProfile)
        if session.limit_profile_id is None:
            query = query.where(LimitProfile.is_default.is_(True))
        else:
            query = query.where(LimitProfile.id == session.limit_profile_id)
        base = db.scalars(query).one()
        limits = {**base.limits, "discharge": {**base.limits.get("discharge", {})}}
        limits["discharge"]["min_observation_min"] = 0.00001
        name = f"tests: {base.name[:80]}, brief observation"
        profile = db.scalars(select(LimitProfile).where(LimitProfile.name == name)).first()
        if profile is None:
            profile = LimitProfile(
                name=name, is_default=False, limits=limits, updated_at=now(), updated_by="tests"
            )
            db.add(profile)
        profile.limits = limits
        db.flush()
        session.limit_profile_id = profile.id


def discharged_session(client: Client) -> dict[str, Any]:
    session = new_session(client)
    return move(client, session["id"], "infusing", "recovery", "discharged")


def simulated_session(trainer: Client, patient_id: int) -> dict[str, Any]:
    response = trainer.post("/api/sessions", json=session_body(patient_id, simulated=True))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def session_body(patient_id: int, **fields: Any) -> dict[str, Any]:
    """A session's body on a chair of its own (configured through the admin API); `chair="X"`
    puts it on the configured chair named X instead (made if missing)."""
    assert current_app is not None, "session_body needs the app (tests/api/conftest.py)"
    chair = fields.pop("chair", None)
    return {
        "patient_id": patient_id,
        "chair_id": chair_named(TestClient(current_app), chair),
        "drug": "ketamine",
        "route": "iv",
        **fields,
    }


def patient_id(client: Client, *, simulated: bool = False) -> int:
    patient_id: int = new_patient(client, simulated=simulated)["id"]
    return patient_id


def new_user(admin: Client, role: str, password: str) -> dict[str, Any]:
    response = admin.post(
        "/api/users", json={"username": unique("user"), "password": password, "role": role}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def new_token(admin: Client, role: str) -> dict[str, Any]:
    """A freshly created API token, secret included (the only time it is shown)."""
    response = admin.post("/api/tokens", json={"name": unique("gateway"), "role": role})
    assert response.status_code == 201, response.text
    token: dict[str, Any] = response.json()
    return token


def sign_in_as(client: TestClient, username: str, password: str) -> httpx2.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


# NEWS2: pulse 95 → 1, RR 22 → 2, SpO2 95 → 1, air → 0, SBP 120 → 0, alert → 0, 38.2 °C → 1.
FULL_SET = {
    "heart_rate": 95,
    "systolic": 120,
    "diastolic": 78,
    "spo2": 95,
    "respiratory_rate": 22,
    "temperature": 38.2,
    "consciousness": "A",
    "on_oxygen": False,
    "sedation": 5,
}
ACTION = "Infusion paused; BP rechecked in 5 min"


def record_reading(client: Client, session_id: int, **vitals: Any) -> dict[str, Any]:
    response = client.post(f"/api/sessions/{session_id}/readings", json=vitals)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def walk_a_session(client: Client, name: str) -> dict[str, Any]:
    """A real session taken through every phase, as the record's exports are tested on: a full
    NEWS2 set at baseline, a partial set while infusing, a blood pressure surge acknowledged
    with a note (ACTION), a fat-fingered heart rate marked entered in error, and the patient
    seen alert before leaving. Its parts by name: session, patient, full, partial, surge,
    wrong, seen, alarm."""
    from tests.api.alert_support import acknowledged, the_alarm

    patient = new_patient(client, name)
    body = session_body(patient["id"], planned_dose_mg=35, weight_kg=70, planned_duration_min=40)
    created = client.post("/api/sessions", json=body)
    assert created.status_code == 201, created.text
    sid: int = created.json()["id"]
    full = record_reading(client, sid, **FULL_SET)
    move(client, sid, "infusing")
    partial = record_reading(client, sid, heart_rate=88, spo2=97)
    surge = record_reading(client, sid, systolic=186, diastolic=96)
    alarm = the_alarm(client, sid, "systolic.above")
    acknowledged(client, alarm["id"], ACTION)
    wrong = record_reading(client, sid, heart_rate=250)
    marked = client.post(
        f"/api/sessions/{sid}/readings/{wrong['id']}/entered-in-error",
        json={"reason": "Probe artefact: 25 was meant"},
    )
    assert marked.status_code == 200, marked.text
    move(client, sid, "recovery")
    seen = record_reading(client, sid, consciousness="A", sedation=5)  # alert before leaving
    session = move(client, sid, "discharged")
    return {
        "session": session,
        "patient": patient,
        "full": full,
        "partial": partial,
        "surge": surge,
        "wrong": wrong,
        "seen": seen,
        "alarm": alarm,
    }
