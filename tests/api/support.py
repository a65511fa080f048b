"""Small helpers for the API tests: people and machines signing in, phases, error details."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.users.roles import Role
from tests.helpers import Client, new_patient, new_session


class ClientFactory:
    """Makes clients of an app that is already running, each with its own cookies."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self.made: list[TestClient] = []

    def __call__(
        self, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None
    ) -> TestClient:
        extra = TestClient(self._app, headers=headers, cookies=cookies)
        self.made.append(extra)
        return extra


RoleClient = Callable[[Role], TestClient]


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
    """Take a session through `phases` in order; the session as the last change left it."""
    body: dict[str, Any] = {}
    for phase in phases:
        # Stopping early always needs a reason.
        change = {"phase": phase, **({"note": "a test ends it"} if phase == "stopped" else {})}
        response = client.post(f"/api/sessions/{session_id}/phase", json=change)
        assert response.status_code == 200, response.text
        body = response.json()
    return body


def discharged_session(client: Client) -> dict[str, Any]:
    session = new_session(client)
    return move(client, session["id"], "infusing", "recovery", "discharged")


def simulated_session(trainer: Client, patient_id: int) -> dict[str, Any]:
    response = trainer.post("/api/sessions", json=session_body(patient_id, simulated=True))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def session_body(patient_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "chair": unique("Chair"),
        "drug": "ketamine",
        "route": "iv",
        **fields,
    }


def patient_id(client: Client) -> int:
    patient_id: int = new_patient(client)["id"]
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
