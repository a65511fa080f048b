"""Nothing is lost and nothing is stored twice: commit before acknowledging, retries are safe."""

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.roles import Role
from backend.readings.models import Reading
from tests.conftest import PASSWORD, ROLE_USERS, LiveServer, sign_in
from tests.helpers import chair_named, new_patient, new_session


def count_readings(database: Database, reading_id: str) -> int:
    with database.unit_of_work(write=False) as db:
        return db.scalar(select(func.count()).where(Reading.id == reading_id)) or 0


@pytest.fixture
def failing_commits(app: FastAPI) -> Iterator[TestClient]:
    """A signed-in client whose next write commits fail, as a full disk would make them."""
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, Role.STAFF)
        session_id = new_session(client)["id"]
        client.headers["X-Session"] = str(session_id)

        def refuse(_: Session) -> None:
            raise RuntimeError("disk full")

        factory = app.state.database.write_sessions
        event.listen(factory, "before_commit", refuse)
        try:
            yield client
        finally:
            event.remove(factory, "before_commit", refuse)


def test_a_reading_whose_commit_fails_is_not_acknowledged(
    failing_commits: TestClient, database: Database
) -> None:
    reading_id = str(uuid.uuid4())
    session_id = failing_commits.headers["X-Session"]
    response = failing_commits.post(
        f"/api/sessions/{session_id}/readings", json={"id": reading_id, "heart_rate": 80}
    )
    assert response.status_code == 500
    assert count_readings(database, reading_id) == 0


def test_the_same_reading_sent_at_once_from_two_connections_is_stored_once(
    live_server: LiveServer, database: Database
) -> None:
    credentials = {"username": ROLE_USERS[Role.STAFF], "password": PASSWORD}
    with httpx2.Client(base_url=live_server.url) as setup:
        assert setup.post("/api/auth/login", json=credentials).status_code == 200
        session_id = new_session(setup)["id"]
        cookie = setup.cookies["vigil_session"]
    reading_id = str(uuid.uuid4())
    body = {"id": reading_id, "heart_rate": 77, "taken_at": datetime.now(UTC).isoformat()}
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        with httpx2.Client(base_url=live_server.url, cookies={"vigil_session": cookie}) as client:
            barrier.wait()
            statuses.append(
                client.post(f"/api/sessions/{session_id}/readings", json=body).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert count_readings(database, reading_id) == 1


def test_two_sessions_started_at_once_on_one_chair_leave_one_open(
    live_server: LiveServer,
) -> None:
    credentials = {"username": ROLE_USERS[Role.NURSE], "password": PASSWORD}
    chair = f"Chair {uuid.uuid4().hex[:6]}"
    with httpx2.Client(base_url=live_server.url) as setup:
        assert setup.post("/api/auth/login", json=credentials).status_code == 200
        cookie = setup.cookies["vigil_session"]
        patients = [new_patient(setup)["id"] for _ in range(4)]
        chair_named(setup, chair)
    statuses: list[int] = []
    barrier = threading.Barrier(len(patients))

    def start(patient_id: int) -> None:
        with httpx2.Client(base_url=live_server.url, cookies={"vigil_session": cookie}) as client:
            barrier.wait()
            body = {"patient_id": patient_id, "chair": chair, "drug": "ketamine", "route": "iv"}
            statuses.append(client.post("/api/sessions", json=body).status_code)

    threads = [threading.Thread(target=start, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]


def test_one_patient_started_at_once_on_two_chairs_has_one_open_session(
    live_server: LiveServer,
) -> None:
    credentials = {"username": ROLE_USERS[Role.NURSE], "password": PASSWORD}
    with httpx2.Client(base_url=live_server.url) as setup:
        assert setup.post("/api/auth/login", json=credentials).status_code == 200
        cookie = setup.cookies["vigil_session"]
        patient_id = new_patient(setup)["id"]
        chairs = [chair_named(setup) for _ in range(4)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(chairs))

    def start(chair_id: int) -> None:
        with httpx2.Client(base_url=live_server.url, cookies={"vigil_session": cookie}) as client:
            barrier.wait()
            body = {
                "patient_id": patient_id,
                "chair_id": chair_id,
                "drug": "ketamine",
                "route": "iv",
            }
            statuses.append(client.post("/api/sessions", json=body).status_code)

    threads = [threading.Thread(target=start, args=(c,)) for c in chairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]
