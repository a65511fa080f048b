"""Small helpers that read like the steps a clinic takes."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from backend.core.roles import Role
from backend.sites.rules import name_key
from tests.conftest import PASSWORD, ROLE_USERS

Client = TestClient | httpx.Client

# The site and room the tests' chairs are configured in.
TEST_SITE, TEST_ROOM = "Test clinic", "Test room"


@dataclass
class _Server:
    admin_cookies: dict[str, str]
    room_id: int | None = None
    site_id: int | None = None
    spare_room_id: int | None = None  # where `chair_named(client)` finds or adds a free chair
    spare_chairs: dict[str, int] = field(default_factory=dict)  # each one's room, by name


# One admin sign-in per server (database) for the run: signing in costs a password hash.
_servers: dict[str, _Server] = {}


def _server_key(client: Client) -> str:
    if isinstance(client, TestClient):
        return str(client.app.state.settings.database_url)  # type: ignore[attr-defined]
    return str(client.base_url)


@contextmanager
def as_admin_of(client: Client) -> Iterator[Client]:
    """An admin's client of the server `client` talks to (chairs are configured by admins)."""
    key = _server_key(client)
    admin: Client
    if isinstance(client, TestClient):
        admin = TestClient(client.app)
        admin.portal = client.portal  # the app's own event loop, when `client` started it
    else:
        admin = httpx.Client(base_url=client.base_url, timeout=10)
    if key not in _servers:
        response = admin.post(
            "/api/auth/login",
            json={"username": ROLE_USERS[Role.ADMIN], "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        _servers[key] = _Server(dict(admin.cookies.items()))
    for name, value in _servers[key].admin_cookies.items():
        admin.cookies.set(name, value)
    try:
        yield admin
    finally:
        admin.close()


def tests_room(client: Client) -> int:
    """The id of the room the tests' chairs are in (made through the admin API the first time)."""
    with as_admin_of(client) as admin:
        server = _servers[_server_key(client)]
        if server.room_id is None:
            server.site_id, server.room_id = _make_test_room(admin)
        return server.room_id


def _make_test_room(admin: Client) -> tuple[int, int]:
    """The ids of the tests' site and room, made if missing."""
    sites = admin.get("/api/sites").json()
    site = next((s for s in sites if name_key(s["name"]) == name_key(TEST_SITE)), None)
    if site is None:
        made = admin.post("/api/sites", json={"name": TEST_SITE})
        assert made.status_code == 201, made.text
        site = made.json()
    room = next((r for r in site["rooms"] if r["name"] == TEST_ROOM), None)
    if room is None:
        made = admin.post(f"/api/sites/{site['id']}/rooms", json={"name": TEST_ROOM})
        assert made.status_code == 201, made.text
        room = made.json()
    return site["id"], room["id"]


def chair_named(client: Client, name: str | None = None) -> int:
    """The id of the chair called `name`, in the tests' room (added through the admin API when
    it has none by that name) or, for one this helper made, in its spare room; by default a
    free chair of the helper's own (`_free_chair`)."""
    room_id = tests_room(client)
    server = _servers[_server_key(client)]
    with as_admin_of(client) as admin:
        if name is None:
            return _free_chair(admin, server)
        return _configured(admin, server.spare_chairs.get(name, room_id), name)


_MADE_CHAIR = re.compile(r"Chair [0-9a-f]{8}")


# Chairs a spare room holds before the helper opens another: a test run starts a thousand
# sessions and leaves many open, and finding a free chair among all of them in one room made
# every new session slower than the last (a quadratic run: 70 ms a session at first, 190 ms
# after 600).
SPARE_ROOM_CHAIRS = 20


def _free_chair(admin: Client, server: _Server) -> int:
    """A chair this helper made that no open session holds, else a new one. A new chair for
    every session left the run's server with hundreds, and every page that lists chairs (the
    sites page, the start dialog) slowed to many seconds a load. They are kept in spare rooms
    of the tests' site, `SPARE_ROOM_CHAIRS` to a room."""
    if server.spare_room_id is None:
        server.spare_room_id = _new_spare_room(admin, server)
    chairs = admin.get("/api/chairs", params={"room_id": server.spare_room_id}).json()
    for chair in chairs:
        if (
            _MADE_CHAIR.fullmatch(chair["name"])
            and chair["in_service"]
            and chair["occupied_by"] is None
        ):
            chair_id: int = chair["id"]
            return chair_id
    if len(chairs) >= SPARE_ROOM_CHAIRS:
        server.spare_room_id = _new_spare_room(admin, server)
    name = f"Chair {uuid.uuid4().hex[:8]}"
    server.spare_chairs[name] = server.spare_room_id
    return _add_chair(admin, server.spare_room_id, name)


def _new_spare_room(admin: Client, server: _Server) -> int:
    """A new room in the tests' site for the helper's chairs."""
    name = f"Spare room {uuid.uuid4().hex[:6]}"
    made = admin.post(f"/api/sites/{server.site_id}/rooms", json={"name": name})
    assert made.status_code == 201, made.text
    room_id: int = made.json()["id"]
    return room_id


def _add_chair(admin: Client, room_id: int, name: str) -> int:
    made = admin.post("/api/chairs", json={"room_id": room_id, "name": name})
    assert made.status_code == 201, made.text
    chair_id: int = made.json()["id"]
    return chair_id


def _configured(admin: Client, room_id: int, name: str) -> int:
    params: dict[str, str | int] = {"room_id": room_id, "include_retired": "true"}
    chairs = admin.get("/api/chairs", params=params).json()
    same = [c for c in chairs if name_key(c["name"]) == name_key(name)]
    if same:
        chair_id: int = same[0]["id"]
        if not same[0]["active"]:  # retired by an earlier test: back in service
            back = admin.patch(f"/api/chairs/{chair_id}", json={"active": True})
            assert back.status_code == 200, back.text
        return chair_id
    return _add_chair(admin, room_id, name)


def new_patient(
    client: Client, name: str = "Test Patient", *, simulated: bool = False
) -> dict[str, Any]:
    """A new patient; a simulated one is a drill's (a simulated session needs one)."""
    fields = {"clinic_id": f"T-{uuid.uuid4().hex[:10]}", "display_name": name}
    response = client.post("/api/patients", json={**fields, "simulated": simulated})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_session(
    client: Client, *, simulated: bool = False, chair: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A session on a new patient, on the chair named `chair` (configured if it is not yet),
    or on a chair of its own."""
    patient = new_patient(client, simulated=simulated)
    body = {
        "patient_id": patient["id"],
        "chair_id": chair_named(client, chair),
        "drug": "ketamine",
        "route": "iv",
        "planned_dose_mg": 35,
        "weight_kg": 70,
        "planned_duration_min": 40,
        "simulated": simulated,
        **fields,
    }
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def post_reading(client: Client, session_id: int, **vitals: Any) -> httpx.Response:
    return client.post(f"/api/sessions/{session_id}/readings", json=vitals)


def post_batch(client: Client, session_id: int, items: list[dict[str, Any]]) -> httpx.Response:
    return client.post(f"/api/sessions/{session_id}/readings/batch", json={"readings": items})


def readings_of(client: Client, session_id: int, **params: Any) -> list[dict[str, Any]]:
    """A session's stored readings (the first page), insisting that the request succeeds."""
    response = client.get(f"/api/sessions/{session_id}/readings", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def mark_in_error(client: Client, session_id: int, reading_id: str, reason: str) -> None:
    """Mark a reading entered in error, insisting that it is accepted."""
    response = client.post(
        f"/api/sessions/{session_id}/readings/{reading_id}/entered-in-error",
        json={"reason": reason},
    )
    assert response.status_code == 200, response.text
