"""On a phone (360-430 px wide) every page fits the screen: nothing scrolls sideways, the sound
and connection-lost bars stay inside it, and a session page puts the patient's own values before
other chairs' alarms. Reloaded with no connection, a session page still opens from the app shell
and says what is waiting to send."""

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from backend.core.roles import Role
from tests.browser.conftest import nurse_cookies, sign_in, wait_until_live, watch_for_errors
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")  # the screenshots, when that folder exists
PHONES: list[ViewportSize] = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]


@pytest.fixture
def phone_page(
    context: BrowserContext, live_server: LiveServer, nurse_api: httpx.Client
) -> Iterator[Page]:
    page = context.new_page()
    errors = watch_for_errors(page)
    page.context.add_cookies(nurse_cookies(nurse_api, live_server))
    yield page
    assert not errors, f"errors in the page: {errors}"


def overflow(page: Page) -> dict[str, object]:
    """How far the page is wider than the screen, and the widest elements that make it so."""
    result: dict[str, object] = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            // Only what sticks out of the page itself, not what a scrolling box clips.
            const clips = ['auto', 'scroll', 'hidden', 'clip'];
            const clipped = (el) => {
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    if (clips.includes(getComputedStyle(p).overflowX)) return true;
                }
                return false;
            };
            const sticksOut = (el) =>
                el.getBoundingClientRect().right > width + 1 && el.getClientRects().length;
            const wide = [...document.querySelectorAll('body *')]
                .filter((el) => sticksOut(el) && !clipped(el))
                .slice(0, 6)
                .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
            return { scroll: document.documentElement.scrollWidth, width, wide };
        }"""
    )
    return result


def shoot(page: Page, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("phone", PHONES, ids=["360", "390"])
def test_no_page_scrolls_sideways_on_a_phone(
    phone_page: Page, live_server: LiveServer, nurse_api: httpx.Client, phone: ViewportSize
) -> None:
    session = new_session(nurse_api)
    assert post_reading(
        nurse_api, session["id"], heart_rate=88, systolic=196, diastolic=121, spo2=97
    ).is_success
    page = phone_page
    page.set_viewport_size(phone)
    for path in ("/login", "/ward", f"/sessions/{session['id']}", "/limits", "/trainer"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        if path.startswith("/sessions"):
            wait_until_live(page)
        elif path == "/ward":  # measured with the chair's tile drawn, its alarming BP in it
            bp = page.locator(f".tile[data-session-id='{session['id']}'] .vital[data-vital='bp']")
            expect(bp.locator(".v-limit")).to_be_visible()
        else:
            page.wait_for_timeout(300)  # its first data drawn
        if phone["width"] == 390 and path in ("/ward", f"/sessions/{session['id']}"):
            shoot(page, f"phone-390-{path.strip('/').split('/')[0]}")
        measured = overflow(page)
        assert measured["scroll"] == measured["width"], f"{path} at {phone['width']} px: {measured}"
    # The pages as the people who use them most: the limits editor, the trainer's console.
    for role, path in ((Role.ADMIN, "/limits"), (Role.TRAINER, "/trainer")):
        page.context.clear_cookies()
        sign_in(page, live_server.url, role)
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)  # its first data drawn
        measured = overflow(page)
        assert measured["scroll"] == measured["width"], f"{path} at {phone['width']} px: {measured}"


def test_the_bars_stay_on_screen_and_the_patients_values_come_first(
    phone_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    mine = new_session(nurse_api)
    other = new_session(nurse_api)
    assert post_reading(nurse_api, mine["id"], heart_rate=72, systolic=120, diastolic=80).is_success
    assert post_reading(nurse_api, other["id"], systolic=196, diastolic=121).is_success
    page = phone_page
    page.set_viewport_size(PHONES[1])
    page.goto(f"{live_server.url}/sessions/{mine['id']}")
    wait_until_live(page)
    expect(page.locator("#other-alarms")).to_be_visible()
    # The sound bar shows (no click on the page yet): wholly inside the screen.
    bar = page.locator("#sound-banner")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONES[1]["width"], box
    # So is the lost-connection alarm, with its longest words.
    page.evaluate(
        """() => {
            document.getElementById('link-banner').hidden = false;
            document.getElementById('link-banner-text').textContent =
                'No connection to the Vigil server: alarms are NOT being monitored on this screen';
        }"""
    )
    lost = page.locator("#link-banner").bounding_box()
    assert lost is not None
    assert lost["x"] >= 0 and lost["x"] + lost["width"] <= PHONES[1]["width"], lost
    assert lost["y"] + lost["height"] <= PHONES[1]["height"] + 1, lost
    # The patient's own values come before other chairs' alarms, reading down the page.
    latest = page.locator("#latest").bounding_box()
    others = page.locator("#other-alarms").bounding_box()
    assert latest is not None and others is not None
    assert latest["y"] < others["y"], (latest, others)
    # The header's links and account line fold behind Menu, so the patient's values are in the
    # first screen; Menu opens them, Escape folds them again.
    header = page.locator(".app-header")
    nav_link = header.get_by_role("link", name="Ward", exact=True)
    menu = header.get_by_role("button", name="Menu")
    expect(nav_link).to_be_hidden()
    expect(page.locator("#sign-out")).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    head = header.bounding_box()
    assert head is not None and head["height"] < 120, head
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    expect(page.locator("#sign-out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav_link).to_be_hidden()
    expect(menu).to_be_focused()
    # At a desk the links are always shown and there is no Menu.
    page.set_viewport_size({"width": 1366, "height": 768})
    expect(nav_link).to_be_visible()
    expect(menu).to_be_hidden()
