"""Signing in and out in the browser."""

import re
import uuid

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from backend.users.throttle import MAX_FAILURES_PER_ACCOUNT
from tests.browser.conftest import api_client
from tests.conftest import PASSWORD, ROLE_USERS, LiveServer
from tests.helpers import new_session

pytestmark = pytest.mark.browser


def test_a_wrong_password_shows_an_error_and_stays_on_sign_in(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("#username", ROLE_USERS[Role.NURSE])
    page.fill("#password", "not-the-password")
    page.press("#password", "Enter")

    expect(page.locator("#login-error")).to_contain_text("Wrong username or password")
    assert page.url.endswith("/login")
    expect(page.locator("#password")).to_be_focused()


def test_signing_in_opens_the_ward_and_shows_who_is_signed_in(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("#username", ROLE_USERS[Role.NURSE])
    page.fill("#password", PASSWORD)
    page.click("#login-submit")

    page.wait_for_url(f"{live_server.url}/ward")
    expect(page.locator("#who-name")).to_have_text(ROLE_USERS[Role.NURSE])
    expect(page.locator("#who-role")).to_have_text("Nurse")

    page.click("#sign-out")
    # The page's own 401 (its stream, a poll) may win the race to the sign-in page and ask to
    # come back to the ward afterwards: either way the nurse is signed out.
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/login") + r"(\?next=%2Fward)?$"))
    page.goto(f"{live_server.url}/ward")
    page.wait_for_url(f"{live_server.url}/login?next=%2Fward")


def test_a_signed_out_visit_comes_back_to_the_same_page_after_sign_in(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    page.wait_for_url("**/login?next=*")

    page.fill("#username", ROLE_USERS[Role.NURSE])
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")

    page.wait_for_url(f"{live_server.url}/sessions/{session['id']}")
    expect(page.locator("#session-title")).to_contain_text(session["chair"])


def test_a_locked_out_name_is_told_how_long_to_wait(page: Page, live_server: LiveServer) -> None:
    # An account of its own: the lockout outlives the test, in the database.
    with api_client(live_server.url, Role.ADMIN) as admin:
        name = f"locked-{uuid.uuid4().hex[:8]}"
        body = {"username": name, "password": PASSWORD, "role": "nurse"}
        assert admin.post("/api/users", json=body).status_code == 201
    page.goto(f"{live_server.url}/login")
    page.fill("#username", name)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        page.fill("#password", "not-the-password")
        page.press("#password", "Enter")
        expect(page.locator("#login-error")).to_contain_text("Wrong username or password")
        expect(page.locator("#login-submit")).to_be_enabled()
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    expect(page.locator("#login-error")).to_have_text(
        "Too many failed sign-ins for this name; try again in 5 min."
    )
    assert page.url.endswith("/login")
