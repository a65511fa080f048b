"""The `vigil` console script, run in-process against a fresh database."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.cli import main
from backend.core.settings import Settings
from backend.main import create_app
from tests.conftest import empty_database


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with empty_database(tmp_path) as url:
        monkeypatch.setenv("VIGIL_DATABASE_URL", url)
        monkeypatch.delenv("VIGIL_ADMIN_PASSWORD", raising=False)
        main(["db", "upgrade"])
        yield url


def run(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "") -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        main(args)
    return capsys.readouterr().out


def test_first_setup_creates_an_admin_and_prints_the_password_only_once(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(["setup"], capsys)
    password = first.split("password:")[1].split()[0]
    assert len(password) >= 12
    assert "password" not in run(["setup"], capsys)
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        response = client.post("/api/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 200


def test_setup_takes_the_admin_password_from_the_environment(
    cli_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "chosen-by-it-admin")
    assert "password" not in run(["setup"], capsys)
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        response = client.post(
            "/api/auth/login", json={"username": "admin", "password": "chosen-by-it-admin"}
        )
    assert response.status_code == 200


def test_setup_with_demo_fills_an_empty_ward_once(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "3 sessions" in run(["setup", "--demo"], capsys)
    assert "Demo data" not in run(["setup", "--demo"], capsys)


def test_user_add_reads_the_password_from_stdin(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "created nurse ana" in run(
        ["user", "add", "ana", "--role", "nurse"], capsys, "a-long-password\n"
    )
    assert "ana" in run(["user", "list"], capsys)
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        response = client.post(
            "/api/auth/login", json={"username": "ana", "password": "a-long-password"}
        )
        assert response.json()["role"] == "nurse"


def test_user_add_refuses_a_short_password(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match="password"):
        run(["user", "add", "bo", "--role", "staff"], capsys, "short\n")


def test_token_create_prints_a_bearer_token_that_works(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = run(["token", "create", "gateway", "--role", "staff"], capsys).strip()
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"kind": "token", "name": "gateway", "role": "staff", "display_name": None}
