"""A live stream ends when the credential it was opened with stops being valid (4401), and a
peer that stops reading is closed (4408) instead of holding a send forever."""

import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.security import digest
from backend.core.settings import Settings
from backend.streaming.bus import EventBus
from backend.streaming.events import Event
from backend.streaming.router import CREDENTIAL_CHECK_SECONDS
from backend.users import service as users
from backend.users.auth import SESSION_COOKIE
from backend.users.models import BrowserLogin, User
from tests.conftest import PASSWORD, ROLE_USERS, LiveServer
from tests.stream_client import open_stream

# "Promptly": this process's own changes end a stream at once; the margin is for a busy machine.
PROMPT = 3.0


@pytest.fixture
def admin_api(live_server: LiveServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=live_server.url, timeout=10) as client:
        response = client.post(
            "/api/auth/login", json={"username": ROLE_USERS[Role.ADMIN], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client


def _new_token(admin_api: httpx2.Client) -> dict[str, Any]:
    response = admin_api.post(
        "/api/tokens", json={"name": f"ws-{os.urandom(5).hex()}", "role": "staff"}
    )
    assert response.status_code == 201, response.text
    token: dict[str, Any] = response.json()
    return token


def _new_user_login(admin_api: httpx2.Client, live_server: LiveServer) -> tuple[int, str]:
    """A fresh nurse account signed in on the live server: (user id, cookie secret)."""
    name = f"ws-nurse-{os.urandom(5).hex()}"
    created = admin_api.post(
        "/api/users", json={"username": name, "password": PASSWORD, "role": "nurse"}
    )
    assert created.status_code == 201, created.text
    with httpx2.Client(base_url=live_server.url, timeout=10) as browser:
        signed_in = browser.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        secret = browser.cookies[SESSION_COOKIE]
    return created.json()["id"], secret


def _cookie_stream(live_server: LiveServer, secret: str) -> ClientConnection:
    return connect(
        f"{live_server.ws_url}/api/stream",
        additional_headers={"Cookie": f"{SESSION_COOKIE}={secret}"},
        open_timeout=5,
        close_timeout=1,
    )


def _closed(connection: ClientConnection, within: float) -> tuple[int, str]:
    """Wait (skipping messages) for the server to close; the close code and reason."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            connection.recv(timeout=left)
        except TimeoutError:
            break
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code, closed.rcvd.reason
    pytest.fail(f"the stream was still open {within} s later")


def _ready(connection: ClientConnection) -> None:
    while '"ready"' not in str(connection.recv(timeout=5)):
        pass


def test_revoking_a_token_ends_its_streams_with_4401(
    live_server: LiveServer, admin_api: httpx2.Client
) -> None:
    token = _new_token(admin_api)
    other = _new_token(admin_api)
    with (
        open_stream(live_server.ws_url, token["token"]) as stream,
        open_stream(live_server.ws_url, other["token"]) as unaffected,
    ):
        stream.until_ready()
        unaffected.until_ready()
        assert admin_api.delete(f"/api/tokens/{token['id']}").status_code == 200
        code, reason = _closed(stream.connection, PROMPT)
        assert code == 4401
        assert "sign in again" in reason
        # Another token's stream goes on: it still gets messages (heartbeats, or events of
        # other tests' sessions: a ward-wide stream carries every chair's).
        assert unaffected.next_message(timeout=PROMPT)["type"] in {"heartbeat", "event"}


def test_signing_out_ends_that_browsers_streams_with_4401(
    live_server: LiveServer, admin_api: httpx2.Client
) -> None:
    _, secret = _new_user_login(admin_api, live_server)
    with _cookie_stream(live_server, secret) as connection:
        _ready(connection)
        with httpx2.Client(base_url=live_server.url, cookies={SESSION_COOKIE: secret}) as browser:
            assert browser.post("/api/auth/logout").status_code == 204
        assert _closed(connection, PROMPT)[0] == 4401


def test_disabling_an_account_ends_its_streams_with_4401(
    live_server: LiveServer, admin_api: httpx2.Client
) -> None:
    user_id, secret = _new_user_login(admin_api, live_server)
    with _cookie_stream(live_server, secret) as connection:
        _ready(connection)
        response = admin_api.patch(f"/api/users/{user_id}", json={"is_active": False})
        assert response.status_code == 200, response.text
        assert _closed(connection, PROMPT)[0] == 4401


def test_a_revocation_made_elsewhere_is_caught_by_the_periodic_check(
    live_server: LiveServer, admin_api: httpx2.Client, database: Database
) -> None:
    """Another worker (or `vigil` on the command line) changed the database: no event here."""
    token = _new_token(admin_api)
    with open_stream(live_server.ws_url, token["token"]) as stream:
        stream.until_ready()
        with database.unit_of_work(write=True) as db:
            users.revoke_token(db, token["id"])
        assert _closed(stream.connection, CREDENTIAL_CHECK_SECONDS + PROMPT)[0] == 4401


def test_a_login_gone_idle_is_caught_by_the_periodic_check(
    live_server: LiveServer, admin_api: httpx2.Client, database: Database, settings: Settings
) -> None:
    _, secret = _new_user_login(admin_api, live_server)
    with _cookie_stream(live_server, secret) as connection:
        _ready(connection)
        long_ago = datetime.now(UTC) - timedelta(minutes=settings.login_idle_minutes + 1)
        with database.unit_of_work(write=True) as db:
            db.execute(
                update(BrowserLogin)
                .where(BrowserLogin.secret_digest == digest(secret))
                .values(last_seen_at=long_ago)
            )
        assert _closed(connection, CREDENTIAL_CHECK_SECONDS + PROMPT)[0] == 4401


# --- the last admin -------------------------------------------------------------------------


@pytest.fixture
def sole_admin(database: Database) -> Iterator[int]:
    """Every other active admin disabled for the test (restored after): test-admin is the last."""
    with database.unit_of_work(write=True) as db:
        admin = db.query(User).filter_by(username=ROLE_USERS[Role.ADMIN]).one()
        others = [
            u.id
            for u in db.query(User).filter(
                User.role == "admin", User.is_active.is_(True), User.id != admin.id
            )
        ]
        db.execute(update(User).where(User.id.in_(others)).values(is_active=False))
        admin_id, name = admin.id, admin.display_name
    yield admin_id
    with database.unit_of_work(write=True) as db:
        db.execute(update(User).where(User.id.in_(others)).values(is_active=True))
        # Its name too: later tests of the package find test-admin as they left it.
        db.execute(
            update(User)
            .where(User.id == admin_id)
            .values(is_active=True, role="admin", display_name=name)
        )


def test_the_last_active_admin_cannot_be_disabled_or_demoted(
    admin_api: httpx2.Client, sole_admin: int
) -> None:
    for change in ({"is_active": False}, {"role": "nurse"}):
        response = admin_api.patch(f"/api/users/{sole_admin}", json=change)
        assert response.status_code == 409, response.text
        assert "last active admin" in response.json()["detail"]
    # Other changes to that account are still fine.
    response = admin_api.patch(f"/api/users/{sole_admin}", json={"display_name": "Still here"})
    assert response.status_code == 200, response.text


def test_with_a_second_admin_either_can_be_disabled(
    admin_api: httpx2.Client, sole_admin: int
) -> None:
    second = admin_api.post(
        "/api/users",
        json={"username": f"ws-admin-{os.urandom(5).hex()}", "password": PASSWORD, "role": "admin"},
    ).json()
    response = admin_api.patch(f"/api/users/{second['id']}", json={"is_active": False})
    assert response.status_code == 200, response.text
    # Now test-admin is the last again.
    assert admin_api.patch(f"/api/users/{sole_admin}", json={"is_active": False}).status_code == 409
    assert (
        admin_api.patch(f"/api/users/{second['id']}", json={"is_active": True}).status_code == 200
    )
    response = admin_api.patch(f"/api/users/{second['id']}", json={"role": "staff"})
    assert response.status_code == 200, response.text


# --- a peer that stops reading -----------------------------------------------------------------

SEND_TIMEOUT = 1.0


@pytest.fixture
def stall_server(settings: Settings, database: Database) -> Iterator[tuple[str, FastAPI]]:
    """A server of its own (its bus gets made-up events) with a short send timeout."""
    server = LiveServer(settings.model_copy(update={"stream_send_timeout_seconds": SEND_TIMEOUT}))
    server.start()
    assert server.app is not None
    yield server.ws_url, server.app
    server.stop()


def _raw_stream(ws_url: str, token: str) -> tuple[socket.socket, ClientProtocol]:
    """A WebSocket opened by hand on a socket with a tiny receive buffer, so it fills quickly."""
    protocol = ClientProtocol(parse_uri(f"{ws_url}/api/stream"))
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token}"
    protocol.send_request(request)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    host, port = ws_url.removeprefix("ws://").split(":")
    sock.connect((host, int(port)))
    sock.sendall(b"".join(protocol.data_to_send()))
    while protocol.handshake_exc is None and protocol.state.name != "OPEN":
        protocol.receive_data(sock.recv(1024))
    assert protocol.handshake_exc is None
    return sock, protocol


def test_a_peer_that_stops_reading_is_closed_with_4408(
    stall_server: tuple[str, FastAPI], database: Database
) -> None:
    ws_url, app = stall_server
    with database.unit_of_work(write=True) as db:
        _, token = users.create_token(db, f"stall-{os.urandom(5).hex()}", Role.STAFF)
    sock, protocol = _raw_stream(ws_url, token)
    bus: EventBus = app.state.bus
    deadline = time.monotonic() + 5
    while bus.subscriber_count == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # ~13 MB of events, far more than the socket buffers hold; this client reads none of it.
    padding = os.urandom(32 * 1024).hex()
    now = datetime.now(UTC)
    first = bus.position + 1
    events = [Event(first + i, "test.filler", None, {"pad": padding}, now) for i in range(200)]
    bus.publish_threadsafe(events)
    started = time.monotonic()
    # The server gives up on the send within its timeout and lets go of the subscription.
    while bus.subscriber_count:
        assert time.monotonic() - started < SEND_TIMEOUT + PROMPT, "the stalled send never ended"
        time.sleep(0.02)
    # Reading again, the client finds the close frame behind what was already buffered.
    close: Close | None = None
    try:
        while close is None:
            data = sock.recv(1 << 16)
            if not data:
                break
            protocol.receive_data(data)
            protocol.events_received()
            close = protocol.close_rcvd
    finally:
        sock.close()
    assert close is not None, "no close frame"
    assert close.code == 4408
