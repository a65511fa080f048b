"""Urgency first without losing the room's map: tiles keep chair order while alarms come and go
(unless this screen chose "Most urgent first", which moves them only when an alarm changes), a
pinned strip names every chair in alarm, most urgent first, leading to its tile and its page,
and a wall display fits up to 24 chairs, naming in the strip any it cannot show."""

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, Route, ViewportSize, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client, stop_every_active_session
from tests.browser.dom import on_element
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

FULL_HD: ViewportSize = {"width": 1920, "height": 1080}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chairs_named(client: httpx.Client, names: list[str], **fields: Any) -> list[dict[str, Any]]:
    return [new_session(client, chair=name, **fields) for name in names]


def tile_chairs(page: Page) -> list[str]:
    chairs: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('#tiles .tile:not([hidden]) .tile-chair')]"
        ".map((el) => el.textContent)"
    )
    return chairs


def strip_chairs(page: Page) -> list[str]:
    chairs: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('#alarm-strip-list li .strip-chair')]"
        ".map((el) => el.textContent)"
    )
    return chairs


def reading(client: httpx.Client, session_id: int, **vitals: Any) -> None:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text


def open_ward(page: Page, url: str) -> None:
    page.goto(f"{url}/ward?display=normal")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#ward-loading")).to_be_hidden()


def test_tiles_keep_chair_order_through_alarms_unless_most_urgent_first_is_chosen(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    one, ten, two, three = chairs_named(nurse_api, ["Chair 1", "Chair 10", "Chair 2", "Chair 3"])
    page = nurse_page
    open_ward(page, live_server.url)
    chair_order = ["Chair 1", "Chair 2", "Chair 3", "Chair 10"]
    assert tile_chairs(page) == chair_order
    expect(page.locator("#alarm-strip-none")).to_be_visible()
    # Each tile keeps its element (a mark set on it survives): a reading never rebuilds the map.
    page.evaluate("() => document.querySelectorAll('.tile').forEach((t, i) => (t.mark = i))")

    reading(nurse_api, ten["id"], systolic=190, diastolic=95)  # HIGH
    reading(nurse_api, three["id"], systolic=165, diastolic=85)  # MEDIUM
    expect(page.locator("#alarm-strip-list li")).to_have_count(2)
    for session in (one, two, three, ten):
        reading(nurse_api, session["id"], heart_rate=80, spo2=97)
    page.wait_for_timeout(300)
    assert tile_chairs(page) == chair_order  # the map stays as the room is
    assert strip_chairs(page) == ["Chair 10", "Chair 3"]  # the strip: most urgent first
    marks = page.evaluate("() => [...document.querySelectorAll('.tile')].map((t) => t.mark)")
    assert marks == [0, 1, 2, 3], marks

    # Most urgent first: chairs in alarm lead, ranked as the strip ranks them.
    page.get_by_label("Most urgent first").check()
    assert tile_chairs(page) == ["Chair 10", "Chair 3", "Chair 1", "Chair 2"]
    # Readings alone never move a tile, however many come.
    for _ in range(3):
        for session in (one, two, three, ten):
            reading(nurse_api, session["id"], heart_rate=81, spo2=96)
    page.wait_for_timeout(400)
    assert tile_chairs(page) == ["Chair 10", "Chair 3", "Chair 1", "Chair 2"]
    # An alarm's change does: Chair 2 goes HIGH, before Chair 3's MEDIUM (after Chair 10's,
    # the longer waiting).
    reading(nurse_api, two["id"], systolic=195, diastolic=96)
    expect(page.locator("#alarm-strip-list li")).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#tiles .tile-chair')].map((e) => e.textContent)"
        ".join('|') === 'Chair 10|Chair 2|Chair 3|Chair 1'"
    )
    assert strip_chairs(page) == ["Chair 10", "Chair 2", "Chair 3"]
    # Remembered on this screen.
    page.reload()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.get_by_label("Most urgent first")).to_be_checked()
    page.wait_for_function("() => document.querySelectorAll('#tiles .tile').length === 4")
    expect(page.locator("#alarm-strip-list li")).to_have_count(3)
    assert tile_chairs(page) == ["Chair 10", "Chair 2", "Chair 3", "Chair 1"]
    page.get_by_label("Most urgent first").uncheck()
    assert tile_chairs(page) == chair_order


def test_a_strip_entry_leads_to_its_tile_and_to_its_session(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    names = [f"Chair {n}" for n in range(1, 15)]
    sessions = chairs_named(nurse_api, names)
    far = sessions[-1]  # Chair 14: below the fold of a 1366×768 screen
    page = nurse_page
    open_ward(page, live_server.url)
    expect(page.locator("#tiles .tile")).to_have_count(14)
    reading(nurse_api, far["id"], systolic=190, diastolic=95)
    entry = page.locator(f"#alarm-strip-list li[data-session-id='{far['id']}']")
    expect(entry).to_contain_text("Chair 14")
    expect(entry).to_contain_text("HIGH ALARM")
    tile = page.locator(f"#chair-tile-{far['id']}")
    assert not on_element(tile, "(t) => t.getBoundingClientRect().top < innerHeight")

    # Pinned: still on screen with the page scrolled.
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(200)
    strip_top = page.locator("#alarm-strip").evaluate("(s) => s.getBoundingClientRect().top")
    assert strip_top == 0

    entry.locator("a.strip-go").click()
    expect(tile.locator(".tile-link")).to_be_focused()
    box = tile.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    expect(tile).to_have_attribute("data-found", "true")

    open_link = entry.get_by_role("link", name="Open the session of Chair 14")
    expect(open_link).to_have_attribute("href", f"/sessions/{far['id']}")
    open_link.click()
    page.wait_for_url(f"**/sessions/{far['id']}")


def drill_named(url: str, chair: str) -> dict[str, Any]:
    """A simulated session (only trainers and admins start them)."""
    with api_client(url, Role.ADMIN) as admin:
        return new_session(admin, chair=chair, simulated=True)


def fake_alarm(
    alarm_id: int, session: dict[str, Any], priority: str, **fields: Any
) -> dict[str, Any]:
    at = f"2026-01-01T00:00:{abs(alarm_id):02d}Z"
    alarm: dict[str, Any] = {
        "id": alarm_id,
        "session_id": session["id"],
        "chair": session["chair"],
        "simulated": session["simulated"],
        "version": 1,
        "condition": "heart_rate.above",
        "kind": "physiological",
        "priority": priority,
        "status": "active",
        "present": True,
        "escalated": False,
        "message": f"Heart rate 130 /min above 120 ({priority})",
        "value": 130,
        "raised_at": at,
        "alerted_at": at,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "note": None,
        "resolved_at": None,
        "escalated_at": None,
    }
    return alarm | fields


def test_the_strip_orders_unacknowledged_high_medium_low_technical_then_acknowledged_then_drills(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    names = ["Chair 1", "Chair 2", "Chair 3", "Chair 4", "Chair 5", "Chair 6"]
    real = chairs_named(nurse_api, names)
    drill = drill_named(live_server.url, "Chair 7")
    c1, c2, c3, c4, c5, c6 = real
    alarms = [
        fake_alarm(-1, drill, "high"),  # a drill's HIGH: after every patient
        fake_alarm(-2, c1, "high", status="acknowledged", acknowledged_by="someone"),
        fake_alarm(-3, c2, "medium", kind="technical", condition="spo2.no_data"),
        fake_alarm(-4, c3, "low", kind="advisory", condition="bp_overdue"),
        fake_alarm(-5, c4, "medium"),
        fake_alarm(-6, c5, "high"),
        fake_alarm(-7, c6, "high"),  # as high as Chair 5's but raised later
        fake_alarm(-8, c5, "low"),  # a second alarm on Chair 5: one entry, "+1"
    ]

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(alarms))

    page = nurse_page
    page.route("**/api/alerts", fulfil)
    open_ward(page, live_server.url)
    expect(page.locator("#alarm-strip-list li")).to_have_count(7)
    assert strip_chairs(page) == [
        "Chair 5",  # unacknowledged HIGH, waiting longest
        "Chair 6",
        "Chair 4",  # MEDIUM
        "Chair 3",  # LOW
        "Chair 2",  # technical
        "Chair 1",  # acknowledged
        "Chair 7",  # the drill, last
    ]
    first = page.locator("#alarm-strip-list li").first
    expect(first).to_contain_text("+1")
    expect(first.locator(".alarm-marker")).to_have_text("!!!")
    last = page.locator("#alarm-strip-list li").last
    expect(last).to_have_attribute("data-simulated", "true")
    expect(last).to_contain_text("DRILL")
    expect(last).to_contain_text("SIMULATED HIGH ALARM")
    # Tiles stay in chair order all the same.
    assert tile_chairs(page) == [*names, "Chair 7"]


def wall_layout(page: Page) -> dict[str, Any]:
    layout: dict[str, Any] = page.evaluate(
        """() => {
            const tiles = [...document.querySelectorAll('#tiles .tile:not([hidden])')];
            return {
                shown: tiles.length,
                scroll: document.scrollingElement.scrollHeight - innerHeight,
                bottom: Math.max(...tiles.map((t) => t.getBoundingClientRect().bottom)),
                right: Math.max(...tiles.map((t) => t.getBoundingClientRect().right)),
                cut: tiles.filter((t) => t.scrollHeight > t.clientHeight + 1).length,
                fit: document.getElementById('tiles').dataset.fit,
                values: tiles.map((t) => parseFloat(getComputedStyle(
                    t.querySelector('.vital .v-value')).fontSize)).sort((a, b) => a - b),
            };
        }"""
    )
    return layout


def full_tiles(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    sessions = chairs_named(client, [f"Chair {n}" for n in range(1, count + 1)])
    for session in sessions:
        reading(
            client,
            session["id"],
            heart_rate=72,
            systolic=130,
            diastolic=82,
            spo2=97,
            respiratory_rate=16,
            temperature=36.9,
            consciousness="A",
            on_oxygen=False,
        )
    return sessions


@pytest.mark.parametrize("count", [14, 20])
def test_a_full_hd_wall_shows_up_to_twenty_four_chairs_without_scrolling(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client, count: int
) -> None:
    stop_every_active_session(nurse_api)
    sessions = full_tiles(nurse_api, count)
    reading(nurse_api, sessions[2]["id"], systolic=190, diastolic=95)
    reading(nurse_api, sessions[5]["id"], systolic=165, diastolic=85)
    page = nurse_page
    page.set_viewport_size(FULL_HD)
    page.goto(f"{live_server.url}/ward?display=wall")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#alarm-strip-list li")).to_have_count(2)
    page.get_by_role("button", name="Enable alarm sound").click()  # its bar gives room back
    expect(page.locator("#sound-banner")).to_be_hidden()
    page.wait_for_timeout(1500)  # trends loaded, tiles fitted
    layout = wall_layout(page)
    assert layout["shown"] == count, layout
    assert layout["fit"] == "screen", layout
    assert layout["scroll"] <= 0 and layout["bottom"] <= 1080 and layout["right"] <= 1920, layout
    assert layout["cut"] == 0, layout
    assert layout["values"][0] >= 16, layout  # still read across the room
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"wall-{count}-chairs.png"))


def test_a_wall_names_in_the_strip_every_chair_beyond_its_capacity(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    sessions = chairs_named(nurse_api, [f"Chair {n}" for n in range(1, 27)])
    reading(nurse_api, sessions[25]["id"], systolic=190, diastolic=95)  # Chair 26: HIGH
    page = nurse_page
    page.set_viewport_size(FULL_HD)
    page.goto(f"{live_server.url}/ward?display=wall")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#tiles .tile:not([hidden])")).to_have_count(24)
    page.wait_for_timeout(1500)  # first data in, tiles fitted
    assert wall_layout(page)["scroll"] <= 0
    beyond_alarm = page.locator(f"#alarm-strip-list li[data-session-id='{sessions[25]['id']}']")
    expect(beyond_alarm).to_contain_text("Chair 26")
    expect(beyond_alarm).to_contain_text("HIGH ALARM")
    expect(beyond_alarm).to_contain_text("NOT ON SCREEN")
    beyond_quiet = page.locator(f"#alarm-strip-list li[data-session-id='{sessions[24]['id']}']")
    expect(beyond_quiet).to_contain_text("Chair 25")
    expect(beyond_quiet).to_contain_text("no alarm")
    expect(beyond_quiet).to_contain_text("NOT ON SCREEN")
    expect(beyond_quiet.locator("a")).to_have_attribute("href", f"/sessions/{sessions[24]['id']}")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "wall-26-chairs.png"))
    # Off the wall it is an ordinary ward again: every chair a tile, nothing "not on screen".
    page.get_by_role("button", name="Leave wall display").click()
    expect(page.locator("#tiles .tile:not([hidden])")).to_have_count(26)
    expect(page.locator("#alarm-strip-list")).not_to_contain_text("NOT ON SCREEN")


def test_hidden_simulated_sessions_are_counted_in_the_strip(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    stop_every_active_session(nurse_api)
    new_session(nurse_api, chair="Chair 1")
    drill = drill_named(live_server.url, "Chair 2")
    reading(nurse_api, drill["id"], systolic=190, diastolic=95)
    page = nurse_page
    open_ward(page, live_server.url)
    expect(page.locator("#alarm-strip-list li")).to_have_count(1)
    page.get_by_label("Hide simulated sessions").check()
    expect(page.locator("#alarm-strip-list li")).to_have_count(0)
    expect(page.locator("#alarm-strip-note")).to_have_text(
        "1 simulated session hidden (Hide simulated sessions is on)"
    )
