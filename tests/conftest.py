"""Shared fixtures: a database built by migrations (SQLite, or PostgreSQL when asked), one
account per role, an in-process client, and a real server on a loopback port."""

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import httpcore2 as httpcore
import pytest
import uvicorn
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from backend.core import security
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.migrations import upgrade
from backend.users import service as users

PASSWORD = "correct-horse-battery"
ROLE_USERS = {role: f"test-{role.value}" for role in Role}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with its cheapest parameters for the run. The clinic's parameters cost 0.1 s and
    64 MiB a sign-in, which over a thousand sign-ins is minutes of test time checking nothing
    more: the hashing and verifying code is the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        yield


@pytest.fixture(scope="session", autouse=True)
def no_mllp_listener() -> Iterator[None]:
    """Test apps run no MLLP listener on HL7's port 2575 (VIGIL_MLLP_PORT=0 for every Settings
    the tests make); tests/test_mllp_* give theirs a free port of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIGIL_MLLP_PORT", "0")
        patch.delenv("VIGIL_SIMULATOR_MLLP", raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """One TLS context for the run's HTTP clients. Each new client loads the system's CA
    bundle into a context of its own (20-30 ms), which the tests' hundreds of clients of
    plain-HTTP loopback servers never use: a fifth of a browser test file's CPU went on it."""
    context = httpcore.default_ssl_context()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpcore, "default_ssl_context", lambda **_: context)
        yield


def _postgres_admin_url() -> str | None:
    return os.environ.get("VIGIL_TEST_POSTGRES_URL")


def _on_postgres() -> bool:
    return os.environ.get("VIGIL_TEST_DATABASE", "sqlite") == "postgresql"


@contextmanager
def _new_postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template` if given), dropped afterwards."""
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.exit("VIGIL_TEST_DATABASE=postgresql needs VIGIL_TEST_POSTGRES_URL", returncode=2)
    name = f"vigil_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def empty_database(tmp_dir: Path) -> Iterator[str]:
    """A new, empty database on the backend under test; dropped afterwards."""
    if not _on_postgres():
        yield f"sqlite:///{tmp_dir / f'vigil-{uuid.uuid4().hex[:8]}.db'}"
        return
    with _new_postgres_database() as url:
        yield url


class _Template:
    """A database migrated once per run (`alembic upgrade head` takes a second or more) that
    `migrated_database` copies: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
    PostgreSQL. Made when first asked for; dropped at the end of the run."""

    def __init__(self, tmp_dir: Path) -> None:
        self._tmp_dir = tmp_dir
        self._made: ExitStack | None = None
        self._url = ""

    def url(self) -> str:
        if self._made is None:
            self._made = ExitStack()
            self._url = self._made.enter_context(empty_database(self._tmp_dir))
            upgrade(self._url)
        return self._url

    def close(self) -> None:
        if self._made is not None:
            self._made.close()


_templates: list[_Template] = []


@pytest.fixture(scope="session", autouse=True)
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    template = _Template(tmp_path_factory.mktemp("template"))
    _templates.append(template)
    yield
    _templates.remove(template)
    template.close()


@contextmanager
def migrated_database(tmp_dir: Path) -> Iterator[str]:
    """A new database with the schema `alembic upgrade head` makes (a copy of the run's
    template); dropped afterwards."""
    template = _templates[-1].url()
    if not _on_postgres():
        path = tmp_dir / f"vigil-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(make_url(template).database or "", path)
        yield f"sqlite:///{path}"
        return
    with _new_postgres_database(template=make_url(template).database) as url:
        yield url


def suite_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        stream_heartbeat_seconds=1.0,
        simulation_tick_seconds=0.2,
        # Clock times in messages and records are asserted in UTC, whatever the machine's zone.
        clinic_timezone="UTC",
        _env_file=None,
    )


@contextmanager
def with_role_users(settings: Settings) -> Iterator[Database]:
    """The settings' database with one account per role (`ROLE_USERS`, `PASSWORD`)."""
    db = Database(settings.database_url)
    with db.unit_of_work(write=True) as session:
        for role, name in ROLE_USERS.items():
            users.create_user(session, name, PASSWORD, role)
    yield db
    db.dispose()


_apps: dict[str, FastAPI] = {}


def shared_app(settings: Settings) -> FastAPI:
    """One app per distinct settings for the run; each test's client starts it afresh (its
    database, bus, alarm clock and simulations are the lifespan's). FastAPI builds a route's
    dependencies and validators the first time an app routes to it, about 0.2 s a test: a
    new app per test spent a third of the API tests' time on it."""
    key = settings.model_dump_json()
    if key not in _apps:
        _apps[key] = create_app(settings)
    return _apps[key]


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return shared_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def sign_in(client: TestClient, role: Role) -> TestClient:
    response = client.post(
        "/api/auth/login", json={"username": ROLE_USERS[role], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return client


@pytest.fixture
def nurse(client: TestClient) -> TestClient:
    return sign_in(client, Role.NURSE)


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    return sign_in(client, Role.ADMIN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """Vigil served by uvicorn in a thread of this process, on a loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self._settings = settings
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: FastAPI | None = None  # the app served since the last start

    def start(self) -> None:
        self.app = create_app(self._settings)
        # The tests' httpx clients keep an idle connection for 5 s, uvicorn's default keep-alive
        # too: a request sent on it just as the server closes it meets "connection reset" (CI
        # failed on it). Real gateways retry (simulators/gateway.py); the tests' clients do not.
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_keep_alive=60
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None


@contextmanager
def serving(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


def server_fixtures(
    folder: str, server_scope: Literal["package", "module"] = "package"
) -> tuple[Any, Any, Any, Any]:
    """`database_url`, `settings`, `database` and `live_server` for the tests of the package
    whose conftest takes them: a database of their own (a copy of the run's migrated template,
    in `folder`) with one account per role, served on a loopback port when a test asks for
    `live_server` (for the package, or for each test file that asks: `server_scope`), and all
    of it gone when the package's tests are done. A server left running went on ticking its
    alarm clock over every session its tests had left open: a third of the browser tests' CPU
    went on the API tests' hundreds."""

    @pytest.fixture(scope="package")
    def database_url(
        tmp_path_factory: pytest.TempPathFactory, database_template: None
    ) -> Iterator[str]:
        with migrated_database(tmp_path_factory.mktemp(folder)) as url:
            yield url

    @pytest.fixture(scope="package")
    def settings(database_url: str) -> Settings:
        return suite_settings(database_url)

    @pytest.fixture(scope="package")
    def database(settings: Settings) -> Iterator[Database]:
        with with_role_users(settings) as db:
            yield db

    @pytest.fixture(scope=server_scope)
    def live_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
        with serving(settings) as server:
            yield server

    return database_url, settings, database, live_server


database_url, settings, database, live_server = server_fixtures("db")
