"""A database that is down or full is answered 503 with Retry-After on every route (reads,
writes, sign-in, the stream's handshake), never a 500 or a dropped connection, and
/api/health says so (503) until it is back (200).

Faults are the drivers' own: an event hook raises sqlite3's or psycopg's real error classes at
the DBAPI level ("database or disk is full", DiskFull 53100, TooManyConnections 53300,
AdminShutdown 57P01, a refused connection), and on PostgreSQL the server itself is cut off
(its connections terminated; the port it is reached through closed) mid-run.
"""

import json
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import WebSocketDenialResponse

from backend.core.database import Database, overload_of
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.migrations import upgrade
from backend.users import service as users
from tests.api.test_nul_walk import _operations, _sample
from tests.conftest import PASSWORD, ROLE_USERS, sign_in
from tests.helpers import new_session, post_reading

Fault = Callable[[], BaseException]


def _is_postgres(app: FastAPI) -> bool:
    database: Database = app.state.database
    return database.dialect == "postgresql"


def full_disk(postgres: bool) -> BaseException:
    if postgres:
        return psycopg.errors.DiskFull("could not extend file: No space left on device")
    return sqlite3.OperationalError("database or disk is full")


def down(postgres: bool) -> BaseException:
    if postgres:
        return psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection refused"
        )
    return sqlite3.OperationalError("unable to open database file")


@contextmanager
def failing(app: FastAPI, fault: Fault, *, writes_only: bool = False) -> Iterator[None]:
    """Every statement the app sends (or every write) fails with `fault()` while inside."""
    engine = app.state.database.engine

    def hook(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if writes_only and verb in ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE"):
            return
        raise fault()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def assert_503(response: Any, label: str = "") -> None:
    assert response.status_code == 503, f"{label}: {response.status_code} {response.text[:300]}"
    assert int(response.headers["Retry-After"]) > 0, label
    body = response.json()
    assert "database" in str(body.get("detail") or body["database"]["detail"]), label


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    sid: int = new_session(as_nurse)["id"]
    return sid


NEEDS_NO_DATABASE = {"GET /api/vitals", "GET /api/simulations/scenarios"}


@pytest.mark.parametrize("kind", ["full", "down"])
def test_every_route_answers_503_with_retry_after_when_the_database_fails(
    app: FastAPI, as_admin: TestClient, session_id: int, kind: str
) -> None:
    postgres = _is_postgres(app)
    spec = app.openapi()
    answers: dict[str, int] = {}
    # The admin's credential was just used, so it is answered from memory for a few seconds
    # (users/credential_cache.py), as on a busy ward: routes still need the database for the rest.
    assert as_admin.get("/api/auth/me").status_code == 200
    with failing(app, lambda: full_disk(postgres) if kind == "full" else down(postgres)):
        for method, path, op in _operations(app):
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", str(session_id))
            content = op.get("requestBody", {}).get("content", {})
            body = None
            if "application/json" in content:
                body = json.dumps(_sample(spec, content["application/json"]["schema"])).encode()
            response = as_admin.request(
                method, url, content=body, headers={"Content-Type": "application/json"}
            )
            label = f"{method} {path}"
            answers[label] = response.status_code
            assert response.status_code < 500 or response.status_code == 503, (
                f"{label}: {response.status_code} {response.text[:200]}"
            )
            if response.status_code == 503:
                assert_503(response, label)
    # Everything that needs the database was refused with 503. Only the static vitals catalogue
    # and the scenario list are answered (the caller's credential came from memory), and a body
    # the route refuses on its face (the samples are not all valid) is a 4xx before any query.
    others = {label: status for label, status in answers.items() if status != 503}
    assert {label for label, status in others.items() if status < 400} <= NEEDS_NO_DATABASE, others
    assert {status for status in others.values() if status >= 400} <= {415, 422}, others


@pytest.mark.parametrize("kind", ["full", "down"])
def test_a_reading_and_a_sign_in_are_answered_503_then_work_again(
    app: FastAPI, client: TestClient, as_nurse: TestClient, session_id: int, kind: str
) -> None:
    postgres = _is_postgres(app)
    fault = (lambda: full_disk(postgres)) if kind == "full" else (lambda: down(postgres))
    login = {"username": ROLE_USERS[next(iter(ROLE_USERS))], "password": PASSWORD}
    with failing(app, fault):
        assert_503(post_reading(as_nurse, session_id, heart_rate=80), "reading")
        assert_503(client.post("/api/auth/login", json=login), "sign-in")
        assert_503(as_nurse.get(f"/api/sessions/{session_id}/readings"), "read")
    assert post_reading(as_nurse, session_id, heart_rate=80).status_code == 201
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_a_full_disk_fails_writes_only_and_health_says_so_until_a_write_succeeds(
    app: FastAPI, client: TestClient, as_nurse: TestClient, session_id: int
) -> None:
    postgres = _is_postgres(app)
    assert client.get("/api/health").status_code == 200
    with failing(app, lambda: full_disk(postgres), writes_only=True):
        # Reading still works on a full disk (the ward's list); storing does not, nor a view
        # that goes on the audit trail: an access that cannot be recorded is not given.
        assert as_nurse.get("/api/sessions").status_code == 200
        assert_503(as_nurse.get(f"/api/sessions/{session_id}/readings"), "an audited view")
        stored = post_reading(as_nurse, session_id, heart_rate=81)
        assert_503(stored, "reading on a full disk")
        assert "full" in stored.json()["detail"]
        # A write transaction that stores nothing (an alarm clock tick with nothing due) does not
        # show the disk has room again.
        with app.state.database.unit_of_work(write=True) as db:
            db.execute(text("SELECT 1"))
        health = client.get("/api/health")
        assert health.status_code == 503, health.text
        assert int(health.headers["Retry-After"]) > 0
        assert health.json()["status"] == "degraded"
        assert "full" in health.json()["database"]["detail"]
    assert post_reading(as_nurse, session_id, heart_rate=81).status_code == 201
    assert client.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda pg: down(pg), id="down"),
        pytest.param(
            lambda pg: (
                psycopg.errors.TooManyConnections("sorry, too many clients already")
                if pg
                else sqlite3.OperationalError("database is locked")
            ),
            id="no-connection-free",
        ),
        pytest.param(
            lambda pg: (
                psycopg.errors.AdminShutdown("terminating connection")
                if pg
                else sqlite3.OperationalError("disk I/O error")
            ),
            id="shut-down",
        ),
    ],
)
def test_health_answers_503_while_the_database_is_unreachable_and_200_when_back(
    app: FastAPI, client: TestClient, fault: Callable[[bool], BaseException]
) -> None:
    postgres = _is_postgres(app)
    with failing(app, lambda: fault(postgres)):
        health = client.get("/api/health")
        assert health.status_code == 503, health.text
        assert int(health.headers["Retry-After"]) > 0
        assert health.json()["database"]["ok"] is False
    assert client.get("/api/health").status_code == 200


def test_the_stream_handshake_is_answered_503_when_the_database_is_down(
    app: FastAPI, as_nurse: TestClient
) -> None:
    postgres = _is_postgres(app)
    # The nurse's credential was just used, so it is answered from memory: the handshake must
    # still find out that the database is down before it accepts.
    assert as_nurse.get("/api/auth/me").status_code == 200
    with (
        failing(app, lambda: down(postgres)),
        pytest.raises(WebSocketDenialResponse) as refused,
        as_nurse.websocket_connect("/api/stream"),
    ):
        pass
    assert refused.value.status_code == 503
    assert int(refused.value.headers["Retry-After"]) > 0
    with as_nurse.websocket_connect("/api/stream") as ws:
        assert ws.receive_json()["type"]


def test_a_database_error_that_is_a_bug_still_surfaces_as_one(
    app: FastAPI, as_nurse: TestClient
) -> None:
    """Only faults of the server are 503s: a broken statement is not hidden as 'try later'."""
    postgres = _is_postgres(app)
    bug: Fault = (
        (lambda: psycopg.errors.UndefinedTable('relation "readings" does not exist'))
        if postgres
        else (lambda: sqlite3.OperationalError("no such table: readings"))
    )
    with failing(app, bug), pytest.raises(Exception, match="readings"):
        as_nurse.get("/api/patients")


# --- PostgreSQL itself cut off mid-run ---


class PortForward:
    """A TCP relay to PostgreSQL that the test can cut (closing the port and every connection
    through it) and restore: the server becomes unreachable as after a crash or a network cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown, not only close: a thread blocked in accept() keeps a closed socket
            # listening on Linux.
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()


@pytest.fixture
def postgres_url(settings: Settings) -> str:
    if not settings.database_url.startswith("postgresql"):
        # These three cut a running PostgreSQL server off (a relay, pg_terminate_backend, a
        # connection limit): they run in the PostgreSQL run of make test. The SQLite run has its
        # own real fault (the data folder taken away mid-run) and the driver-error tests.
        pytest.skip(
            "PostgreSQL only (runs in make test's PostgreSQL run): cuts a PostgreSQL server off; "
            "SQLite's own real fault is test_sqlite_file_out_of_reach_mid_run"
        )
    return settings.database_url


def test_postgresql_cut_off_mid_run_is_503_then_recovers(postgres_url: str) -> None:
    url = make_url(postgres_url)
    relay = PortForward((url.host or "127.0.0.1", url.port or 5432))
    relay.open()
    relayed = url.set(port=relay.port).render_as_string(hide_password=False)
    settings = Settings(
        database_url=relayed, clinic_timezone="UTC", overload_wait_seconds=2, _env_file=None
    )
    try:
        with TestClient(create_app(settings)) as client:
            nurse = sign_in(client, next(r for r in ROLE_USERS if r.value == "nurse"))
            sid = new_session(nurse)["id"]
            assert post_reading(nurse, sid, heart_rate=70).status_code == 201
            relay.cut()
            assert_503(post_reading(nurse, sid, heart_rate=71), "reading, server gone")
            assert_503(nurse.get(f"/api/sessions/{sid}/readings"), "read, server gone")
            assert_503(
                client.post("/api/auth/login", json={"username": "x", "password": "y" * 12}),
                "sign-in, server gone",
            )
            health = client.get("/api/health")
            assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
            relay.open()  # the same port again: the server is back
            assert client.get("/api/health").status_code == 200
            assert post_reading(nurse, sid, heart_rate=72).status_code == 201
    finally:
        relay.cut()


def test_postgresql_connections_terminated_mid_run_are_replaced_not_500(
    postgres_url: str, app: FastAPI, as_nurse: TestClient, session_id: int
) -> None:
    assert post_reading(as_nurse, session_id, heart_rate=70).status_code == 201
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    assert killed
    for rate in (71, 72, 73):
        response = post_reading(as_nurse, session_id, heart_rate=rate)
        assert response.status_code in (201, 503), response.text
    assert post_reading(as_nurse, session_id, heart_rate=74).status_code == 201


def test_starting_against_a_server_that_refuses_says_so_not_run_the_migrations() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once it is closed
    settings = Settings(
        database_url=f"postgresql+psycopg://vigil:secret@127.0.0.1:{closed_port}/vigil",
        _env_file=None,
    )
    with pytest.raises(RuntimeError) as refused, TestClient(create_app(settings)):
        pass
    message = str(refused.value)
    assert "unavailable" in message and "refused" in message
    assert "vigil db upgrade" not in message and "secret" not in message


# --- SQLite's file out of reach, for real ---


@pytest.fixture
def sqlite_in_folder(tmp_path: Path) -> Path:
    """A Vigil SQLite database alone in a folder, with a nurse account."""
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'vigil.db'}"
    upgrade(url)
    database = Database(url)
    with database.unit_of_work(write=True) as db:
        users.create_user(db, "fault-nurse", PASSWORD, Role.NURSE)
        # The tests' admin: the test helpers configure the chairs sessions start on.
        users.create_user(db, ROLE_USERS[Role.ADMIN], PASSWORD, Role.ADMIN)
    database.dispose()
    return folder


def test_sqlite_file_out_of_reach_mid_run_is_503_then_recovers(
    sqlite_in_folder: Path, tmp_path: Path
) -> None:
    """The database's folder is taken away (a disk unmounted, a volume detached) and a file
    put where it was, so SQLite can neither open the database nor create a new empty one."""
    folder = sqlite_in_folder
    aside = tmp_path / "data-unmounted"
    settings = Settings(
        database_url=f"sqlite:///{folder / 'vigil.db'}", clinic_timezone="UTC", _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        login = {"username": "fault-nurse", "password": PASSWORD}
        assert client.post("/api/auth/login", json=login).status_code == 200
        sid = new_session(client)["id"]
        assert post_reading(client, sid, heart_rate=70).status_code == 201
        database: Database = client.app.state.database  # type: ignore[attr-defined]
        folder.rename(aside)
        folder.write_text("not a folder")
        database.engine.dispose()  # open connections kept the old file; new ones cannot
        try:
            assert_503(post_reading(client, sid, heart_rate=71), "reading, file gone")
            assert_503(client.get(f"/api/sessions/{sid}/readings"), "read, file gone")
            assert_503(client.post("/api/auth/login", json=login), "sign-in, file gone")
            health = client.get("/api/health")
            assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
        finally:
            folder.unlink()
            aside.rename(folder)
        assert client.get("/api/health").status_code == 200
        assert post_reading(client, sid, heart_rate=72).status_code == 201


# --- PostgreSQL refusing connections (53300), for real ---


FAULT_ROLE = "vigil_fault_role"
KILL_ROLE_SESSIONS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'vigil_fault_role'"
)


def test_postgresql_refusing_new_connections_is_503_then_recovers(postgres_url: str) -> None:
    """The role Vigil signs in as is cut to zero connections and its sessions terminated: the
    server answers 'too many connections' to every new one, as when max_connections is reached."""
    role = FAULT_ROLE
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def as_admin(*statements: str) -> None:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))

    database_name = make_url(postgres_url).database
    as_admin(
        f"DROP OWNED BY {role}" if _role_exists(admin, role) else "SELECT 1",
        f"DROP ROLE IF EXISTS {role}",
        f"CREATE ROLE {role} LOGIN",
        f'GRANT CONNECT ON DATABASE "{database_name}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}",
    )
    url = make_url(postgres_url).set(username=role, password=None)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False),
        clinic_timezone="UTC",
        _env_file=None,
    )
    try:
        with TestClient(create_app(settings)) as client:
            nurse = sign_in(client, next(r for r in ROLE_USERS if r.value == "nurse"))
            sid = new_session(nurse)["id"]
            as_admin(
                f"ALTER ROLE {role} CONNECTION LIMIT 0",
                KILL_ROLE_SESSIONS,
            )
            assert_503(post_reading(nurse, sid, heart_rate=71), "reading, no connection")
            health = client.get("/api/health")
            assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
            as_admin(f"ALTER ROLE {role} CONNECTION LIMIT -1")
            assert client.get("/api/health").status_code == 200
            assert post_reading(nurse, sid, heart_rate=72).status_code == 201
    finally:
        as_admin(
            KILL_ROLE_SESSIONS,
            f"DROP OWNED BY {role}",
            f"DROP ROLE {role}",
        )
        admin.dispose()


def _role_exists(admin: Any, role: str) -> bool:
    with admin.connect() as conn:
        return bool(
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        )


@pytest.mark.parametrize(
    ("orig", "answer"),
    [
        (psycopg.errors.DiskFull("could not extend file"), "full"),
        (psycopg.errors.TooManyConnections("sorry, too many clients already"), "unavailable"),
        (psycopg.errors.AdminShutdown("terminating connection"), "unavailable"),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), "unavailable"),
        (psycopg.OperationalError("connection failed: Connection refused"), "unavailable"),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), "busy"),
        (psycopg.errors.DeadlockDetected("deadlock detected"), "busy"),
        (psycopg.errors.UndefinedTable('relation "x" does not exist'), None),
        (psycopg.errors.SyntaxError("syntax error"), None),
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (sqlite3.OperationalError("disk I/O error"), "unavailable"),
        (sqlite3.OperationalError("unable to open database file"), "unavailable"),
        (sqlite3.OperationalError("database is locked"), "busy"),
        (sqlite3.OperationalError("no such table: readings"), None),
    ],
)
def test_which_driver_errors_are_503s(orig: Exception, answer: str | None) -> None:
    base = sqlite3.Error if isinstance(orig, sqlite3.Error) else psycopg.Error
    wrapped = DBAPIError.instance("SELECT 1", {}, orig, base)  # as SQLAlchemy wraps them
    found = overload_of(wrapped)
    if answer is None:
        assert found is None
        return
    assert found is not None and found.status_code == 503
    assert found.full == (answer == "full")
    if answer == "unavailable":
        assert "cannot be reached" in found.message or "no connection free" in found.message
