"""No page where a patient's alarm goes unseen or unheard: the limits page, the trainer console
and the session record's viewer pin the same alarm strip and sound a patient's alarm with the
same alarm sound; none of them plays a drill's. The record itself stays a script-free printable
document, shown in a frame that may run none."""

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.alarm_support import REAL_HIGH_HZ, enable_sound, high_bp, sound
from tests.browser.conftest import OpenSession, sign_in
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def expect_real_alarm_seen_and_heard(page: Page, session: dict[str, Any]) -> None:
    entry = page.locator(f"#alarm-strip-list li[data-session-id='{session['id']}']")
    expect(entry).to_contain_text(session["chair"], timeout=3000)
    expect(entry).to_contain_text("HIGH ALARM: Systolic BP 190")
    expect(entry.locator("a")).to_have_attribute("href", f"/sessions/{session['id']}")
    page.wait_for_function(
        "() => window.__vigilAlarmSound.snapshot().plays.some((p) => !p.simulated)"
    )
    last = sound(page)["lastPattern"]
    assert (last["priority"], last["simulated"], last["frequency"]) == ("high", False, REAL_HIGH_HZ)
    expect(page.locator("#alarm-announcer")).to_contain_text(f"{session['chair']}: HIGH ALARM")
    # Pinned: it stays at the top of the screen with the page scrolled.
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(200)
    top = page.locator("#alarm-strip").evaluate("(el) => el.getBoundingClientRect().top")
    assert top == 0


def expect_drill_neither_seen_nor_heard(page: Page, drill: dict[str, Any]) -> None:
    page.wait_for_timeout(800)  # time for a sound to have happened
    assert sound(page)["plays"] == [], f"a drill sounded: {sound(page)['plays']}"
    expect(page.locator(f"#alarm-strip-list li[data-session-id='{drill['id']}']")).to_have_count(0)
    expect(page.locator("#alarm-strip-none")).to_be_visible()


def test_the_limits_page_shows_and_sounds_a_patients_alarm_but_not_a_drills(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    drill = new_session(admin_api, simulated=True)
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/limits")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#limits-admin")).to_be_visible()
    enable_sound(page)

    high_bp(admin_api, drill["id"])
    expect_drill_neither_seen_nor_heard(page, drill)
    high_bp(admin_api, patient["id"])
    expect_real_alarm_seen_and_heard(page, patient)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "limits-with-a-patients-alarm.png"))


def test_the_trainer_console_sounds_a_patients_alarm_and_stays_silent_for_drills(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    drill = new_session(admin_api, simulated=True)
    # An admin running a drill on the console; a trainer sees no patient at all (below).
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/trainer")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    enable_sound(page)

    high_bp(admin_api, drill["id"])
    expect_drill_neither_seen_nor_heard(page, drill)
    high_bp(admin_api, patient["id"])
    expect_real_alarm_seen_and_heard(page, patient)
    # Only the patient's alarm ever played here.
    assert all(not play["simulated"] for play in sound(page)["plays"]), sound(page)["plays"]


def test_a_trainers_console_shows_no_real_patients_alarm(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    high_bp(admin_api, patient["id"])
    sign_in(page, live_server.url, Role.TRAINER)
    page.goto(f"{live_server.url}/trainer")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    enable_sound(page)
    high_bp(admin_api, patient["id"])  # and one arriving live
    # Trainers see simulated sessions only: neither the open alarm nor the live one reaches them.
    expect_drill_neither_seen_nor_heard(page, patient)


def test_the_report_link_opens_a_viewer_that_keeps_alarms_seen_heard_and_prints_the_record(
    nurse_page: Page, open_session: OpenSession, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    nurse_page.set_default_timeout(15000)  # plotly.js, compiled afresh on a busy machine
    session = new_session(admin_api)
    other = new_session(admin_api)
    assert post_reading(admin_api, session["id"], heart_rate=72, spo2=97).is_success
    page = open_session(session["id"])
    report = page.get_by_role("link", name="Report", exact=True)
    expect(report).to_have_attribute("href", f"/sessions/{session['id']}/record")
    report.click()
    page.wait_for_url(f"**/sessions/{session['id']}/record")
    expect(page).to_have_title(f"Session record #{session['id']} · Test Patient · Vigil")
    frame = page.frame_locator("#record-frame")
    expect(frame.get_by_role("heading", name=f"Session record #{session['id']}")).to_be_visible()
    # The record stays script-free: no script in it, and a frame that may run none.
    sandbox = page.locator("#record-frame").get_attribute("sandbox") or ""
    assert "allow-scripts" not in sandbox.split(), sandbox
    expect(frame.locator("script")).to_have_count(0)
    # Its own links still lead to the session's PDF and CSV.
    expect(frame.get_by_role("link", name="Download PDF")).to_have_attribute("href", "report.pdf")
    pdf_href = frame.get_by_role("link", name="Download PDF").evaluate("(a) => a.href")
    assert pdf_href.endswith(f"/api/sessions/{session['id']}/report.pdf"), pdf_href
    expect(page.get_by_role("link", name="Printable page")).to_have_attribute(
        "href", f"/api/sessions/{session['id']}/report"
    )
    # The FHIR download beside PDF and CSV, in the viewer and in the record: a Bundle to save.
    fhir_url = f"/api/sessions/{session['id']}/fhir"
    expect(frame.get_by_role("link", name="Download FHIR (JSON)")).to_have_attribute("href", "fhir")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="FHIR (JSON)", exact=True).click()
    saved = downloading.value
    assert saved.url.endswith(fhir_url), saved.url
    assert saved.suggested_filename.endswith(".fhir.json"), saved.suggested_filename
    assert json.loads(Path(saved.path()).read_text())["resourceType"] == "Bundle"

    # Print prints the record alone: the frame's document, not this page.
    page.evaluate(
        """() => {
            const win = document.getElementById('record-frame').contentWindow;
            window.__printed = [];
            win.print = () => window.__printed.push(win.document.title);
        }"""
    )
    page.get_by_role("button", name="Print").click()
    printed = page.evaluate("() => window.__printed")
    assert printed == [f"Session record #{session['id']} · Test Patient · Vigil"], printed

    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    # The click on Print was the gesture browsers wait for: the alarm sound is on.
    expect(page.locator("#sound-banner")).to_be_hidden()
    assert sound(page)["unlocked"]
    high_bp(admin_api, other["id"])
    expect_real_alarm_seen_and_heard(page, other)
    violations = axe_violations(page, exclude=["#record-frame"])
    assert not violations, describe(violations)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "record-viewer-with-an-alarm.png"))
