"""The `vigil` console script, run in-process against a fresh database."""

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from backend.cli import main
from backend.core.settings import Settings
from backend.main import create_app
from tests.api.alert_support import wait_for
from tests.conftest import empty_database, free_port


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
    assert "5 simulated sessions" in run(["setup", "--demo"], capsys)
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


def test_user_add_refuses_a_common_password_saying_why(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match="most commonly used passwords"):
        run(["user", "add", "bo", "--role", "staff"], capsys, "Password-2024!\n")


def test_setup_refuses_a_weak_admin_password_from_the_environment(
    cli_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "admin12345")
    with pytest.raises(SystemExit, match="VIGIL_ADMIN_PASSWORD: the password must be at least 12"):
        run(["setup"], capsys)


def test_user_reset_password_prints_a_one_time_password_to_replace_at_sign_in(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["user", "add", "ana", "--role", "admin"], capsys, "a-long-password\n")
    one_time = run(["user", "reset-password", "ana"], capsys).strip()
    assert len(one_time) == 19
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        login = {"username": "ana", "password": one_time}
        assert client.post("/api/auth/login", json=login).json()["must_change_password"] is True
        assert client.get("/api/sessions").status_code == 403
    with pytest.raises(SystemExit, match="no account named 'bo'"):
        run(["user", "reset-password", "bo"], capsys)


def test_token_create_prints_a_bearer_token_that_works(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = run(["token", "create", "gateway", "--role", "staff"], capsys).strip()
    with TestClient(create_app(Settings(database_url=cli_database, _env_file=None))) as client:
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() | {"must_change_password": False} == {
        "kind": "token",
        "name": "gateway",
        "role": "staff",
        "display_name": None,
        "must_change_password": False,
    }


def test_the_demo_ward_is_live_with_real_alarms_within_seconds_of_the_server_starting(
    cli_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "chosen-by-it-admin")
    run(["setup", "--demo"], capsys)
    settings = Settings(database_url=cli_database, simulation_tick_seconds=0.2, _env_file=None)
    with TestClient(create_app(settings)) as client:
        login = {"username": "admin", "password": "chosen-by-it-admin"}
        assert client.post("/api/auth/login", json=login).status_code == 200
        sessions = client.get("/api/sessions", params={"status": "active"}).json()
        assert len(sessions) == 5
        assert all(s["simulated"] for s in sessions)

        def history_everywhere() -> bool:
            return all(
                len(client.get(f"/api/sessions/{s['id']}/readings").json()["items"]) >= 100
                for s in sessions
            )

        wait_for(history_everywhere, timeout=45, what="every demo chair's history")

        # Dosing started as a nurse's would (within the gate, or the surge's scripted, named
        # override): every chair is past its 10-minute baseline and infusing, none was stopped.
        def phases() -> set[str]:
            ward = client.get("/api/sessions", params={"status": "all"}).json()
            return {s["phase"] for s in ward if s["id"] in {d["id"] for d in sessions}}

        wait_for(lambda: phases() == {"infusing"}, timeout=45, what="every chair dosing")
        ward = client.get("/api/sessions", params={"status": "active"}).json()
        surge = next(s for s in ward if s["chair"] == "Chair 2")
        assert surge["gate_override_by"] == "Dr A. Example (prescriber)"
        alarms = wait_for(lambda: client.get("/api/alerts").json(), timeout=45, what="an alarm")
        assert {a["simulated"] for a in alarms} == {True}
        first = {s["id"]: _latest(client, s["id"]) for s in sessions}
        # Moving: new readings keep coming after the history (except from the probe that
        # falls off, which is the point of its scenario).
        wait_for(
            lambda: sum(_latest(client, sid) > at for sid, at in first.items()) >= 4,
            timeout=45,
            what="new readings on the chairs",
        )


def _latest(client: TestClient, session_id: int) -> str:
    """When the session's newest value was taken (as the ward's tiles show it)."""
    ward = client.get("/api/sessions", params={"status": "active"}).json()
    (session,) = [s for s in ward if s["id"] == session_id]
    latest: str = max(v["taken_at"] for v in session["latest"].values())
    return latest


def test_the_first_start_ends_with_the_admins_sign_in_details_once_the_server_listens(
    cli_database: str,
) -> None:
    """`make run`'s last step: the server's own log lines come first, the password last."""
    port = free_port()
    with _serving(cli_database, port) as lines:
        shown = [line for line in lines if line.strip()]
        assert "Uvicorn running on" in "\n".join(shown[:-6])  # the server's lines came first
        assert shown[-1] == RULE
        assert shown[-4].strip() == "username: admin"
        password = shown[-3].split("password:")[1].strip()
        assert "5 simulated sessions" in shown[-2]
        assert f"open http://127.0.0.1:{port}" in "\n".join(shown[-8:])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            login = {"username": "admin", "password": password}
            assert client.post("/api/auth/login", json=login).status_code == 200
            cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        # The live stream is served without permessage-deflate though the browser offers it
        # (websockets offers it too): compressing each event again for every screen cost
        # about 1 ms of CPU per reading per screen.
        headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}
        stream = f"ws://127.0.0.1:{port}/api/stream"
        with connect(stream, additional_headers=headers, open_timeout=10) as connection:
            assert connection.request is not None and connection.response is not None
            assert "permessage-deflate" in connection.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in connection.response.headers
            assert "type" in json.loads(connection.recv(timeout=10))  # and it streams
    # Later starts say where to get a password, and show none.
    with _serving(cli_database, port) as lines:
        later = "\n".join(lines)
        assert "password:" not in later
        assert "vigil user reset-password admin" in later
        assert "Demo data" not in later


RULE = "-" * 72


@contextmanager
def _serving(database_url: str, port: int) -> Iterator[list[str]]:
    """`vigil serve --setup --demo` in a process of its own; its output up to the banner's end
    (bounded: the test's own timeout stops a server that never says it)."""
    env = {**os.environ, "VIGIL_DATABASE_URL": database_url, "VIGIL_SIMULATION_TICK_SECONDS": "60"}
    command = [sys.executable, "-m", "backend.cli", "serve", "--setup", "--demo"]
    with subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        assert server.stdout is not None
        lines: list[str] = []
        try:
            for line in server.stdout:
                lines.append(line.rstrip("\n"))
                if lines.count(RULE) == 2:
                    break
            else:
                raise AssertionError(f"the server ended without its banner: {lines}")
            yield lines
        finally:
            server.terminate()
            server.wait(timeout=15)
