"""Repeated wrong passwords lock a name out with 429 and Retry-After, even with the right one."""

from fastapi.testclient import TestClient

from backend.core.roles import Role
from tests.conftest import PASSWORD, ROLE_USERS


def test_five_wrong_passwords_lock_the_name_out(client: TestClient) -> None:
    name = ROLE_USERS[Role.TRAINER]
    for _ in range(5):
        wrong = client.post("/api/auth/login", json={"username": name, "password": "nope-nope"})
        assert wrong.status_code == 401
    locked = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "try again" in locked.json()["detail"]
