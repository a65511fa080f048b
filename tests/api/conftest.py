"""Fixtures for API tests: several people at once, machine clients, and cheap sign-ins.

Signing in verifies an argon2 hash (a few hundred milliseconds by design), so most tests act
through one shared sign-in per role made once per run (`as_nurse`, `as_admin`, ...). A test that
signs out, or otherwise ends a sign-in, must use a sign-in of its own (`nurse`, `sign_in`).
"""

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend import flows
from backend.alerts.limit_profiles import MONITORED
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.sessions.models import InfusionSession
from backend.sessions.schemas import PhaseChangeIn
from backend.users.auth import SESSION_COOKIE
from tests.api import support
from tests.api.support import ClientFactory, RoleClient
from tests.conftest import server_fixtures, sign_in

# A server for each test file that asks for one, not for the rest of the package: its alarm
# clock, ticking on the wall clock, would tick the sessions of later files whose tests move the
# clock themselves (an alarm they raised a minute ahead was cleared by a tick at "now").
database_url, settings, database, live_server = server_fixtures("api-db", server_scope="module")


TIDY_UP = Actor(kind="user", id=0, name="test-tidy-up", role=Role.ADMIN)


@pytest.fixture(scope="module", autouse=True)
def earlier_modules_sessions_stopped(settings: Settings, database: Database) -> None:
    """Each test file starts with no session of an earlier one still monitored. Left open (483
    by the end of a run), every app and server the tests start ticked its alarm clock over each
    of them every second: the SQLite run's tests outside the browser took 291 s of CPU with
    them, 247 without. They are stopped as anyone's would be (recorded, alarms closed)."""
    with database.unit_of_work(write=True) as db:
        monitored = db.scalars(
            select(InfusionSession.id).where(InfusionSession.phase.in_(MONITORED))
        ).all()
        for session_id in monitored:
            flows.change_phase(
                db,
                session_id,
                PhaseChangeIn(phase="stopped", note="test tidy-up"),
                TIDY_UP,
                future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
                tz=settings.clinic_zone,
            )


@pytest.fixture(autouse=True)
def app_for_helpers(app: FastAPI) -> Iterator[None]:
    """Lets `support.session_body` configure its chair on this test's app."""
    support.current_app = app
    yield
    support.current_app = None


@pytest.fixture(scope="package")
def shared_logins() -> dict[Role, str]:
    """The cookie secret of one sign-in per role, made when first needed, for the API tests."""
    return {}


@pytest.fixture
def new_client(client: TestClient) -> Iterator[ClientFactory]:
    """Extra clients of the app that `client` started."""
    factory = ClientFactory(client)
    yield factory
    for extra in factory.made:
        extra.close()


@pytest.fixture
def as_role(new_client: ClientFactory, shared_logins: dict[Role, str]) -> RoleClient:
    def signed_in(role: Role) -> TestClient:
        if role not in shared_logins:
            shared_logins[role] = sign_in(new_client(), role).cookies[SESSION_COOKIE]
        return new_client(cookies={SESSION_COOKIE: shared_logins[role]})

    return signed_in


@pytest.fixture
def as_nurse(as_role: RoleClient) -> TestClient:
    return as_role(Role.NURSE)


@pytest.fixture
def as_admin(as_role: RoleClient) -> TestClient:
    return as_role(Role.ADMIN)


@pytest.fixture
def as_staff(as_role: RoleClient) -> TestClient:
    return as_role(Role.STAFF)


@pytest.fixture
def as_trainer(as_role: RoleClient) -> TestClient:
    return as_role(Role.TRAINER)


@pytest.fixture
def bearer(new_client: ClientFactory) -> Callable[[str], TestClient]:
    """A machine client presenting an API token and no cookie."""

    def with_token(secret: str) -> TestClient:
        return new_client(headers={"Authorization": f"Bearer {secret}"})

    return with_token
