"""Sign-in is throttled per name and per address, in the database: repeated failures lock a name
(or an address) out with 429 and Retry-After, even with the right password, and a restart of
the server does not lift the lockout. Time is an injected clock; nothing sleeps.

These tests run on a database of their own: a lockout that outlived its test would lock the
shared test accounts out of every later test.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.migrations import upgrade
from backend.users import service as users
from backend.users.throttle import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, LoginThrottle
from tests.api.support import message, unique
from tests.conftest import PASSWORD, empty_database

WRONG = "not-the-password-at-all"


class Clock:
    def __init__(self) -> None:
        # Far from the real clock: rows other tests leave are never inside this one's window.
        self.now = datetime(2031, 1, 1, 9, 0, tzinfo=UTC) + timedelta(days=_next_day())

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


_days = iter(range(10_000))


def _next_day() -> int:
    return next(_days)


@pytest.fixture(scope="module")
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with empty_database(tmp_path_factory.mktemp("lockout")) as url:
        upgrade(url)
        database = Database(url)
        yield database
        database.dispose()


@pytest.fixture
def own_settings(own_database: Database) -> Settings:
    return Settings(database_url=own_database.url, clinic_timezone="UTC", _env_file=None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def start(settings: Settings, clock: Clock) -> FastAPI:
    """A server process: a new app on the same database, with the test's clock."""
    app = create_app(settings)
    app.state.login_throttle = LoginThrottle(clock=clock)
    return app


def account(database: Database, role: Role = Role.NURSE) -> str:
    name = unique("lock")
    with database.unit_of_work(write=True) as db:
        users.create_user(db, name, PASSWORD, role)
    return name


def sign_in(client: TestClient, name: str, password: str) -> int:
    return client.post("/api/auth/login", json={"username": name, "password": password}).status_code


def test_five_wrong_passwords_lock_the_name_out_even_with_the_right_one(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.1", 5000)) as client:
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            assert sign_in(client, name, WRONG) == 401
        locked = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == "300"
        assert message(locked) == "too many failed sign-ins for this name; try again in 5 min"
        # Case does not buy more guesses.
        assert sign_in(client, name.upper(), WRONG) == 429


def test_the_lockout_lifts_when_the_oldest_failure_leaves_the_window(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.2", 5000)) as client:
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            assert sign_in(client, name, WRONG) == 401
            clock.advance(10)
        locked = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert locked.headers["Retry-After"] == str(300 - 50)
        clock.advance(250)
        assert sign_in(client, name, PASSWORD) == 200


def test_a_restart_keeps_the_lockout(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.3", 5000)) as first:
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            assert sign_in(first, name, WRONG) == 401
    # A new server process on the same database: the in-memory throttle forgot here.
    with TestClient(start(own_settings, clock), client=("10.1.0.3", 5000)) as restarted:
        assert sign_in(restarted, name, PASSWORD) == 429
        clock.advance(300)
        assert sign_in(restarted, name, PASSWORD) == 200


def test_a_success_clears_the_names_failures(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.4", 5000)) as client:
        for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
            assert sign_in(client, name, WRONG) == 401
        assert sign_in(client, name, PASSWORD) == 200
        for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
            assert sign_in(client, name, WRONG) == 401
        assert sign_in(client, name, PASSWORD) == 200


def test_one_address_guessing_at_many_names_is_locked_out(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    victim = account(own_database)
    app = start(own_settings, clock)
    with TestClient(app, client=("10.1.0.5", 5000)) as sprayer:
        # One guess at each of many names never reaches any name's limit.
        for _ in range(MAX_FAILURES_PER_ADDRESS):
            assert sign_in(sprayer, unique("guess"), WRONG) == 401
        refused = sprayer.post("/api/auth/login", json={"username": victim, "password": PASSWORD})
        assert refused.status_code == 429
        assert "from this address" in message(refused)
        assert int(refused.headers["Retry-After"]) == 300
    # The nurse at another workstation is not locked out by it.
    with TestClient(app, client=("10.1.0.6", 5000)) as colleague:
        assert sign_in(colleague, victim, PASSWORD) == 200


def test_the_address_keeps_its_count_after_a_success(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    # Else one known account would reset the allowance for guessing at the others.
    known = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.7", 5000)) as client:
        for _ in range(MAX_FAILURES_PER_ADDRESS - 1):
            assert sign_in(client, unique("guess"), WRONG) == 401
        assert sign_in(client, known, PASSWORD) == 200
        assert sign_in(client, unique("guess"), WRONG) == 401
        assert sign_in(client, unique("guess"), WRONG) == 429


def test_wrong_current_passwords_in_a_password_change_count_as_failed_sign_ins(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.8", 5000)) as client:
        assert sign_in(client, name, PASSWORD) == 200
        change = {"current_password": WRONG, "new_password": "a-brand-new-secret-42"}
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            assert client.post("/api/auth/password", json=change).status_code == 422
        refused = client.post("/api/auth/password", json=change | {"current_password": PASSWORD})
        assert refused.status_code == 429, refused.text
        assert "Retry-After" in refused.headers


def test_failures_are_kept_only_for_the_window(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    from sqlalchemy import func, select

    from backend.users.models import SignInFailure

    with TestClient(start(own_settings, clock), client=("10.1.0.9", 5000)) as client:
        sign_in(client, unique("gone"), WRONG)
        clock.advance(301)
        sign_in(client, unique("kept"), WRONG)
    with own_database.unit_of_work(write=False) as db:
        oldest = db.scalar(select(func.min(SignInFailure.failed_at)))
    assert oldest == clock.now


def test_a_sign_in_from_a_foreign_origin_is_refused(
    own_database: Database, own_settings: Settings, clock: Clock
) -> None:
    name = account(own_database)
    with TestClient(start(own_settings, clock), client=("10.1.0.10", 5000)) as client:
        forged = client.post(
            "/api/auth/login",
            json={"username": name, "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403, forged.text
        assert "origin" in message(forged)
        assert "set-cookie" not in forged.headers
        own = client.post(
            "/api/auth/login",
            json={"username": name, "password": PASSWORD},
            headers={"Origin": "http://testserver"},
        )
        assert own.status_code == 200, own.text
