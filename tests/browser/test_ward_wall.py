"""The ward as a wall display: no navigation, large type, a dozen chairs on a 1920×1080 screen
without scrolling, the alarm summary and live status kept; chosen by URL or button, remembered
on the screen, left with the button or Esc."""

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import stop_every_active_session
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

FULL_HD: ViewportSize = {"width": 1920, "height": 1080}


def expect_wall(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-display", "wall")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.locator("#sign-out")).to_be_hidden()
    expect(page.locator("#live-status")).to_be_visible()
    expect(page.get_by_role("button", name="Leave wall display")).to_be_visible()
    expect(page.get_by_role("button", name="Wall display", exact=True)).to_be_hidden()


def expect_normal(page: Page) -> None:
    expect(page.locator("html")).not_to_have_attribute("data-display", "wall")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Wall display", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Leave wall display")).to_be_hidden()


def test_twelve_chairs_fit_a_full_hd_wall_display_chosen_by_url_and_remembered(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    sessions = [new_session(nurse_api) for _ in range(12)]
    for session in sessions:
        response = post_reading(
            nurse_api,
            session["id"],
            heart_rate=72,
            systolic=150,
            diastolic=82,
            spo2=97,
            respiratory_rate=16,
            temperature=36.9,
            consciousness="A",
            on_oxygen=False,
        )
        assert response.status_code == 201, response.text
    # One chair in alarm, so the summary the wall must keep is there to see.
    assert post_reading(nurse_api, sessions[0]["id"], systolic=190, diastolic=90).is_success

    nurse_page.set_viewport_size(FULL_HD)
    nurse_page.goto(f"{live_server.url}/ward?display=wall")
    expect_wall(nurse_page)
    expect(nurse_page.locator(".tile")).to_have_count(12)
    expect(nurse_page.locator("#ward-alarms")).to_be_visible()
    expect(nurse_page.locator("#ward-alarms")).to_contain_text("1 HIGH")
    expect(nurse_page.locator("#tiles")).to_have_attribute("data-fit", "screen")
    alarmed = nurse_page.locator(f".tile[data-session-id='{sessions[0]['id']}']")
    expect(alarmed.locator(".tile-alarm")).to_be_visible()

    # Every tile whole on the screen: no scrolling, nothing cut off inside a tile.
    layout = nurse_page.evaluate(
        """() => {
            const tiles = [...document.querySelectorAll('.tile')];
            return {
                scroll: document.scrollingElement.scrollHeight - innerHeight,
                bottom: Math.max(...tiles.map((t) => t.getBoundingClientRect().bottom)),
                cut: tiles.filter((t) => t.scrollHeight > t.clientHeight + 1).length,
                columns: getComputedStyle(document.getElementById('tiles'))
                    .gridTemplateColumns.split(' ').length,
                values: [...document.querySelectorAll('.tile .vital .v-value')]
                    .map((v) => parseFloat(getComputedStyle(v).fontSize))
                    .sort((a, b) => a - b),
                scales: tiles.map((t) => parseFloat(t.style.getPropertyValue('--s') || '1')),
            };
        }"""
    )
    assert layout["scroll"] <= 0, layout
    assert layout["bottom"] <= FULL_HD["height"], layout
    assert layout["cut"] == 0, layout
    assert layout["columns"] == 4, layout
    # Readable across the room; a busy tile (an alarm box) may shrink its own text to fit, but
    # never below three quarters of the others' (the grid scrolls instead).
    values = layout["values"]
    assert values[len(values) // 2] >= 20 and values[0] >= 12, layout
    assert min(layout["scales"]) >= 0.75, layout
    violations = axe_violations(nurse_page)
    assert not violations, describe(violations)

    # A tile that cannot fit even at three-quarter size: the grid scrolls rather than shrink more.
    nurse_page.evaluate(
        """() => {
            const tile = document.querySelector('.tile');
            const filler = document.createElement('div');
            filler.style.height = '2000px';
            tile.querySelector('.tile-vitals').append(filler);
            delete tile.dataset.fitKey; // measure it again on the next second's redraw
        }"""
    )
    expect(nurse_page.locator("#tiles")).to_have_attribute("data-fit", "scroll")
    scales = nurse_page.evaluate(
        "() => [...document.querySelectorAll('.tile')].map((t) => t.style.getPropertyValue('--s'))"
    )
    assert set(scales) == {""}, scales  # full size again, each tile as tall as it needs

    # Remembered on this screen: /ward alone opens the wall display again.
    nurse_page.goto(f"{live_server.url}/ward")
    expect_wall(nurse_page)
    assert "display=wall" in nurse_page.url

    nurse_page.get_by_role("button", name="Leave wall display").click()
    expect_normal(nurse_page)
    assert "display" not in nurse_page.url
    expect(nurse_page.get_by_role("button", name="Wall display", exact=True)).to_be_focused()
    nurse_page.reload()
    expect_normal(nurse_page)


def test_the_wall_display_button_and_esc(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    nurse_page.goto(f"{live_server.url}/ward?display=normal")
    expect_normal(nurse_page)
    nurse_page.get_by_role("button", name="Wall display", exact=True).click()
    expect_wall(nurse_page)
    assert "display=wall" in nurse_page.url
    # The tile still opens its session from the keyboard on the wall.
    card = nurse_page.locator(f".tile[data-session-id='{session['id']}']")
    expect(card.locator(".tile-link")).to_be_visible()

    nurse_page.keyboard.press("Escape")
    expect_normal(nurse_page)
    nurse_page.reload()
    expect_normal(nurse_page)

    # Esc closes an open dialog first and leaves the wall display only when pressed again.
    nurse_page.get_by_role("button", name="Wall display", exact=True).click()
    expect_wall(nurse_page)
    nurse_page.evaluate("() => document.getElementById('start-dialog').showModal()")
    nurse_page.keyboard.press("Escape")
    expect(nurse_page.locator("#start-dialog")).to_be_hidden()
    expect_wall(nurse_page)
    nurse_page.keyboard.press("Escape")
    expect_normal(nurse_page)
