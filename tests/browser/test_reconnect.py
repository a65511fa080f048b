"""Recovering the live stream: after a server restart, a silent link, or an ended sign-in."""

import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from tests.browser.conftest import (
    api_client,
    open_routed,
    sign_in,
    trace,
    wait_for_points,
    wait_until_live,
)
from tests.conftest import LiveServer
from tests.conftest import sign_in as sign_in_client
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser


@pytest.fixture
def own_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
    """A server of this test's own, free to be stopped and started again on the same port."""
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


def test_the_page_reconnects_after_a_restart_and_fills_the_gap(
    page: Page, own_server: LiveServer, settings: Settings
) -> None:
    with api_client(own_server.url, Role.NURSE) as client:
        session = new_session(client)
        assert post_reading(client, session["id"], heart_rate=70).status_code == 201
    sign_in(page, own_server.url)
    page.goto(f"{own_server.url}/sessions/{session['id']}")
    wait_until_live(page)
    assert trace(page, "heart_rate")["y"] == [70]

    own_server.stop()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "reconnecting")
    # While the page's server is down, readings keep arriving through another server process
    # on the same database.
    with TestClient(create_app(settings)) as other:
        sign_in_client(other, Role.NURSE)
        for hr in (71, 72, 73):
            assert post_reading(other, session["id"], heart_rate=hr).status_code == 201

    own_server.start()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10000)
    wait_for_points(page, "heart_rate", 4, timeout_ms=10000)
    assert trace(page, "heart_rate")["y"] == [70, 71, 72, 73]  # in order, none twice

    # And it is live again, not just backfilled.
    with api_client(own_server.url, Role.NURSE) as client:
        assert post_reading(client, session["id"], heart_rate=74).status_code == 201
    wait_for_points(page, "heart_rate", 5)
    assert trace(page, "heart_rate")["y"] == [70, 71, 72, 73, 74]


def test_a_silent_link_is_dropped_and_resumed_from_its_cursor(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    link = open_routed(page, live_server, session["id"])
    deadline = time.monotonic() + 5
    while link.heartbeats == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert link.heartbeats > 0, "no heartbeat arrived: the page cannot learn the interval"

    link.silent = True
    assert post_reading(nurse_api, session["id"], heart_rate=88).status_code == 201
    # Heartbeats come every second in tests: after three silent seconds the page gives up on
    # the socket, reconnects after its cursor and receives the reading it never saw. (The
    # "reconnecting" state can last only a moment, so the second socket is what is checked.)
    deadline = time.monotonic() + 10
    while len(link.routes) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(link.routes) == 2, "the page did not give up on the silent socket"
    wait_for_points(page, "heart_rate", 1, timeout_ms=8000)
    assert trace(page, "heart_rate")["y"] == [88]
    assert len(link.routes) == 2


def test_a_stream_refused_for_sign_in_sends_the_page_to_sign_in(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    link = open_routed(page, live_server, session["id"])
    response = page.context.request.post(f"{live_server.url}/api/auth/logout")
    assert response.ok, response.text()

    link.routes[0].close(code=1012, reason="server restarting")  # the page reconnects...
    page.wait_for_url(f"**/login?next=%2Fsessions%2F{session['id']}")  # ...and is refused
