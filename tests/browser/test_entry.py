"""Chairside entry: a full set by keyboard, confirmation of unusual values, errors beside the
field, a time set back, and a form a finger can use on a tablet."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import TIMEZONE, OpenSession, trace, wait_for_points
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading, readings_of

pytestmark = pytest.mark.browser

TABLET_PORTRAIT: ViewportSize = {"width": 820, "height": 1180}
TABLET_LANDSCAPE: ViewportSize = {"width": 1180, "height": 820}


def count_posts(page: Page, session_id: int) -> list[str]:
    """Every reading POST the page makes from now on (its URL), to prove none was sent."""
    posts: list[str] = []
    path = f"/api/sessions/{session_id}/readings"
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith(path)
            else None
        ),
    )
    return posts


def local_input_value(moment: datetime) -> str:
    """What the 24-hour time field shows for `moment` in the browser's time zone."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%H:%M:%S")


def test_a_full_set_entered_by_keyboard_alone_is_stored_with_every_observation(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    page.locator("#heart_rate").focus()

    # The order a nurse reads a monitor: HR, SpO2, systolic, diastolic, RR, temperature...
    for field, value in [
        ("heart_rate", "72"),
        ("spo2", "96"),
        ("systolic", "118"),
        ("diastolic", "76"),
        ("respiratory_rate", "14"),
        ("temperature", "36.9"),
    ]:
        expect(page.locator(f"#{field}")).to_be_focused()
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    # ...then what the nurse observes: ACVPU, MOAA/S, air or oxygen, and last the time.
    expect(page.locator("#consciousness")).to_be_focused()
    page.keyboard.type("V")  # a closed select picks the option starting with the typed letter
    expect(page.locator("#consciousness")).to_have_value("V")
    page.keyboard.press("Tab")
    expect(page.locator("#sedation")).to_be_focused()
    expect(page.locator("#sedation option").nth(1)).to_have_text("5 — Responds readily to name")
    page.keyboard.type("4")
    expect(page.locator("#sedation")).to_have_value("4")
    page.keyboard.press("Tab")
    expect(page.locator("#o2-unknown")).to_be_focused()  # the group's one tab stop: its choice
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#o2-oxygen")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#taken_at")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#o2-oxygen")).to_be_focused()
    page.keyboard.press("Enter")  # Enter records from any field, a radio button included

    status = page.locator("#entry-status")
    expect(status).to_contain_text("Reading recorded: HR 72, SpO₂ 96 %, BP 118/76, RR 14")
    expect(status).to_contain_text("Temp 36.9 °C, ACVPU V, MOAA/S 4, on oxygen")
    expect(page.locator("#heart_rate")).to_be_focused()
    for field in ["heart_rate", "spo2", "systolic", "temperature", "consciousness", "sedation"]:
        expect(page.locator(f"#{field}")).to_have_value("")
    expect(page.locator("#o2-unknown")).to_be_checked()

    (reading,) = readings_of(nurse_api, session["id"])
    assert {k: reading[k] for k in ("heart_rate", "spo2", "systolic", "diastolic")} == {
        "heart_rate": 72,
        "spo2": 96,
        "systolic": 118,
        "diastolic": 76,
    }
    assert (reading["respiratory_rate"], reading["temperature"]) == (14, 36.9)
    assert (reading["consciousness"], reading["sedation"], reading["on_oxygen"]) == ("V", 4, True)
    row = page.locator("#recent-body tr").first
    expect(row.locator("td")).to_have_text(
        [
            localtime_of(reading),
            "72",
            "118/76",
            "96",
            "14",
            "36.9",
            "V",
            "4",
            "O₂",
            "test-nurse",
            "Entered in error…",
        ]
    )

    # Enter on a select records too; "Air" is sent as on_oxygen false.
    page.locator("#heart_rate").fill("74")
    page.locator("#o2-air").check(force=True)
    page.locator("#sedation").select_option("5")
    page.locator("#sedation").press("Enter")
    expect(status).to_contain_text("Reading recorded: HR 74, MOAA/S 5, on air")
    second = readings_of(nurse_api, session["id"])[-1]
    assert (second["heart_rate"], second["sedation"], second["on_oxygen"]) == (74, 5, False)
    wait_for_points(page, "heart_rate", 2)


def localtime_of(reading: dict[str, Any]) -> str:
    taken = datetime.fromisoformat(reading["taken_at"])
    if taken.tzinfo is None:
        taken = taken.replace(tzinfo=UTC)
    return taken.astimezone(ZoneInfo(TIMEZONE)).strftime("%H:%M:%S")


def test_an_unusual_value_asks_first_and_going_back_stores_nothing(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    page.locator("#heart_rate").fill("88")
    page.locator("#spo2").fill("65")  # below the "ask to confirm" 70 %
    page.locator("#spo2").press("Enter")

    dialog = page.locator("#confirm-values")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("SpO2 65 % is unusually low (below 70).")
    page.locator("#confirm-values-back").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#spo2")).to_be_focused()
    expect(page.locator("#spo2")).to_have_value("65")  # kept for correcting

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # Escape is "go back" too
    expect(dialog).to_be_hidden()
    assert readings_of(nurse_api, session["id"]) == []

    page.locator("#spo2").fill("95")
    page.locator("#spo2").press("Enter")  # corrected: nothing unusual left to ask about
    expect(page.locator("#entry-status")).to_contain_text("Reading recorded: HR 88, SpO₂ 95 %")
    assert [r["spo2"] for r in readings_of(nurse_api, session["id"])] == [95]


def test_an_impossible_value_is_explained_beside_its_own_field(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    posts = count_posts(page, session["id"])
    page.locator("#heart_rate").fill("80")
    page.locator("#temperature").fill("369")  # 36.9 without its decimal point
    page.locator("#temperature").press("Enter")

    field = page.locator(".field", has=page.locator("#temperature"))
    error = field.locator("#temperature-error")
    expect(error).to_have_text("369 °C is not a possible temperature: allowed range is 25–45 °C.")
    expect(page.locator("#temperature")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#temperature")).to_be_focused()
    expect(page.locator("#heart_rate")).not_to_have_attribute("aria-invalid", "true")
    # Beside the field: directly under its input, not in a list at the top of the form.
    box = page.locator("#temperature").bounding_box()
    err = error.bounding_box()
    assert box and err and 0 <= err["y"] - (box["y"] + box["height"]) < 30
    assert abs(err["x"] - box["x"]) < 5
    assert posts == []

    page.locator("#temperature").fill("36.9")
    page.locator("#temperature").press("Enter")
    expect(page.locator("#entry-status")).to_contain_text("Temp 36.9 °C")
    expect(error).to_be_hidden()


def test_a_time_set_back_is_stored_as_that_instant_and_a_future_one_is_refused_beside_it(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    posts = count_posts(page, session["id"])
    time_input = page.locator("#taken_at")

    # Untouched, the time follows the clock.
    shown = time_input.input_value()
    expect(time_input).not_to_have_value(shown, timeout=3000)

    # A time in the future is stopped here, beside the field, before anything is sent.
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    time_input.fill(local_input_value(future))
    page.locator("#heart_rate").fill("70")
    page.locator("#heart_rate").press("Enter")
    expect(page.locator("#taken_at-error")).to_contain_text("is in the future")
    # "(it is 14:05:09 now)", in local time: a real clock, not "NaN:NaN:NaN".
    expect(page.locator("#taken_at-error")).to_contain_text(re.compile(r"it is \d\d:\d\d:\d\d now"))
    expect(time_input).to_have_attribute("aria-invalid", "true")
    expect(time_input).to_be_focused()
    assert posts == []

    # Set back: typed, then five minutes earlier with the button; edited, it stops following.
    earlier = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    time_input.fill(local_input_value(earlier))
    page.locator("#taken-back").click()
    expected = earlier - timedelta(minutes=5)
    expect(time_input).to_have_value(local_input_value(expected))
    page.wait_for_timeout(1500)  # long enough for the clock to have moved it, were it following
    expect(time_input).to_have_value(local_input_value(expected))
    page.locator("#heart_rate").press("Enter")
    expect(page.locator("#entry-status")).to_contain_text(
        f"taken {expected.astimezone(ZoneInfo(TIMEZONE)):%H:%M:%S}"
    )
    (reading,) = readings_of(nurse_api, session["id"])
    assert datetime.fromisoformat(reading["taken_at"]).replace(tzinfo=UTC) == expected
    # After recording, the time follows the clock again.
    expect(time_input).not_to_have_value(local_input_value(expected))


@pytest.mark.parametrize(
    "viewport", [TABLET_PORTRAIT, TABLET_LANDSCAPE], ids=["portrait", "landscape"]
)
def test_the_form_fits_a_tablet_with_controls_a_finger_can_hit(
    nurse_page: Page, open_session: OpenSession, nurse_api: httpx.Client, viewport: ViewportSize
) -> None:
    session = new_session(nurse_api)
    now = datetime.now(UTC)
    for minutes in (3, 2, 1):
        taken = (now - timedelta(minutes=minutes)).isoformat()
        assert post_reading(nurse_api, session["id"], heart_rate=70, taken_at=taken).is_success
    nurse_page.set_viewport_size(viewport)  # the tablet's own size from the start
    page = open_session(session["id"])
    expect(page.locator("#recent-body .mark-error")).to_have_count(3)

    scroll = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll[0] <= scroll[1], f"the page scrolls sideways: {scroll}"
    small: list[Any] = page.evaluate(
        """() => [...document.querySelectorAll(
                '#entry-form input:not([type=radio]), #entry-form select, #entry-form button,'
                + ' #entry-form .segmented label, #recent-body button')]
            .map((el) => [el.id || el.textContent.trim(), el.getBoundingClientRect()])
            .filter(([, r]) => r.height < 44 || r.width < 44)
            .map(([name, r]) => `${name}: ${Math.round(r.width)}×${Math.round(r.height)}`)"""
    )
    assert small == [], f"controls smaller than 44 px: {small}"
    # Numeric keypads on a touch screen; a decimal one for the temperature.
    for field in ["heart_rate", "spo2", "systolic", "diastolic", "respiratory_rate"]:
        expect(page.locator(f"#{field}")).to_have_attribute("inputmode", "numeric")
    expect(page.locator("#temperature")).to_have_attribute("inputmode", "decimal")
    # Nothing in the form is cut off at the right.
    right: float = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('#entry-form *')]"
        ".map((el) => el.getBoundingClientRect().right))"
    )
    assert right <= viewport["width"]

    # A tap on the segmented control chooses.
    page.locator("label[for=o2-oxygen]").click()
    expect(page.locator("#o2-oxygen")).to_be_checked()
    assert trace(page, "heart_rate")["y"] == [70, 70, 70]


def test_times_are_typed_on_the_24_hour_clock_never_with_am_or_pm(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    # A browser's own time pickers show AM/PM in some locales: none is used on the page.
    assert page.locator("input[type=time], input[type=datetime-local]").count() == 0
    time_input = page.locator("#taken_at")
    expect(time_input).to_have_value(re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"))
    expect(time_input).to_have_attribute("inputmode", "numeric")

    # Digits alone will do (a phone's number pad has no colon): "0930" is 09:30:00. Typed two
    # hours back, whatever the time of day: a fixed 09:30 was up to an hour ahead of now for an
    # hour a day, read as today's (a future time, refused) and failed the test then.
    now = datetime.now(ZoneInfo(TIMEZONE))
    expected = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    expect_day = "yesterday" if expected.date() != now.date() else ""
    time_input.fill(f"{expected:%H%M}")
    expect(page.locator("#taken_at-day")).to_have_text(expect_day)
    page.locator("#heart_rate").fill("71")
    page.locator("#heart_rate").press("Enter")
    expect(page.locator("#entry-status")).to_contain_text(f"taken {expected:%H:%M}:00")
    (reading,) = readings_of(nurse_api, session["id"])
    assert datetime.fromisoformat(reading["taken_at"]).replace(tzinfo=UTC) == expected

    # The phase dialog's time is 24-hour too, and a time that is no time is refused in words.
    page.get_by_role("button", name="Stop early").click()
    at = page.locator("#phase-at")
    expect(at).to_have_value(re.compile(r"^([01]\d|2[0-3]):[0-5]\d$"))
    at.fill("25:61")
    page.locator("#phase-note").fill("patient asked to stop")
    page.locator("#confirm-phase-ok").click()
    expect(page.locator("#phase-at-error")).to_contain_text("24-hour clock")


def test_a_typed_time_is_the_latest_one_not_ahead_of_now_across_midnight(
    nurse_page: Page, live_server: LiveServer
) -> None:
    # At 23:50 "00:20" is the coming night's, half an hour ahead (refused as in the future),
    # not the one nearly a day ago; just after midnight "23:55" is yesterday's.
    nurse_page.goto(f"{live_server.url}/ward")
    meant = nurse_page.evaluate(
        """async () => {
            const { fromClockValue } = await import('/static/js/time.js');
            const at = (h, m) => new Date(2026, 11, 6, h, m, 0, 0).getTime();
            const minutesFrom = (text, nowMs) => (fromClockValue(text, { nowMs }) - nowMs) / 60000;
            return {
                justAfterMidnight: minutesFrom('00:20', at(23, 50)),
                earlierToday: minutesFrom('23:40', at(23, 50)),
                yesterdayLate: minutesFrom('23:55', at(0, 5)),
                hourAhead: minutesFrom('14:30', at(14, 0)),
                overAnHourAhead: minutesFrom('15:30', at(14, 0)),
            };
        }"""
    )
    assert meant == {
        "justAfterMidnight": 30,
        "earlierToday": -10,
        "yesterdayLate": -10,
        "hourAhead": 30,
        "overAnHourAhead": -(22 * 60 + 30),
    }
