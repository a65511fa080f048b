"""A session page reloaded with no connection still opens (the app shell kept by the service
worker, frontend/sw.js), says it has no connection, shows the readings waiting to send and takes
more; once the connection returns it loads properly and they are sent. The worker never keeps a
patient's data: API answers are not in its cache."""

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import TIMEZONE, nurse_cookies, wait_until_live, watch_for_errors
from tests.conftest import LiveServer
from tests.helpers import new_session

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")  # the screenshots, when that folder exists


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, nurse_api: httpx.Client) -> Iterator[Page]:
    """A phone of its own, signed in as the nurse, with service workers allowed (the shared
    profile blocks them so they cannot outlive a test)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        timezone_id=TIMEZONE,
        locale="en-GB",
        service_workers="allow",
    )
    context.set_default_timeout(10000)
    context.add_cookies(nurse_cookies(nurse_api, live_server))
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


def kept_paths(page: Page) -> list[str]:
    paths: list[str] = page.evaluate(
        """async () => {
            const paths = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
            }
            return paths;
        }"""
    )
    return paths


def record(page: Page, heart_rate: int) -> None:
    page.locator("#heart_rate").fill(str(heart_rate))
    page.locator("#heart_rate").press("Enter")
    expect(page.locator("#heart_rate")).to_have_value("")


def test_a_session_page_reloaded_offline_opens_and_shows_what_waits_to_send(
    phone: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = phone
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(page)
    # The shell is kept once the worker runs; the API's answers (patients' data) never are.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    paths = kept_paths(page)
    for shell in ("/sessions/0", "/ward", "/static/js/session.js", "/static/vendor/plotly.min.js"):
        assert shell in paths, shell
    assert not [path for path in paths if path.startswith("/api/")], paths

    page.context.set_offline(True)
    record(page, 71)
    record(page, 73)
    summary = page.locator("#entry-queue-summary")
    expect(summary).to_have_text("2 readings waiting to send")

    page.reload()
    expect(page.locator("#session-title")).to_have_text(f"Session #{session['id']}: no connection")
    expect(page.locator("#load-error")).to_contain_text("No connection to the Vigil server")
    expect(summary).to_have_text("2 readings waiting to send")
    # Nothing that would pass for the patient's current state: no values, no "No open alarms".
    expect(page.locator("#alarms-panel")).to_be_hidden()
    expect(page.locator("#latest")).to_be_hidden()
    # Still a place to record: the next reading waits with the others.
    record(page, 75)
    expect(summary).to_have_text("3 readings waiting to send")
    if SHOTS.is_dir():
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / "phone-390-session-offline.png"))

    # The connection returns: the page loads properly and everything waiting is sent, once.
    page.context.set_offline(False)
    expect(page.locator("#session-title")).to_contain_text(session["chair"], timeout=20000)
    wait_until_live(page)
    expect(summary).to_have_text("", timeout=20000)
    readings = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"]
    assert sorted(r["heart_rate"] for r in readings) == [71, 73, 75]
