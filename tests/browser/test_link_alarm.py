"""A lost server link is a technical alarm, like a central station's "no central monitoring":
after a short grace the ward and the session page say in a banner (role=alert) that alarms are
NOT being monitored on this screen, since when and for how long, and sound a medium-priority
technical alarm; both clear by themselves once the stream is back and has caught up."""

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import OpenSession, api_client, sign_in, wait_for_points
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

GRACE_S = 8  # link-alarm.js LINK_GRACE_MS, as the README states
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def own_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
    """A server of this test's own, free to be stopped and started again on the same port."""
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


def sound(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => window.__vigilAlarmSound.snapshot()")
    return state


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def expect_link_alarm(page: Page, lost_at: float) -> None:
    banner = page.locator("#link-banner")
    # Not for a routine reconnect: nothing in the first seconds...
    page.wait_for_timeout(2000)
    expect(banner).to_be_hidden()
    # ...then, within the grace and a few seconds, the banner.
    expect(banner).to_be_visible(timeout=(GRACE_S + 4) * 1000)
    assert time.monotonic() - lost_at >= GRACE_S - 0.5, "it alarmed before its grace"
    alert = page.get_by_role("alert").filter(has_text="Connection to Vigil lost")
    expect(alert).to_have_text(
        re.compile(
            r"Connection to Vigil lost — alarms are NOT being monitored on this screen "
            r"since \d\d:\d\d:\d\d\."
        )
    )
    expect(banner).to_contain_text("MEDIUM TECHNICAL ALARM")  # in words, not colour alone
    elapsed = page.locator("#link-banner-elapsed")
    expect(elapsed).to_contain_text("No connection for 0:")
    first = elapsed.text_content()
    expect(elapsed).not_to_have_text(first or "", timeout=2500)  # it is live: it ticks
    expect(page.locator("html")).to_have_attribute("data-link", "lost")


def test_the_ward_alarms_while_its_server_is_down_and_clears_when_it_is_back(
    page: Page, own_server: LiveServer
) -> None:
    sign_in(page, own_server.url)
    page.goto(f"{own_server.url}/ward")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="Enable alarm sound").click()
    expect(page.locator("#link-banner")).to_be_hidden()
    assert sound(page)["plays"] == []

    own_server.stop()
    lost_at = time.monotonic()
    expect_link_alarm(page, lost_at)
    page.wait_for_function(
        "() => window.__vigilAlarmSound.snapshot().plays.some((p) => p.cause === 'link')"
    )
    state = sound(page)
    assert (state["sounding"], state["soundingSimulated"]) == ("medium", False)
    assert state["lastPattern"]["cause"] == "link"
    assert state["lastPattern"]["pulses"] == 3  # IEC medium: three pulses
    screenshot(page, "link-alarm-ward.png")

    own_server.start()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10000)
    expect(page.locator("#link-banner")).to_be_hidden()
    expect(page.locator("html")).not_to_have_attribute("data-link", "lost")
    state = sound(page)
    assert state["sounding"] is None
    assert "link" not in state["causes"]
    expect(page.locator("#alarm-announcer")).to_contain_text("Connection to Vigil restored")


def test_the_session_page_alarms_when_the_network_goes_and_catches_up_when_it_returns(
    open_session: OpenSession, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    # Sound left blocked (no click yet): the sound bar says which alarm cannot be heard.
    page.context.set_offline(True)
    lost_at = time.monotonic()
    with api_client(live_server.url, Role.NURSE) as client:  # meanwhile, a reading arrives
        assert post_reading(client, session["id"], heart_rate=77).status_code == 201
    expect_link_alarm(page, lost_at)
    expect(page.locator("#sound-banner-text")).to_contain_text(
        "MEDIUM technical alarm for the lost connection cannot be heard"
    )
    screenshot(page, "link-alarm-session.png")
    violations = axe_violations(page)  # the banner, and the page dimmed under it, still readable
    assert not violations, describe(violations)
    page.get_by_role("button", name="Enable alarm sound").click()
    page.wait_for_function(
        "() => window.__vigilAlarmSound.snapshot().plays.some((p) => p.cause === 'link')"
    )

    page.context.set_offline(False)
    expect(page.locator("#link-banner")).to_be_hidden(timeout=10000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    assert sound(page)["sounding"] is None
    wait_for_points(page, "heart_rate", 1)  # caught up with what it missed
