"""Roles hold everywhere: every route the app serves, and its live stream, walked by every role.

One explicit table says who may pass each route's gate; the walk asks each route as each role
(for a route about one session: once with a real patient's session, once with a simulated one)
and compares. A route the table does not classify fails the walk, so a new route cannot ship
without someone deciding who may call it.

"Passes the gate" means any answer but 401 and 403 (a 422 for the empty body the walk sends, a
404 for an id that does not exist, a 409 for a session already ended: each was let in first).
Trainers see simulated sessions only: every route about a real patient's session refuses them.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from backend.core.roles import Role
from backend.users.auth import SESSION_COOKIE
from tests.api.support import ClientFactory, new_token
from tests.conftest import sign_in
from tests.helpers import chair_named, new_session, post_reading

ADMIN, NURSE, STAFF, TRAINER = "admin", "nurse", "staff", "trainer"
TOKEN = "token"  # an API token (role staff: a device gateway), never a person
ANONYMOUS = "anonymous"
ROLES = (ADMIN, NURSE, STAFF, TRAINER, TOKEN, ANONYMOUS)

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
PEOPLE = SIGNED_IN - {TOKEN}
RECORDERS = SIGNED_IN  # nurse, staff, trainer and a staff token: readings, patients, sessions
PHASE_MOVERS = frozenset({ADMIN, NURSE, TRAINER})
NURSES = frozenset({ADMIN, NURSE})
TRAINERS = frozenset({ADMIN, TRAINER})
ADMINS = frozenset({ADMIN})
REMS_FORM = frozenset({ADMIN, NURSE, STAFF})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    # About one session ({session_id} or {alert_id}): walked with a real and a simulated one,
    # and trainers are refused the real one.
    session: bool = False


S = Rule  # short, for the table's width


TABLE: dict[tuple[str, str], Rule] = {
    # The app's shell: pages and files hold no patient data (the API they call does).
    ("GET", "/openapi.json"): S(EVERYONE),
    ("HEAD", "/openapi.json"): S(EVERYONE),
    ("GET", "/docs"): S(EVERYONE),
    ("GET", "/docs/init.js"): S(EVERYONE),
    ("MOUNT", "/docs/assets"): S(EVERYONE),
    ("MOUNT", "/static"): S(EVERYONE),
    ("GET", "/"): S(EVERYONE),
    ("GET", "/login"): S(EVERYONE),
    ("GET", "/ward"): S(EVERYONE),
    ("GET", "/limits"): S(EVERYONE),
    ("GET", "/trainer"): S(EVERYONE),
    ("GET", "/audit"): S(EVERYONE),
    ("GET", "/alarm-review"): S(EVERYONE),
    ("GET", "/accounts"): S(EVERYONE),
    ("GET", "/password"): S(EVERYONE),
    ("GET", "/sessions/{session_id}"): S(EVERYONE),
    ("GET", "/sessions/{session_id}/record"): S(EVERYONE),
    ("GET", "/sessions/{session_id}/rems"): S(EVERYONE),
    ("GET", "/rems"): S(EVERYONE),
    ("GET", "/devices"): S(EVERYONE),
    ("GET", "/static/vendor/plotly.min.js"): S(EVERYONE),
    ("HEAD", "/static/vendor/plotly.min.js"): S(EVERYONE),
    ("GET", "/sw.js"): S(EVERYONE),
    # Signing in and out; who is signed in.
    ("GET", "/api/health"): S(EVERYONE),
    ("POST", "/api/auth/login"): S(EVERYONE),
    ("POST", "/api/auth/logout"): S(EVERYONE),
    ("GET", "/api/auth/me"): S(SIGNED_IN),
    # Accounts and tokens.
    ("GET", "/api/users"): S(ADMINS),
    ("GET", "/api/users/clinicians"): S(SIGNED_IN),
    ("POST", "/api/users"): S(ADMINS),
    ("PATCH", "/api/users/{user_id}"): S(ADMINS),
    ("POST", "/api/users/{user_id}/password-reset"): S(ADMINS),
    ("POST", "/api/auth/password"): S(PEOPLE),
    ("GET", "/api/tokens"): S(ADMINS),
    ("POST", "/api/tokens"): S(ADMINS),
    ("DELETE", "/api/tokens/{token_id}"): S(ADMINS),
    # Patients: the clinic's register is never a trainer's (a trainer's new patient is a drill's).
    ("GET", "/api/patients"): S(SIGNED_IN - {TRAINER}),
    # Devices carry real patients' values: clinical people read them, nurses bind (issue 17).
    ("GET", "/api/devices"): S(frozenset({ADMIN, NURSE, STAFF})),
    ("PUT", "/api/devices/{eui64}"): S(NURSES),
    ("POST", "/api/patients"): S(RECORDERS),
    ("POST", "/api/patients/import"): S(ADMINS),
    ("GET", "/api/patients/{patient_id}"): S(SIGNED_IN - {TRAINER}),
    ("PATCH", "/api/patients/{patient_id}"): S(NURSES),
    ("GET", "/api/patients/{patient_id}/changes"): S(NURSES),
    ("GET", "/api/patients/{patient_id}/course"): S(SIGNED_IN - {TRAINER}),
    ("GET", "/patients"): S(EVERYONE),
    ("GET", "/patients/{patient_id}/course"): S(EVERYONE),
    ("GET", "/sites"): S(EVERYONE),
    # Sites, rooms and chairs: everyone signed in reads them (pickers, the ward's filter).
    ("GET", "/api/sites"): S(SIGNED_IN),
    ("POST", "/api/sites"): S(ADMINS),
    ("PATCH", "/api/sites/{site_id}"): S(ADMINS),
    ("POST", "/api/sites/{site_id}/rooms"): S(ADMINS),
    ("PATCH", "/api/sites/{site_id}/rooms/{room_id}"): S(ADMINS),
    ("GET", "/api/chairs"): S(SIGNED_IN),
    ("POST", "/api/chairs"): S(ADMINS),
    ("PATCH", "/api/chairs/{chair_id}"): S(ADMINS),
    # Sessions: the ward list is scoped (a trainer's holds simulated sessions only, tested below).
    ("GET", "/api/sessions"): S(SIGNED_IN),
    ("POST", "/api/sessions"): S(RECORDERS),
    ("GET", "/api/sessions/{session_id}"): S(SIGNED_IN, session=True),
    ("POST", "/api/sessions/{session_id}/phase"): S(PHASE_MOVERS, session=True),
    ("GET", "/api/sessions/{session_id}/checklist"): S(SIGNED_IN, session=True),
    ("POST", "/api/sessions/{session_id}/readings"): S(RECORDERS, session=True),
    ("POST", "/api/sessions/{session_id}/readings/batch"): S(RECORDERS, session=True),
    ("GET", "/api/sessions/{session_id}/readings"): S(SIGNED_IN, session=True),
    ("GET", "/api/sessions/{session_id}/trend"): S(SIGNED_IN, session=True),
    ("POST", "/api/sessions/{session_id}/readings/{reading_id}/entered-in-error"): S(
        PEOPLE, session=True
    ),
    ("GET", "/api/vitals"): S(SIGNED_IN),
    ("GET", "/api/sessions/{session_id}/news2"): S(SIGNED_IN, session=True),
    # The record: people only, never a token.
    ("GET", "/api/sessions/{session_id}/report"): S(PEOPLE, session=True),
    ("GET", "/api/sessions/{session_id}/report.pdf"): S(PEOPLE, session=True),
    ("GET", "/api/sessions/{session_id}/readings.csv"): S(PEOPLE, session=True),
    # The REMS form: people at the chair and the clinic, never trainers (a drill has no form;
    # the walk's sessions are ketamine and a drill: 409 once past the gate); completing it is
    # a clinical attestation (nurses, admins).
    ("GET", "/api/sessions/{session_id}/rems"): S(REMS_FORM, session=True),
    ("PATCH", "/api/sessions/{session_id}/rems"): S(REMS_FORM, session=True),
    ("POST", "/api/sessions/{session_id}/rems/complete"): S(NURSES, session=True),
    ("GET", "/api/sessions/{session_id}/rems.pdf"): S(REMS_FORM, session=True),
    ("GET", "/api/rems/due"): S(REMS_FORM),
    # Alarms and limits: open alarms are scoped (a trainer's list: simulated only, tested below).
    ("GET", "/api/alerts"): S(SIGNED_IN),
    ("GET", "/api/sessions/{session_id}/alerts"): S(SIGNED_IN, session=True),
    ("POST", "/api/alerts/{alert_id}/acknowledge"): S(RECORDERS, session=True),
    ("GET", "/api/limits/profiles"): S(SIGNED_IN),
    ("POST", "/api/limits/profiles"): S(ADMINS),
    ("PUT", "/api/limits/profiles/{profile_id}"): S(ADMINS),
    ("GET", "/api/limits/profiles/{profile_id}/changes"): S(SIGNED_IN),
    ("GET", "/api/sessions/{session_id}/limits"): S(SIGNED_IN, session=True),
    ("PUT", "/api/sessions/{session_id}/limits"): S(NURSES, session=True),
    ("GET", "/api/sessions/{session_id}/gate"): S(SIGNED_IN, session=True),
    ("GET", "/api/sessions/{session_id}/limits/changes"): S(SIGNED_IN, session=True),
    # Simulations (walked with the simulated session; a real one has no simulation: 404).
    ("GET", "/api/simulations/scenarios"): S(SIGNED_IN),
    ("GET", "/api/simulations"): S(SIGNED_IN),
    ("POST", "/api/simulations"): S(TRAINERS),
    ("GET", "/api/simulations/{session_id}"): S(SIGNED_IN),
    ("POST", "/api/simulations/{session_id}/events"): S(TRAINERS),
    ("POST", "/api/simulations/{session_id}/control"): S(TRAINERS),
    ("POST", "/api/simulations/{session_id}/stop"): S(TRAINERS),
    # The audit trail.
    ("GET", "/api/audit"): S(ADMINS),
    ("GET", "/api/audit.csv"): S(ADMINS),
    # The alarm review (clinic managers).
    ("GET", "/api/alarm-review"): S(ADMINS),
    ("GET", "/api/alarm-review.csv"): S(ADMINS),
    # The live stream.
    ("WS", "/api/stream"): S(SIGNED_IN, session=True),
}

# Run last: signing out ends the sign-in the walk uses; stopping ends the simulation.
LAST = [("POST", "/api/simulations/{session_id}/stop"), ("POST", "/api/auth/logout")]
MISSING = 2**31 - 1  # an id no row has


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, WebSocket and mounted files included."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if isinstance(route.original_route, APIWebSocketRoute):
            found.add(("WS", path))
        elif isinstance(route.original_route, Mount):
            found.add(("MOUNT", path))
        else:
            found |= {(method, path) for method in route.methods or ()}
    return sorted(found)


def test_the_table_classifies_every_route_the_app_serves(app: FastAPI) -> None:
    served = set(served_routes(app))
    unclassified = served - TABLE.keys()
    assert unclassified == set(), f"classify these routes in TABLE: {sorted(unclassified)}"
    gone = TABLE.keys() - served
    assert gone == set(), f"TABLE names routes the app no longer serves: {sorted(gone)}"


@dataclass
class World:
    clients: dict[str, TestClient]
    real: dict[str, Any]  # path parameters pointing at a real patient's session
    simulated: dict[str, Any]  # … and at a simulated one


@pytest.fixture
def world(
    app: FastAPI,
    new_client: ClientFactory,
    as_admin: TestClient,
    as_nurse: TestClient,
    as_trainer: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    # The walk tests gates, not WeasyPrint: a PDF is a few bytes here, so it stays fast.
    monkeypatch.setattr("backend.reports.router.render_pdf", lambda html: b"%PDF-1.7 walk")
    clients: dict[str, TestClient] = {ANONYMOUS: new_client()}
    for role in Role:  # sign-ins of the walk's own: it signs them out at the end
        clients[role.value] = sign_in(new_client(), role)
    clients[TOKEN] = new_client(
        headers={"Authorization": f"Bearer {new_token(as_admin, 'staff')['token']}"}
    )

    real = new_session(as_nurse)
    started = as_trainer.post(
        "/api/simulations",
        json={"scenario": "routine_infusion", "chair_id": chair_named(as_admin), "seed": 1},
    )
    assert started.status_code == 201, started.text
    sim_id = started.json()["session_id"]
    paused = as_trainer.post(f"/api/simulations/{sim_id}/control", json={"paused": True})
    assert paused.status_code == 200, paused.text

    def params(session_id: int, patient: int) -> dict[str, Any]:
        # An alarm of the session's own, to acknowledge: a blood pressure over the limit.
        response = post_reading(as_nurse, session_id, systolic=196, diastolic=100)
        assert response.status_code == 201, response.text
        alerts = as_nurse.get(f"/api/sessions/{session_id}/alerts").json()
        return {
            "session_id": session_id,
            "alert_id": alerts[0]["id"],
            "reading_id": response.json()["id"],
            "patient_id": patient,
            "user_id": MISSING,
            "token_id": MISSING,
            "site_id": MISSING,
            "room_id": MISSING,
            "chair_id": MISSING,
            "profile_id": 1,
            "eui64": "00000000DEADBEEF",  # no such device: past the gate, a 404
        }

    sim = as_nurse.get(f"/api/sessions/{sim_id}").json()
    yield World(
        clients,
        real=params(real["id"], real["patient"]["id"]),
        simulated=params(sim_id, sim["patient"]["id"]),
    )


def _concrete(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def _http(client: TestClient, method: str, path: str) -> int:
    if method == "MOUNT":
        path += "/css/vigil.css" if path == "/static" else "/swagger-ui.css"
        method = "GET"
    params = {"since": "2026-01-01T00:00:00Z"} if path.endswith("/trend") else None
    body: dict[str, Any] | None = None if method in ("GET", "HEAD", "DELETE") else {}
    return client.request(method, path, params=params, json=body).status_code


def _stream(client: TestClient, session_id: int) -> int:
    """200 when the stream opened and said it is ready, else the close code it ended with."""
    try:
        with client.websocket_connect(f"/api/stream?session_id={session_id}") as ws:
            while ws.receive_json()["type"] != "ready":
                pass
            return 200
    except WebSocketDisconnect as closed:
        return closed.code


def _expected(rule: Rule, role: str, real: bool) -> str:
    if role not in rule.allowed:
        return "refused"
    if rule.session and real and role == TRAINER:
        return "refused"
    return "passes"


def _got(role: str, status: int, stream: bool) -> str:
    refused = {401, 4401} if role == ANONYMOUS else {403, 4403}
    if status in refused:
        return "refused"
    if status in {401, 403, 4401, 4403}:
        return f"wrong refusal {status}"
    return "passes"


def test_every_role_meets_the_gates_the_table_sets(app: FastAPI, world: World) -> None:
    order = sorted(TABLE, key=lambda op: (op in LAST, LAST.index(op) if op in LAST else 0, op))
    served = set(served_routes(app))
    mismatches: dict[str, str] = {}
    asked = 0
    for method, path in (op for op in order if op in served):
        rule = TABLE[(method, path)]
        kinds = [("real", world.real), ("simulated", world.simulated)]
        if not rule.session:
            kinds = [
                (
                    "simulated" if "/simulations/" in path else "real",
                    kinds[1][1] if "/simulations/" in path else kinds[0][1],
                )
            ]
        for kind, values in kinds:
            for role in ROLES:
                client = world.clients[role]
                if method == "WS":
                    status = _stream(client, values["session_id"])
                else:
                    status = _http(client, method, _concrete(path, values))
                asked += 1
                want = _expected(rule, role, kind == "real")
                got = _got(role, status, method == "WS")
                if got != want:
                    mismatches[f"{method} {path} [{kind}] as {role}"] = f"{status}: want {want}"
    assert mismatches == {}
    assert asked > 400  # the matrix: routes × roles, session routes twice


def test_trainers_do_not_see_real_patients(world: World) -> None:
    trainer = world.clients[TRAINER]
    patient = trainer.get(f"/api/patients/{world.real['patient_id']}")
    assert patient.status_code in (403, 404)
    assert trainer.get("/api/patients", params={"limit": 200}).status_code == 403


def test_a_trainers_ward_and_alarms_hold_simulated_sessions_only(world: World) -> None:
    for role, real_seen in ((TRAINER, False), (NURSE, True)):
        client = world.clients[role]
        ward = {s["id"] for s in client.get("/api/sessions", params={"limit": 500}).json()}
        alarms = {a["session_id"] for a in client.get("/api/alerts").json()}
        for seen in (ward, alarms):
            assert world.simulated["session_id"] in seen
            assert (world.real["session_id"] in seen) is real_seen
    asked_real = world.clients[TRAINER].get("/api/sessions", params={"simulated": "false"})
    assert asked_real.json() == []


def test_a_trainers_ward_stream_carries_no_real_session(world: World) -> None:
    nurse, trainer = world.clients[NURSE], world.clients[TRAINER]
    with trainer.websocket_connect("/api/stream") as ws:
        cursor = None
        while (message := ws.receive_json())["type"] != "ready":
            pass
        cursor = message["cursor"]
    for sid in (world.real["session_id"], world.simulated["session_id"]):
        assert post_reading(nurse, sid, heart_rate=77).status_code == 201
    seen: dict[str, set[int]] = {}
    for role, client in ((TRAINER, trainer), (NURSE, nurse)):
        with client.websocket_connect(f"/api/stream?after={cursor}") as ws:
            sessions = set()
            while (message := ws.receive_json())["type"] != "ready":
                sessions.add(message["session_id"])
            seen[role] = sessions
    assert seen[NURSE] >= {world.real["session_id"], world.simulated["session_id"]}
    assert world.simulated["session_id"] in seen[TRAINER]
    assert world.real["session_id"] not in seen[TRAINER]
    assert seen[TRAINER] <= seen[NURSE]


def test_a_stream_of_a_real_session_is_a_recorded_view(world: World) -> None:
    nurse, admin = world.clients[NURSE], world.clients[ADMIN]
    sid = world.real["session_id"]
    assert _stream(nurse, sid) == 200
    assert _stream(nurse, world.simulated["session_id"]) == 200
    views = admin.get("/api/audit", params={"session_id": sid, "action": "session.view"}).json()
    assert [e["detail"] for e in views["items"]] == [{"via": "stream"}]
    sim = admin.get(
        "/api/audit",
        params={"session_id": world.simulated["session_id"], "action": "session.view"},
    ).json()
    assert sim["items"] == []
    assert SESSION_COOKIE  # the walk's own sign-ins, not the shared ones, were used
