"""A drill's alarm is unmistakable from across the room: violet with diagonal hatching and a large
DRILL mark, never a patient's IEC red or yellow, on the ward tile, the wall, the alarm strip, the
other chairs of a patient's page and the drill's own page; its priority still shows in words,
"!" markers and flashing rate, so it can be rehearsed."""

import base64
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import OpenSession
from tests.browser.dom import on_element
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

FULL_HD: ViewportSize = {"width": 1920, "height": 1080}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def reading(client: httpx.Client, session_id: int, **vitals: Any) -> None:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text


def look(box: Locator) -> dict[str, Any]:
    """What a box looks like from afar: its fill, pattern, frame and flashing."""
    style: dict[str, Any] = on_element(
        box,
        """(el) => {
            const s = getComputedStyle(el);
            return {
                color: s.backgroundColor,
                pattern: s.backgroundImage,
                border: s.borderTopColor,
                animation: s.animationName,
                duration: s.animationDuration,
            };
        }""",
    )
    return style


def expect_drill_unlike_real(drill: Locator, real: Locator) -> None:
    """Same priority, different look: another fill and a pattern; a large visible DRILL mark."""
    seen_drill, seen_real = look(drill), look(real)
    assert "repeating-linear-gradient" in seen_drill["pattern"], seen_drill
    assert seen_real["pattern"] == "none", seen_real
    assert seen_drill["color"] != seen_real["color"], (seen_drill, seen_real)
    assert seen_drill["border"] != seen_real["border"], (seen_drill, seen_real)
    # Violet, not the IEC red (224, 0, 27) nor its dim phase: blue well above red's share.
    channels = seen_drill["color"].split("(")[1].split(")")[0].split(",")[:3]
    red, green, blue = (int(v) for v in channels)
    assert blue > green and blue >= red * 0.9, seen_drill
    # Its HIGH still flashes at a HIGH alarm's rate, for rehearsal.
    assert seen_drill["duration"] == seen_real["duration"], (seen_drill, seen_real)
    mark = drill.locator(".drill-mark")
    expect(mark).to_be_visible()
    expect(mark).to_have_text("DRILL")
    size = on_element(mark, "(m) => parseFloat(getComputedStyle(m).fontSize)")
    text = on_element(
        drill.locator(".alarm-text"), "(t) => parseFloat(getComputedStyle(t).fontSize)"
    )
    assert size >= 1.2 * text, (size, text)
    expect(drill.locator(".alarm-marker")).to_have_text("!!!")
    expect(drill).to_contain_text("SIMULATED HIGH ALARM")
    expect(real.locator(".drill-mark")).to_be_hidden()


def scaled_down(page: Page, png: bytes, width: int, path: Path) -> None:
    """The screenshot as seen from across the room: drawn `width` pixels wide."""
    view = page.context.new_page()
    source = base64.b64encode(png).decode()
    view.set_viewport_size({"width": width, "height": width * 9 // 16})
    style = f"width:{width}px;display:block"
    view.set_content(f"<img src='data:image/png;base64,{source}' style='{style}'>")
    view.screenshot(path=str(path))
    view.close()


def test_a_drill_differs_from_a_patients_alarm_on_ward_wall_and_strip(
    nurse_page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    sessions = [new_session(admin_api, chair=f"Chair {n}") for n in range(1, 11)]
    drills = [new_session(admin_api, chair=f"Chair {n}", simulated=True) for n in range(11, 15)]
    for session in sessions + drills:
        reading(
            admin_api,
            session["id"],
            heart_rate=74,
            systolic=128,
            diastolic=80,
            spo2=97,
            respiratory_rate=15,
            temperature=36.8,
            consciousness="A",
            on_oxygen=False,
        )
    patient, drill = sessions[3], drills[0]  # Chair 4 and Chair 11
    reading(admin_api, patient["id"], systolic=190, diastolic=95)  # HIGH
    reading(admin_api, drill["id"], systolic=190, diastolic=95)  # HIGH, a drill's
    reading(admin_api, sessions[7]["id"], systolic=165, diastolic=85)  # MEDIUM
    reading(admin_api, drills[2]["id"], systolic=165, diastolic=85)  # MEDIUM, a drill's

    page = nurse_page
    page.goto(f"{live_server.url}/ward?display=normal")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    real_tile = page.locator(f".tile[data-session-id='{patient['id']}'] .tile-alarm")
    drill_tile = page.locator(f".tile[data-session-id='{drill['id']}'] .tile-alarm")
    expect(drill_tile).to_be_visible()
    expect_drill_unlike_real(drill_tile, real_tile)
    # The tile's own frame: dashed violet, not the priority's red.
    frame = on_element(
        page.locator(f".tile[data-session-id='{drill['id']}']"),
        "(t) => [getComputedStyle(t).borderTopStyle, getComputedStyle(t).borderTopColor]",
    )
    assert frame[0] == "dashed" and frame[1] != "rgb(224, 0, 27)", frame

    def entry(sid: int) -> Locator:
        return page.locator(f"#alarm-strip-list li[data-session-id='{sid}'] .alarm-box")

    expect_drill_unlike_real(entry(drill["id"]), entry(patient["id"]))
    strip = page.evaluate(
        "() => [...document.querySelectorAll('#alarm-strip-list li')]"
        ".map((li) => li.dataset.simulated)"
    )
    assert strip == ["false", "false", "true", "true"], strip  # patients before drills
    page.get_by_role("button", name="Enable alarm sound").click()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "ward-14-chairs-1366.png"))

    page.set_viewport_size(FULL_HD)
    page.get_by_role("button", name="Wall display", exact=True).click()
    expect(page.locator("#tiles")).to_have_attribute("data-fit", "screen")
    page.wait_for_timeout(1200)
    expect_drill_unlike_real(drill_tile, real_tile)
    png = page.screenshot(path=str(SHOTS / "wall-14-chairs-drills.png"))
    scaled_down(page, png, 480, SHOTS / "wall-14-chairs-drills-480.png")


def test_a_drill_differs_on_a_patients_other_chairs_and_on_its_own_page(
    open_session: OpenSession, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    other = new_session(admin_api)
    drill = new_session(admin_api, simulated=True)
    reading(admin_api, other["id"], systolic=190, diastolic=95)
    reading(admin_api, drill["id"], systolic=190, diastolic=95)

    page = open_session(patient["id"])
    chairs = page.locator("#other-alarms-list li")
    expect(chairs).to_have_count(2)
    expect(chairs.first).to_have_attribute("data-session-id", str(other["id"]))
    expect_drill_unlike_real(chairs.last.locator(".alarm-box"), chairs.first.locator(".alarm-box"))

    page = open_session(drill["id"])
    own = page.locator("#alarm-list .alarm-item .alarm-box").first
    theirs = page.locator(f"#other-alarms-list li[data-session-id='{other['id']}'] .alarm-box")
    expect(own).to_be_visible()
    expect_drill_unlike_real(own, theirs)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "drill-own-page.png"))
