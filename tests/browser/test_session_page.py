"""The session page: live charts, the keyboard-first entry form, and phase changes."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import (
    TIMEZONE,
    OpenSession,
    api_client,
    open_routed,
    trace,
    wait_for_points,
)
from tests.conftest import LiveServer
from tests.helpers import mark_in_error, new_session, post_reading, readings_of

pytestmark = pytest.mark.browser


def local_plotly_time(moment: datetime) -> str:
    """How the chart must write `moment`: the browser's wall-clock time, to the millisecond."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def test_readings_posted_through_the_api_appear_on_the_chart_live(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    first = post_reading(
        nurse_api, session["id"], heart_rate=70, spo2=98, taken_at=start.isoformat()
    )
    assert first.status_code == 201, first.text
    page = open_session(session["id"])
    assert trace(page, "heart_rate")["y"] == [70]
    assert trace(page, "systolic")["y"] == []

    # Dense heart rate and SpO2, sparse blood pressure: each trace gets only its own points.
    for i, hr in enumerate([72, 75, 78, 81], start=1):
        body: dict[str, Any] = {"heart_rate": hr, "spo2": 97}
        if i % 2 == 0:
            body |= {"systolic": 120 + i, "diastolic": 80 - i}
        taken = (start + timedelta(seconds=10 * i)).isoformat()
        assert post_reading(nurse_api, session["id"], taken_at=taken, **body).status_code == 201

    wait_for_points(page, "heart_rate", 5)
    wait_for_points(page, "systolic", 2)
    assert trace(page, "heart_rate")["y"] == [70, 72, 75, 78, 81]
    assert trace(page, "spo2")["y"] == [98, 97, 97, 97, 97]
    assert trace(page, "systolic")["y"] == [122, 124]
    assert trace(page, "diastolic")["y"] == [78, 76]
    # Shown in the browser's local time, not UTC.
    assert trace(page, "heart_rate")["x"][0] == local_plotly_time(start)
    assert page.url.endswith(f"/sessions/{session['id']}")  # never reloaded

    expect(page.locator("#latest .vital[data-vital='heart_rate'] .v-value")).to_have_text("81")
    expect(page.locator("#recent-body tr").first).to_contain_text("124/76")


def test_a_nurses_zoom_survives_live_points_late_points_and_a_full_reload(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    now = datetime.now(UTC)
    for seconds in (90, 60, 30):
        taken = (now - timedelta(seconds=seconds)).isoformat()
        assert post_reading(nurse_api, session["id"], heart_rate=80, taken_at=taken).is_success
    link = open_routed(page, live_server, session["id"])
    zoom = [local_plotly_time(now - timedelta(seconds=80)), local_plotly_time(now)]
    page.evaluate("(range) => Plotly.relayout('vitals-chart', {'xaxis.range': range})", zoom)

    def shown_range() -> list[str]:
        shown: list[str] = page.evaluate(
            "() => document.getElementById('vitals-chart').layout.xaxis.range"
        )
        return [s[:19] for s in shown]

    assert post_reading(nurse_api, session["id"], heart_rate=90).is_success  # appended
    wait_for_points(page, "heart_rate", 4)
    late = (now - timedelta(seconds=45)).isoformat()
    posted = post_reading(nurse_api, session["id"], heart_rate=85, taken_at=late)
    assert posted.is_success
    wait_for_points(page, "heart_rate", 5)  # inserted in time order, the trace redrawn
    assert trace(page, "heart_rate")["y"] == [80, 80, 85, 80, 90]
    assert shown_range() == [z[:19] for z in zoom]

    # A trace redrawn without a point (entered in error) keeps the zoom too.
    mark_in_error(nurse_api, session["id"], posted.json()["id"], "another patient's")
    wait_for_points(page, "heart_rate", 4, exactly=True)
    assert shown_range() == [z[:19] for z in zoom]

    # A reset from the server makes the page reload everything and redraw the chart.
    link.swallow_events = True
    assert post_reading(nurse_api, session["id"], heart_rate=95).is_success
    link.routes[0].send(json.dumps({"type": "reset", "cursor": "0"}))
    wait_for_points(page, "heart_rate", 5)  # only the reload can have brought this one
    assert trace(page, "heart_rate")["y"] == [80, 80, 80, 90, 95]
    assert shown_range() == [z[:19] for z in zoom]


def test_a_reading_entered_with_the_keyboard_alone_appears_on_the_chart(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])

    # From the top of the page, Tab must reach the first field of the form.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#heart_rate")).to_be_focused()

    for value in ["72", "97", "118", "76", "16"]:  # HR, SpO2, systolic, diastolic, RR
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    expect(page.locator("#temperature")).to_be_focused()
    page.keyboard.type("36.8")
    page.keyboard.press("Enter")

    expect(page.locator("#entry-status")).to_contain_text("Reading recorded")
    expect(page.locator("#heart_rate")).to_be_focused()
    expect(page.locator("#heart_rate")).to_have_value("")
    wait_for_points(page, "heart_rate", 1)
    assert trace(page, "heart_rate")["y"] == [72]
    assert trace(page, "systolic")["y"] == [118]

    (reading,) = readings_of(nurse_api, session["id"])
    assert (reading["heart_rate"], reading["spo2"], reading["systolic"], reading["diastolic"]) == (
        72,
        97,
        118,
        76,
    )
    assert (reading["respiratory_rate"], reading["temperature"], reading["source"]) == (
        16,
        36.8,
        "manual",
    )


def test_an_unusual_value_is_recorded_only_after_confirmation(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    page.locator("#heart_rate").focus()
    page.keyboard.type("25")
    page.keyboard.press("Enter")

    dialog = page.locator("#confirm-values")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Heart rate 25 /min is unusually low")
    expect(page.locator("#confirm-values-back")).to_be_focused()
    page.keyboard.press("Enter")  # the default is the safe choice: go back
    expect(dialog).to_be_hidden()
    expect(page.locator("#heart_rate")).to_be_focused()
    assert readings_of(nurse_api, session["id"]) == []

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Yes, record as entered"
    expect(page.locator("#entry-status")).to_contain_text("Reading recorded")
    assert [r["heart_rate"] for r in readings_of(nurse_api, session["id"])] == [25]


def test_an_impossible_value_is_explained_next_to_its_field_and_not_stored(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    page.locator("#heart_rate").fill("1200")
    page.locator("#spo2").fill("97")
    page.locator("#spo2").press("Enter")

    field = page.locator("#heart_rate")
    error = page.locator("#heart_rate-error")
    expect(error).to_have_text(
        "1200 /min is not a possible heart rate: allowed range is 0–350 /min."
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "heart_rate-error")
    expect(field).to_be_focused()
    expect(page.locator("#spo2")).not_to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(300)  # give a wrongly sent reading time to arrive
    assert readings_of(nurse_api, session["id"]) == []


def test_the_servers_objections_appear_beside_the_fields_they_concern(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])

    # Diastolic above systolic: the server's rule, shown by the blood pressure pair.
    page.locator("#systolic").fill("80")
    page.locator("#diastolic").fill("95")
    page.locator("#diastolic").press("Enter")
    expect(page.locator("#bp-error")).to_contain_text("must be below systolic")
    expect(page.locator("#systolic")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#diastolic")).to_have_attribute("aria-describedby", "bp-error")

    # A time in the future: only the server's clock can judge it.
    page.locator("#diastolic").fill("60")
    # The field takes a time of day (24-hour): half an hour ahead, still today.
    now = datetime.now(ZoneInfo(TIMEZONE))
    ahead = min(now + timedelta(minutes=30), now.replace(hour=23, minute=59, second=59))
    page.locator("#taken_at").fill(ahead.strftime("%H:%M:%S"))
    page.locator("#systolic").press("Enter")
    expect(page.locator("#taken_at-error")).to_contain_text("is in the future")
    expect(page.locator("#taken_at")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#bp-error")).to_be_hidden()
    assert readings_of(nurse_api, session["id"]) == []


def test_a_phase_change_is_confirmed_then_shown(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    # A baseline blood pressure: the start checklist requires one.
    assert post_reading(nurse_api, session["id"], systolic=120, diastolic=80).status_code == 201
    page = open_session(session["id"])
    actions = page.locator("#phase-actions button")
    expect(actions).to_have_text(["Start infusion", "Stop early"])

    actions.first.click()
    expect(page.locator("#confirm-phase")).to_be_visible()
    page.locator("#phase-note").fill("cannula in left arm")
    page.locator("#confirm-phase-cancel").click()
    assert nurse_api.get(f"/api/sessions/{session['id']}").json()["phase"] == "baseline"

    actions.first.click()
    for item in ("consent", "identity", "iv_line"):
        page.locator(f"#phase-check-{item}").check()
    page.locator("#confirm-phase-ok").click()
    expect(page.locator("#phase-badge")).to_have_text("Infusing")
    expect(actions).to_have_text(["End infusion", "Stop early"])
    assert nurse_api.get(f"/api/sessions/{session['id']}").json()["phase"] == "infusing"

    # A change made elsewhere arrives through the stream.
    response = nurse_api.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
    assert response.status_code == 200, response.text
    expect(page.locator("#phase-badge")).to_have_text("Stopped")
    expect(actions).to_have_count(0)
    expect(page.locator("#entry-disabled")).to_contain_text("has ended")
    expect(page.locator("#heart_rate")).to_be_disabled()


def test_a_simulated_sessions_chart_says_so_on_the_chart_itself(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    with api_client(str(nurse_api.base_url).rstrip("/"), Role.ADMIN) as admin:
        simulated = new_session(admin, simulated=True)
    page = open_session(simulated["id"])
    expect(page.locator("#sim-badge")).to_be_visible()
    texts = page.evaluate(
        "() => (document.getElementById('vitals-chart').layout.annotations || [])"
        ".map((a) => a.text)"
    )
    assert "SIMULATED — NOT A PATIENT" in texts
    real = open_session(new_session(nurse_api)["id"])
    texts = real.evaluate(
        "() => (document.getElementById('vitals-chart').layout.annotations || [])"
        ".map((a) => a.text)"
    )
    assert "SIMULATED — NOT A PATIENT" not in texts


def test_latest_values_go_stale_by_the_same_rule_as_the_ward_tile(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]

    def ago(minutes: float) -> str:
        return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()

    # A monitor's SpO2 two minutes old: its feed stopped. A BP 20 minutes old: the round is
    # overdue. A pulse a nurse counted three minutes ago is not due again until the next round.
    for body in (
        {"taken_at": ago(2), "spo2": 96, "source": "device"},
        {"taken_at": ago(20), "systolic": 118, "diastolic": 76},
        {"taken_at": ago(3), "heart_rate": 72},
    ):
        assert post_reading(nurse_api, sid, **body).status_code == 201
    page = open_session(sid)

    def card(name: str) -> Any:
        return page.locator(f"#latest .vital[data-vital='{name}']")

    for name in ("spo2", "bp"):
        expect(card(name)).to_have_attribute("data-stale", "true")
        expect(card(name).locator(".badge.stale")).to_be_visible()
    expect(card("heart_rate")).to_have_attribute("data-stale", "false")
    expect(card("heart_rate").locator(".badge.stale")).to_be_hidden()

    # A fresh monitor value is current again.
    assert post_reading(nurse_api, sid, spo2=97, source="device").status_code == 201
    expect(card("spo2").locator(".v-value")).to_have_text("97")
    expect(card("spo2")).to_have_attribute("data-stale", "false")
