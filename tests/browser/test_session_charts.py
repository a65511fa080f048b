"""The session page's charts: a whole long session held, time windows, a zoom that survives live
readings, the respiratory rate row, alarms on the time axis, readings entered in error."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import insert

from backend.core.database import Database
from backend.core.roles import Role
from backend.readings.models import Reading
from tests.browser.conftest import (
    TIMEZONE,
    OpenSession,
    api_client,
    trace,
    wait_for_points,
    wait_until_live,
)
from tests.conftest import LiveServer
from tests.helpers import mark_in_error, new_session, post_reading

pytestmark = pytest.mark.browser

FOUR_HOURS = 4 * 3600


def seed_one_a_second(
    database: Database, session_id: int, seconds: int, ago: timedelta = timedelta(seconds=1)
) -> None:
    """`seconds` monitor readings, one a second, ending `ago` (blood pressure every 5 min), stored
    straight into the database: the API would take a while, and this test is about the page."""
    end = datetime.now(UTC).replace(microsecond=0) - ago
    rows: list[dict[str, Any]] = []
    for i in range(seconds):
        taken = end - timedelta(seconds=seconds - 1 - i)
        bp = i % 300 == 0
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "session_id": session_id,
                "taken_at": taken,
                "received_at": taken,
                "source": "device",
                "entered_by": "test monitor",
                "heart_rate": 70 + i % 11,
                "spo2": 96 + i % 3,
                "systolic": 120 if bp else None,
                "diastolic": 78 if bp else None,
            }
        )
    with database.unit_of_work(write=True) as db:
        db.execute(insert(Reading), rows)


def wait_chart(page: Page, condition: str, arg: Any = None, timeout_ms: int = 5000) -> None:
    """Wait until `condition`, a JavaScript expression on the chart `gd` (and `arg`), holds."""
    page.wait_for_function(
        f"(arg) => {{ const gd = document.getElementById('vitals-chart'); return {condition}; }}",
        arg=arg,
        timeout=timeout_ms,
    )


def x_range_minutes(page: Page) -> float:
    """How many minutes the time axis shows now."""
    minutes: float = page.evaluate(
        """() => {
            const [a, b] = document.getElementById('vitals-chart')._fullLayout.xaxis.range;
            const ms = (s) => new Date(String(s).replace(' ', 'T')).getTime();
            return (ms(b) - ms(a)) / 60000;
        }"""
    )
    return minutes


def layout_x_range(page: Page) -> list[str]:
    shown: list[str] = page.evaluate(
        "() => document.getElementById('vitals-chart').layout.xaxis.range.map(String)"
    )
    return [s[:19] for s in shown]


def alarm_marks(page: Page) -> dict[str, list[Any]]:
    """The alarm lane's markers: x, the "!" text and the hover text."""
    marks: dict[str, list[Any]] = page.evaluate(
        """() => {
            const t = document.getElementById('vitals-chart').data.find((t) => t.uid === 'alarms');
            return {
                x: t.x, text: t.text, hover: t.customdata.map((c) => c[1]), color: t.marker.color,
            };
        }"""
    )
    return marks


def test_a_drills_alarm_is_marked_in_the_drills_violet_not_a_patients_red(
    open_session: OpenSession, nurse_api: httpx.Client, live_server: LiveServer
) -> None:
    with api_client(live_server.url, Role.ADMIN) as admin:  # admins may start drills
        drill = new_session(admin, simulated=True)
    patient = new_session(nurse_api)
    marks = {}
    for session in (drill, patient):
        assert post_reading(nurse_api, session["id"], systolic=195, diastolic=90).is_success
        page = open_session(session["id"])
        wait_chart(page, "gd.data.find((t) => t.uid === 'alarms').x.length === 1")
        marks[session["id"]] = alarm_marks(page)
    drill_marks, patient_marks = marks[drill["id"]], marks[patient["id"]]
    assert drill_marks["text"] == patient_marks["text"] == ["!!!"]  # the priority is rehearsed
    assert patient_marks["color"] == ["#ff4d5e"]
    assert drill_marks["color"] == ["#c58bff"]
    assert "DRILL" in drill_marks["hover"][0] and "DRILL" not in patient_marks["hover"][0]


def test_a_four_hour_session_is_held_whole_and_the_page_keeps_up(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client, database: Database
) -> None:
    session = new_session(nurse_api)
    seed_one_a_second(database, session["id"], FOUR_HOURS)
    page = nurse_page
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    # Generous: the machine running the tests may be busy; this test is about what is held.
    wait_for_points(page, "heart_rate", FOUR_HOURS, timeout_ms=60000)
    page.wait_for_selector("#live-status[data-state='live']", timeout=30000)
    assert len(trace(page, "spo2")["y"]) == FOUR_HOURS
    assert len(trace(page, "systolic")["y"]) == FOUR_HOURS // 300
    expect(page.locator("#chart-window [aria-pressed='true']")).to_have_text("Whole session")
    assert 239 < x_range_minutes(page) < 300  # the whole session (and the phase label at its end)

    # The window buttons change what the time axis shows (a window has a minute or so ahead).
    page.get_by_role("button", name="Last 15 min").click()
    expect(page.get_by_role("button", name="Last 15 min")).to_have_attribute("aria-pressed", "true")
    wait_chart(page, "gd.layout.xaxis.autorange === false")
    assert 15 <= x_range_minutes(page) <= 17
    page.get_by_role("button", name="Last hour").click()
    wait_chart(
        page,
        "gd._fullLayout.xaxis.range.map((s) => Date.parse(s.replace(' ', 'T')))"
        ".reduce((a, b) => b - a) > 50 * 60000",
    )
    assert 60 <= x_range_minutes(page) <= 65

    # A nurse's zoom (a drag, as Plotly reports it) survives the next live readings.
    zoom: list[str] = page.evaluate(
        """() => {
            const gd = document.getElementById('vitals-chart');
            const x = gd.data.find((t) => t.uid === 'heart_rate').x;
            const range = [x[3000], x[3600]];
            Plotly.relayout(gd, { 'xaxis.range[0]': range[0], 'xaxis.range[1]': range[1] });
            return range;
        }"""
    )
    expect(page.locator("#chart-window [aria-pressed='true']")).to_have_count(0)
    expect(page.locator("[data-zoom-note]")).to_be_visible()
    for _ in range(2):
        assert post_reading(nurse_api, session["id"], heart_rate=99, spo2=95).is_success
    wait_for_points(page, "heart_rate", FOUR_HOURS + 2)
    assert layout_x_range(page) == [z[:19] for z in zoom]

    # Still responsive with the whole session held: a click runs its handler at once.
    page.get_by_role("button", name="Whole session").click()
    expect(page.get_by_role("button", name="Whole session")).to_have_attribute(
        "aria-pressed", "true"
    )
    wait_chart(page, "gd.layout.xaxis.autorange === true")


def test_a_chosen_window_follows_the_newest_reading(
    open_session: OpenSession, nurse_api: httpx.Client, database: Database
) -> None:
    session = new_session(nurse_api)
    seed_one_a_second(database, session["id"], 30 * 60, ago=timedelta(minutes=3))
    page = open_session(session["id"])
    page.get_by_role("button", name="Last 15 min").click()
    wait_chart(page, "gd.layout.xaxis.autorange === false")
    before = layout_x_range(page)

    # Three minutes on, past the minute the window keeps ahead: it moves on by itself.
    assert post_reading(nurse_api, session["id"], heart_rate=88).is_success
    wait_for_points(page, "heart_rate", 30 * 60 + 1)
    wait_chart(page, "String(gd.layout.xaxis.range[1]).slice(0, 19) > arg", before[1])
    assert 15 <= x_range_minutes(page) <= 17
    expect(page.get_by_role("button", name="Last 15 min")).to_have_attribute("aria-pressed", "true")


def test_respiratory_rate_gets_its_own_row_when_the_first_value_arrives(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    assert post_reading(nurse_api, session["id"], heart_rate=72, spo2=98).is_success
    page = open_session(session["id"])
    has_rr = "gd.data.some((t) => t.uid === 'respiratory_rate')"
    assert (
        page.evaluate(
            f"() => {{ const gd = document.getElementById('vitals-chart'); return {has_rr}; }}"
        )
        is False
    )
    assert page.evaluate("() => document.getElementById('vitals-chart').dataset.rows") == "3"

    assert post_reading(nurse_api, session["id"], respiratory_rate=7).is_success
    wait_chart(page, has_rr)
    assert trace(page, "respiratory_rate")["y"] == [7]
    assert trace(page, "heart_rate")["y"] == [72]  # the other rows kept their data
    assert page.evaluate("() => document.getElementById('vitals-chart').dataset.rows") == "4"
    # Its own axis, below SpO2, with its alarm limits drawn on it.
    layout = page.evaluate(
        "() => { const l = document.getElementById('vitals-chart')._fullLayout;"
        " return { rr: l.yaxis4.domain, spo2: l.yaxis3.domain, anchor: l.xaxis.anchor,"
        " shapes: (l.shapes || []).map((s) => s.name || '') }; }"
    )
    assert layout["rr"][1] < layout["spo2"][0]
    assert layout["anchor"] == "y4"
    wait_chart(
        page, "gd.layout.shapes.some((s) => (s.name || '').startsWith('limit:respiratory_rate'))"
    )

    assert post_reading(nurse_api, session["id"], respiratory_rate=14, heart_rate=75).is_success
    wait_for_points(page, "respiratory_rate", 2)
    assert trace(page, "respiratory_rate")["y"] == [7, 14]


def test_alarms_are_marked_on_the_time_axis_and_go_when_their_reading_was_in_error(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    assert post_reading(
        nurse_api, session["id"], heart_rate=70, systolic=120, diastolic=80
    ).is_success
    page = open_session(session["id"])
    assert alarm_marks(page)["x"] == []

    high = post_reading(nurse_api, session["id"], systolic=195, diastolic=90)
    assert high.status_code == 201, high.text
    wait_chart(page, "gd.data.find((t) => t.uid === 'alarms').x.length === 1")
    (alert,) = [a for a in nurse_api.get(f"/api/sessions/{session['id']}/alerts").json()]
    marks = alarm_marks(page)
    raised = datetime.fromisoformat(alert["raised_at"].replace("Z", "+00:00"))
    if raised.tzinfo is None:
        raised = raised.replace(tzinfo=UTC)
    local = raised.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")
    assert marks["x"][0][:19] == local
    assert marks["text"] == ["!!!"]
    assert "HIGH ALARM" in marks["hover"][0] and alert["message"] in marks["hover"][0]
    assert "ACTIVE" in marks["hover"][0] or "LATCHED" in marks["hover"][0]
    wait_for_points(page, "systolic", 2)

    # Acknowledged elsewhere: the marker says so.
    ack = nurse_api.post(f"/api/alerts/{alert['id']}/acknowledge", json={})
    assert ack.status_code == 200, ack.text
    wait_chart(
        page, "/ACK|RESOLVED/.test(gd.data.find((t) => t.uid === 'alarms').customdata[0][1])"
    )

    # The reading was a mistake: its point leaves the chart, and its alarm, withdrawn, goes too.
    mark_in_error(nurse_api, session["id"], high.json()["id"], "cuff on the wrong patient")
    wait_chart(page, "gd.data.find((t) => t.uid === 'systolic').y.filter((y) => y).length === 1")
    assert trace(page, "systolic")["y"] == [120]
    wait_chart(page, "gd.data.find((t) => t.uid === 'alarms').x.length === 0")
    # In the alarm history it is a withdrawn alarm, with the reason, not an ordinary resolved one.
    withdrawn = "Withdrawn: reading entered in error — cuff on the wrong patient"
    for _ in range(2):  # as the stream brought it, then as a fresh load shows it
        item = page.locator(f"#alarm-history li[data-alert-id='{alert['id']}']")
        expect(item).to_contain_text(withdrawn)
        expect(item).to_have_attribute("data-withdrawn", "true")
        expect(item).not_to_contain_text("cleared without acknowledgement")
        page.reload()
        wait_until_live(page)


def test_readings_entered_in_error_are_never_drawn(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    ids = []
    for i, hr in enumerate([70, 150, 72]):
        taken = (start + timedelta(seconds=30 * i)).isoformat()
        response = post_reading(nurse_api, session["id"], heart_rate=hr, taken_at=taken)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    page = open_session(session["id"])
    assert trace(page, "heart_rate")["y"] == [70, 150, 72]

    mark_in_error(nurse_api, session["id"], ids[1], "typing error")
    wait_chart(page, "gd.data.find((t) => t.uid === 'heart_rate').y.filter((y) => y).length === 2")
    assert trace(page, "heart_rate")["y"] == [70, 72]

    # Loaded afresh, the history still has it (flagged): it stays off the chart.
    page.reload()
    page.wait_for_selector("#live-status[data-state='live']")
    wait_for_points(page, "heart_rate", 2)
    assert trace(page, "heart_rate")["y"] == [70, 72]


def test_the_empty_chart_follows_the_servers_clock_and_alarms_sort_as_instants(
    isolated_nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    nurse_page = isolated_nurse_page  # the fake clock stays in its context
    session = new_session(nurse_api)
    # This tablet's clock is two hours slow; the server's is the one that counts.
    nurse_page.clock.set_system_time(datetime.now(UTC) - timedelta(hours=2))
    nurse_page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(nurse_page)
    end = nurse_page.evaluate("() => document.getElementById('vitals-chart').layout.xaxis.range[1]")
    local_now = datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None)
    shown = datetime.fromisoformat(end[:19])
    assert abs((shown - local_now).total_seconds() - 60) < 120, (shown, local_now)

    order = nurse_page.evaluate(
        """async () => {
            const { drawnAlarms } = await import('/static/js/chart-alarms.js');
            return drawnAlarms([
              { id: 1, priority: 'high', raised_at: '2024-01-01T09:30:00-01:00' },
              { id: 2, priority: 'high', raised_at: '2024-01-01T10:00:00Z' },
            ]).map((a) => a.id);
        }"""
    )
    assert order == [2, 1]  # 10:00 UTC before 10:30 UTC, whatever the strings say


def shown_seconds(page: Page) -> float:
    """How much time the chart's x axis shows."""
    start, end = page.evaluate("() => document.getElementById('vitals-chart').layout.xaxis.range")
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def axis_type(page: Page) -> str:
    kind: str = page.evaluate(
        "() => document.getElementById('vitals-chart')._fullLayout.xaxis.type"
    )
    return kind


def test_the_time_axis_stays_a_time_axis_with_nothing_to_draw(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    """Plotly guesses an axis's type again when a trace's x values are replaced; with no points
    it guessed a plain number line (-1 to 6), and drew the phase lines and labels at NaN."""
    session = new_session(nurse_api)
    page = open_session(session["id"])  # the page fixture fails on the NaN errors Chromium logs
    wait_chart(page, "gd._fullLayout.xaxis.type === 'date'")
    page.wait_for_timeout(300)  # the alarm lane is filled after the first draw
    assert axis_type(page) == "date"
    assert 15 * 60 < shown_seconds(page) < 17 * 60  # the empty chart's last 15 min and next 1

    reading = post_reading(nurse_api, session["id"], heart_rate=75)
    assert reading.status_code == 201, reading.text
    wait_for_points(page, "heart_rate", 1)
    mark_in_error(nurse_api, session["id"], reading.json()["id"], "wrong chair")
    wait_chart(page, "gd.data.find((t) => t.uid === 'heart_rate').y.filter((y) => y).length === 0")
    page.wait_for_timeout(300)
    assert axis_type(page) == "date"
    ticks = page.locator("#vitals-chart .xtick text").all_text_contents()
    assert ticks, "no time ticks"
    assert all(re.fullmatch(r"\d\d:\d\d", tick) for tick in ticks), ticks
