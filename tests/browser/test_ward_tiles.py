"""A ward tile as a central station shows a chair: time since the infusion started, a 30-minute
trend per vital, values that look stale when they are overdue, NEWS2 from the server, and a
reading entered in error leaving the tile."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from playwright.sync_api import APIResponse, Locator, Page, Route, expect

from tests.browser.conftest import TIMEZONE
from tests.browser.dom import on_element
from tests.conftest import LiveServer
from tests.helpers import mark_in_error, new_session, post_reading

pytestmark = pytest.mark.browser

# A set entered by hand is scored at once (a monitor's readings are asked about at most every
# 5 s): well under that, with room for a busy machine.
NEWS2_WAIT_MS = 3000


def tile(page: Page, session_id: int) -> Locator:
    return page.locator(f".tile[data-session-id='{session_id}']")


def vital(card: Locator, name: str) -> Locator:
    return card.locator(f".vital[data-vital='{name}']")


def reading(client: httpx.Client, session_id: int, **vitals: Any) -> dict[str, Any]:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def open_ward(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/ward")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def test_the_tile_shows_time_since_the_infusion_started_beside_time_in_phase(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    open_ward(nurse_page, live_server)
    card = tile(nurse_page, session["id"])
    expect(card.locator(".phase-since")).to_contain_text("for ")
    expect(card.locator(".infusion-since")).to_be_hidden()  # not started yet

    # Dosing needs a baseline blood pressure, from any client.
    assert post_reading(nurse_api, session["id"], systolic=120, diastolic=80).status_code == 201
    for phase in ("infusing", "recovery"):
        body: dict[str, Any] = {"phase": phase}  # 120/80 is within the gate: nothing to override
        response = nurse_api.post(f"/api/sessions/{session['id']}/phase", json=body)
        assert response.status_code == 200, response.text
    expect(card.locator(".badge.phase")).to_have_text("Recovery")
    # In recovery the infusion clock still runs from the infusion's start, titled with its time.
    since = card.locator(".infusion-since")
    expect(since).to_have_text(re.compile(r"^\d+ s since infusion start$"))
    started = nurse_api.get(f"/api/sessions/{session['id']}").json()["phase_changes"][1]["at"]
    shown = nurse_page.evaluate(
        """(iso) => {
            const d = new Date(iso);
            const two = (n) => String(n).padStart(2, '0');
            return `${two(d.getHours())}:${two(d.getMinutes())}`;
        }""",
        started,
    )
    expect(since).to_have_attribute("title", f"Infusion started at {shown}")


def test_a_sparkline_is_drawn_from_the_last_30_minutes_and_extends_live(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    reading(nurse_api, sid, taken_at=ago(minutes=40), heart_rate=150)  # outside the window
    reading(nurse_api, sid, taken_at=ago(minutes=12), heart_rate=82, systolic=120, diastolic=80)
    reading(nurse_api, sid, taken_at=ago(minutes=6), heart_rate=88, spo2=97)
    errored = reading(nurse_api, sid, taken_at=ago(minutes=3), heart_rate=30)
    mark_in_error(nurse_api, sid, errored["id"], "probe on the wrong patient")

    open_ward(nurse_page, live_server)
    card = tile(nurse_page, sid)
    expect(card).to_have_attribute("data-trend", "loaded")
    hr_spark = vital(card, "heart_rate").locator("svg.spark")
    # Two points: the 40-minute-old reading is outside, the errored one left out.
    expect(hr_spark).to_have_attribute("data-points", "2")
    expect(hr_spark).to_have_accessible_name(
        "HR trend, last 30 min: from 82 to 88, lowest 82, highest 88"
    )
    assert hr_spark.locator("polyline.spark-line").count() == 1
    expect(vital(card, "bp").locator("svg.spark .spark-bar")).to_have_count(1)
    expect(vital(card, "bp").locator("svg.spark")).to_have_accessible_name(
        re.compile(r"^BP trend, last 30 min: 1 measurement, systolic 120 to 120")
    )

    reading(nurse_api, sid, heart_rate=95, systolic=131, diastolic=84)
    expect(hr_spark).to_have_attribute("data-points", "3")
    expect(hr_spark).to_have_accessible_name(re.compile(r"from 82 to 95, lowest 82, highest 95$"))
    expect(vital(card, "bp").locator("svg.spark .spark-bar")).to_have_count(2)
    points = hr_spark.locator("polyline").get_attribute("points")
    assert points is not None and len(points.split()) == 3


def test_the_trend_comes_from_the_servers_buckets_and_live_readings_fold_into_them(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    # A minute boundary five minutes ago starts a 15-second bucket: two readings fall in it.
    bucket = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    reading(nurse_api, sid, taken_at=ago(minutes=10), heart_rate=70, source="device")
    reading(nurse_api, sid, taken_at=(bucket + timedelta(seconds=2)).isoformat(), heart_rate=80)
    reading(nurse_api, sid, taken_at=(bucket + timedelta(seconds=4)).isoformat(), heart_rate=90)
    reading(nurse_api, sid, taken_at=ago(minutes=1), spo2=96, source="device")
    requests: list[str] = []
    nurse_page.on("request", lambda request: requests.append(request.url))

    open_ward(nurse_page, live_server)
    card = tile(nurse_page, sid)
    expect(card).to_have_attribute("data-trend", "loaded")
    hr_spark = vital(card, "heart_rate").locator("svg.spark")
    expect(hr_spark).to_have_attribute("data-points", "2")
    expect(hr_spark).to_have_accessible_name(
        "HR trend, last 30 min: from 70 to 85, lowest 70, highest 90"
    )
    assert any(f"/api/sessions/{sid}/trend?" in url for url in requests), requests
    assert not any("/readings?" in url for url in requests), requests
    # Where each value came from is in the session list now: a monitor's SpO2 is stale after
    # a minute, a hand-entered heart rate with the BP round.
    expect(vital(card, "spo2")).to_have_attribute("data-stale-after", "60000")
    expect(vital(card, "heart_rate")).to_have_attribute("data-stale-after", str(15 * 60_000))

    # A late reading for that bucket joins it once: 80, 90 and 100 make 90.
    reading(nurse_api, sid, taken_at=(bucket + timedelta(seconds=9)).isoformat(), heart_rate=100)
    expect(hr_spark).to_have_accessible_name(
        "HR trend, last 30 min: from 70 to 90, lowest 70, highest 100"
    )
    expect(hr_spark).to_have_attribute("data-points", "2")


def test_values_older_than_their_interval_look_stale_and_say_so(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    empty = new_session(nurse_api)
    session = new_session(nurse_api)
    sid = session["id"]
    # A monitor's SpO2 two minutes old: its feed stopped. A BP 20 minutes old: the round is overdue.
    reading(nurse_api, sid, taken_at=ago(minutes=2), spo2=96, source="device")
    reading(nurse_api, sid, taken_at=ago(minutes=20), systolic=118, diastolic=76)
    # A pulse a nurse counted three minutes ago is not due again until the next round.
    reading(nurse_api, sid, taken_at=ago(minutes=3), heart_rate=72)

    open_ward(nurse_page, live_server)
    card = tile(nurse_page, sid)
    expect(card).to_have_attribute("data-trend", "loaded")
    for name, age in (("spo2", "2 min ago"), ("bp", "20 min ago")):
        row = vital(card, name)
        expect(row).to_have_attribute("data-stale", "true")
        expect(row.locator(".badge.stale")).to_be_visible()
        expect(row.locator(".badge.stale")).to_have_text("Stale")
        expect(row.locator(".age")).to_have_text(age)
        decoration = on_element(
            row.locator(".v-value"), "(el) => getComputedStyle(el).textDecorationLine"
        )
        assert decoration == "line-through"
    pulse = vital(card, "heart_rate")
    expect(pulse).to_have_attribute("data-stale", "false")
    expect(pulse.locator(".badge.stale")).to_be_hidden()
    expect(card.locator(".tile-data-note")).to_be_hidden()  # the pulse is current

    # A fresh monitor value is no longer stale.
    reading(nurse_api, sid, spo2=97, source="device")
    expect(vital(card, "spo2")).to_have_attribute("data-stale", "false")
    expect(vital(card, "spo2").locator(".v-value")).to_have_text("97")

    # A chair with nothing yet says so in words.
    expect(tile(nurse_page, empty["id"]).locator(".tile-data-note")).to_have_text("No readings yet")


def test_news2_is_shown_for_a_complete_set_and_what_is_missing_otherwise(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    reading(nurse_api, sid, heart_rate=95, spo2=97, systolic=125, diastolic=80)
    open_ward(nurse_page, live_server)
    news2 = tile(nurse_page, sid).locator(".tile-news2")
    expect(news2.locator(".news2-score")).to_have_text("—")
    expect(news2).to_have_attribute("data-band", "none")
    missing = news2.locator(".news2-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("missing: RR, air/O₂, ACVPU, Temp")
    # Screen readers hear the words in full.
    expect(missing.locator(".visually-hidden")).to_have_text(
        ", missing: respiration rate, air or oxygen, consciousness, temperature"
    )

    full = {
        "respiratory_rate": 18,
        "spo2": 97,
        "on_oxygen": False,
        "systolic": 125,
        "diastolic": 80,
        "heart_rate": 95,  # 91–110 scores 1
        "consciousness": "A",
        "temperature": 37.0,
    }
    reading(nurse_api, sid, **full)
    expect(news2.locator(".news2-score")).to_have_text("1", timeout=NEWS2_WAIT_MS)
    expect(news2.locator(".news2-band")).to_have_text("Low")
    expect(news2).to_have_attribute("data-band", "low")
    expect(missing).to_be_hidden()

    # Worse observations: the server's new score reaches the tile without a reload.
    reading(
        nurse_api, sid, **{**full, "heart_rate": 115, "respiratory_rate": 22, "temperature": 38.5}
    )
    expect(news2.locator(".news2-score")).to_have_text("5", timeout=NEWS2_WAIT_MS)
    expect(news2.locator(".news2-band")).to_have_text("Medium")
    expect(news2).to_have_attribute("data-band", "medium")
    assert nurse_api.get(f"/api/sessions/{sid}/news2").json()["score"] == 5


def test_a_reading_entered_in_error_leaves_the_tile(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    reading(nurse_api, sid, taken_at=ago(minutes=2), heart_rate=80, systolic=122, diastolic=78)
    wrong = reading(nurse_api, sid, heart_rate=140, systolic=210, diastolic=120)
    open_ward(nurse_page, live_server)
    card = tile(nurse_page, sid)
    expect(card).to_have_attribute("data-trend", "loaded")
    expect(vital(card, "heart_rate").locator(".v-value")).to_have_text(re.compile(r"^140\b"))
    # Alarming, it shows the limits it crossed; withdrawn with its reading, it is plain again.
    expect(vital(card, "bp").locator(".v-value")).to_have_text(re.compile(r"^210/120 ▲ >180/>110"))
    expect(vital(card, "heart_rate").locator("svg.spark")).to_have_attribute("data-points", "2")

    mark_in_error(nurse_api, sid, wrong["id"], "typed into the wrong chair")
    expect(vital(card, "heart_rate").locator(".v-value")).to_have_text("80")
    expect(vital(card, "bp").locator(".v-value")).to_have_text("122/78")
    expect(vital(card, "heart_rate").locator("svg.spark")).to_have_attribute("data-points", "1")
    expect(vital(card, "bp").locator("svg.spark .spark-bar")).to_have_count(1)


def test_a_trend_fetched_before_a_mark_does_not_bring_the_errored_value_back(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    reading(nurse_api, sid, taken_at=ago(minutes=2), heart_rate=80)
    wrong = reading(nurse_api, sid, heart_rate=140)
    held: list[tuple[Route, APIResponse]] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # fetched before the mark, answered after it

    nurse_page.route(f"**/api/sessions/{sid}/trend?*", hold_the_first)
    open_ward(nurse_page, live_server)
    card = tile(nurse_page, sid)
    expect(vital(card, "heart_rate").locator(".v-value")).to_have_text("140")
    for _ in range(100):
        if held:
            break
        nurse_page.wait_for_timeout(50)
    assert held, "the tile did not load its trend"

    mark_in_error(nurse_api, sid, wrong["id"], "typed into the wrong chair")
    expect(vital(card, "heart_rate").locator(".v-value")).to_have_text("80")
    expect(card).to_have_attribute("data-trend", "loaded")
    route, before = held[0]
    route.fulfill(response=before)
    nurse_page.wait_for_timeout(500)  # the stale load's answer has been handled by now
    expect(vital(card, "heart_rate").locator(".v-value")).to_have_text("80")
    expect(vital(card, "heart_rate").locator("svg.spark")).to_have_attribute("data-points", "1")


def test_a_news2_score_the_refresh_could_not_renew_is_marked_stale_with_its_time(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid = session["id"]
    full = {
        "respiratory_rate": 18,
        "spo2": 97,
        "on_oxygen": False,
        "systolic": 125,
        "diastolic": 80,
        "heart_rate": 95,
        "consciousness": "A",
        "temperature": 37.0,
    }
    reading(nurse_api, sid, **full)
    scored = datetime.now(UTC) - timedelta(minutes=3)

    def three_minutes_old(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for item in body if isinstance(body, list) else body["items"]:
            item["news2"]["as_of"] = scored.isoformat()
        route.fulfill(response=response, json=body)

    # The list's score was worked out 3 minutes ago and no refresh has renewed it since.
    nurse_page.route("**/api/sessions?*", three_minutes_old)
    nurse_page.route("**/api/sessions/*/news2", lambda route: route.abort("failed"))
    open_ward(nurse_page, live_server)
    news2 = tile(nurse_page, sid).locator(".tile-news2")
    expect(news2.locator(".news2-score")).to_have_text("1")
    expect(news2).to_have_attribute("data-stale", "true")
    local = scored.astimezone(ZoneInfo(TIMEZONE)).strftime("%H:%M")
    expect(news2.locator(".news2-stale")).to_have_text(f"Stale scored {local}")
    expect(news2.locator(".news2-score")).to_have_css("text-decoration-line", "line-through")

    # A refresh that gets through makes it current again.
    nurse_page.unroute("**/api/sessions/*/news2")
    reading(nurse_api, sid, **full)
    expect(news2).to_have_attribute("data-stale", "false", timeout=NEWS2_WAIT_MS)
    expect(news2.locator(".news2-stale")).to_be_hidden()
