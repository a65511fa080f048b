"""An alarming value stands out where it is shown, on the ward tile and among the session page's
latest values: filled in its priority's colour with the limit it crossed ("196/121 ▲ >180"), so
196/121 never looks like 125/79; a drill's in the drill look; plain again once the alarm ends."""

from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from backend.core.roles import Role
from tests.browser.conftest import OpenSession, api_client
from tests.browser.dom import on_element
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SHOTS = "/work/notes/shots"


def reading(client: httpx.Client, session_id: int, **vitals: Any) -> None:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text


RED = "rgb(224, 0, 27)"  # IEC high priority


def background(value: Locator) -> str:
    """The value's computed fill (of the element on screen, not one a live update replaced)."""
    result: str = on_element(value, "(el) => getComputedStyle(el).backgroundColor")
    return result


def end_alarms(client: httpx.Client, session_id: int) -> None:
    """Acknowledge every open alarm of the session (a HIGH one latches until someone does)."""
    for alert in client.get(f"/api/sessions/{session_id}/alerts").json():
        if alert["status"] == "active":
            response = client.post(f"/api/alerts/{alert['id']}/acknowledge", json={})
            assert response.status_code == 200, response.text


def shoot(what: Page | Locator, name: str) -> None:
    """A screenshot for a person to look at (skipped where the notes folder does not exist)."""
    if Path(SHOTS).is_dir():
        what.screenshot(path=f"{SHOTS}/{name}.png")


def test_the_alarming_bp_on_the_session_page_shows_its_priority_colour_and_limit(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    calm = new_session(nurse_api)
    reading(nurse_api, calm["id"], systolic=125, diastolic=79)
    page = open_session(calm["id"])
    calm_bp = page.locator("#latest .vital[data-vital='bp'] .v-value")
    expect(calm_bp).to_have_text("125/79")
    calm_colour = background(calm_bp)

    page = open_session(session["id"])
    reading(nurse_api, session["id"], heart_rate=72, spo2=97, systolic=196, diastolic=121)
    value = page.locator("#latest .vital[data-vital='bp'] .v-value")
    expect(value).to_have_class("v-value value-alarm")
    expect(value).to_have_attribute("data-priority", "high")
    expect(value).to_contain_text("196/121")
    expect(value.locator(".v-limit")).to_contain_text("▲ >180")
    expect(value).to_have_css("background-color", RED)
    assert calm_colour != RED
    # In words too, for a screen reader: never colour alone.
    expect(value).to_contain_text("HIGH alarm: systolic above the limit 180")
    # The heart rate beside it is not alarming and stays plain.
    expect(page.locator("#latest .vital[data-vital='heart_rate'] .v-value")).to_have_text("72")
    page.locator(".latest-panel").scroll_into_view_if_needed()
    shoot(page, "session-high-alarm-value")

    # Once the alarm ends (acknowledged, the value back in range), the value is plain again.
    end_alarms(nurse_api, session["id"])
    reading(nurse_api, session["id"], systolic=125, diastolic=79)
    expect(value).to_have_text("125/79")
    expect(value).not_to_have_class("v-value value-alarm")
    expect(value).to_have_css("background-color", calm_colour)


def test_the_ward_tile_shows_the_alarming_value_and_a_drills_in_the_drill_look(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    real = new_session(nurse_api)
    with api_client(live_server.url, Role.TRAINER) as trainer:
        drill = new_session(trainer, simulated=True)
        reading(trainer, drill["id"], heart_rate=70, systolic=196, diastolic=100)
    nurse_page.goto(f"{live_server.url}/ward")
    expect(nurse_page.locator("#live-status")).to_have_attribute("data-state", "live")
    reading(nurse_api, real["id"], heart_rate=70, systolic=196, diastolic=100)

    def bp(session: dict[str, Any]) -> Locator:
        tile = nurse_page.locator(f".tile[data-session-id='{session['id']}']")
        return tile.locator(".vital[data-vital='bp'] .v-value")

    expect(bp(real)).to_have_attribute("data-priority", "high")
    expect(bp(real).locator(".v-limit")).to_contain_text("▲ >180")
    expect(bp(real)).to_have_class("v-value value-alarm")
    expect(bp(real)).to_have_css("background-color", RED)
    # The drill's keeps its priority, in its own look (never a patient's red).
    expect(bp(drill)).to_have_class("v-value value-alarm drill")
    expect(bp(drill)).to_have_attribute("data-priority", "high")
    expect(bp(drill)).to_contain_text("simulated HIGH alarm")
    expect(bp(drill)).not_to_have_css("background-color", RED)
    expect(bp(drill)).not_to_have_css("background-color", "")
    real_tile = nurse_page.locator(f".tile[data-session-id='{real['id']}']")
    shoot(real_tile, "ward-tile-high-alarm-value")
    shoot(nurse_page, "ward-high-alarm-values")

    end_alarms(nurse_api, real["id"])
    reading(nurse_api, real["id"], systolic=125, diastolic=79)
    expect(bp(real)).to_have_text("125/79")
    expect(bp(real)).not_to_have_class("v-value value-alarm")
