"""A reading entered by mistake is marked "entered in error" from the Recent readings table: it
stays in the record, struck through with who and why, and leaves the latest values, on every
page open on the session."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import APIResponse, Locator, Page, Route, WebSocketRoute, expect

from backend.core.roles import Role
from tests.browser.conftest import OpenSession, sign_in, trace, wait_for_points, wait_until_live
from tests.conftest import LiveServer
from tests.helpers import mark_in_error, new_session, post_reading

pytestmark = pytest.mark.browser


def reading_at(
    client: httpx.Client, session_id: int, minutes_ago: int, **vitals: Any
) -> dict[str, Any]:
    taken = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    response = post_reading(client, session_id, taken_at=taken, **vitals)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def pattern_for(start: str, end: str) -> re.Pattern[str]:
    """`start`, a local hh:mm, then `end`."""
    return re.compile(f"^{re.escape(start)} \\d\\d:\\d\\d{re.escape(end)}$")


def row(page: Page, reading_id: str) -> Locator:
    return page.locator(f"#recent-body tr[data-reading-id='{reading_id}']")


def note(page: Page, reading_id: str) -> Locator:
    return page.locator(f"#recent-body td[data-note-for='{reading_id}']")


def latest_hr(page: Page) -> Locator:
    return page.locator("#latest .vital[data-vital='heart_rate'] .v-value")


def test_a_reading_marked_from_the_table_is_struck_with_its_reason_on_every_open_page(
    open_session: OpenSession, nurse_api: httpx.Client, second_page: Page, live_server: LiveServer
) -> None:
    session = new_session(nurse_api)
    reading_at(nurse_api, session["id"], 2, heart_rate=72, spo2=97)
    wrong = reading_at(nurse_api, session["id"], 1, heart_rate=180, spo2=96)
    page = open_session(session["id"])
    sign_in(second_page, live_server.url, Role.STAFF)
    second_page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(second_page)
    # The value, with or without its alarm (the alarm clock may have raised it by now).
    expect(latest_hr(page)).to_have_text(re.compile(r"^180\b"))
    expect(latest_hr(second_page)).to_have_text(re.compile(r"^180\b"))

    row(page, wrong["id"]).get_by_role("button", name="Entered in error…").click()
    dialog = page.locator("#reading-error")
    expect(dialog).to_be_visible()
    expect(page.locator("#reading-error-summary")).to_contain_text("HR 180, SpO₂ 96 %")
    expect(page.locator("#reading-error-summary")).to_contain_text(
        row(page, wrong["id"]).locator("td").first.inner_text()
    )
    expect(page.locator("#reading-error-reason")).to_be_focused()

    # A reason is required: nothing is marked without one.
    page.locator("#reading-error-reason").fill("x")
    page.locator("#reading-error-ok").click()
    expect(page.locator("#reading-error-reason-error")).to_contain_text("at least 3 characters")
    expect(page.locator("#reading-error-reason")).to_have_attribute("aria-invalid", "true")
    assert (
        nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"][1][
            "entered_in_error_at"
        ]
        is None
    )

    # A quick choice fills the reason; the nurse can add to it.
    page.get_by_role("button", name="Typing error").click()
    expect(page.locator("#reading-error-reason")).to_have_value("Typing error")
    expect(page.locator("#reading-error-reason")).to_be_focused()
    page.keyboard.type(": 108 typed as 180")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()

    items = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"]
    flagged = next(r for r in items if r["id"] == wrong["id"])
    assert flagged["entered_in_error_reason"] == "Typing error: 108 typed as 180"
    assert flagged["entered_in_error_by"] == "test-nurse"
    assert flagged["entered_in_error_at"] is not None

    for p in (page, second_page):
        # Still in the table, struck through and explained in words, with no button left.
        expect(row(p, wrong["id"])).to_have_class("errored")
        expect(row(p, wrong["id"]).locator("td").nth(1)).to_have_css(
            "text-decoration-line", "line-through"
        )
        expect(row(p, wrong["id"])).to_contain_text("(entered in error)")
        expect(note(p, wrong["id"])).to_have_text(
            pattern_for("Entered in error by test-nurse at", ": Typing error: 108 typed as 180")
        )
        expect(row(p, wrong["id"]).get_by_role("button")).to_have_count(0)
        # Gone from the latest values: the reading before it is the latest again.
        expect(latest_hr(p)).to_have_text("72")
    expect(note(page, wrong["id"])).to_be_focused()
    # And from the charts: only the reading that counts is drawn.
    wait_for_points(page, "heart_rate", 1, exactly=True)
    assert trace(page, "heart_rate")["y"] == [72]


def test_the_dialog_works_from_the_keyboard_and_cancel_changes_nothing(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    reading = reading_at(nurse_api, session["id"], 1, heart_rate=88)
    page = open_session(session["id"])
    button = row(page, reading["id"]).get_by_role("button", name="Entered in error…")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#reading-error")).to_be_visible()
    expect(page.locator("#reading-error-summary")).to_contain_text("HR 88")
    page.keyboard.type("Wrong patient")
    page.keyboard.press("Escape")
    expect(page.locator("#reading-error")).to_be_hidden()
    expect(button).to_be_focused()  # back where the nurse was

    expect(row(page, reading["id"])).not_to_have_class("errored")
    items = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"]
    assert items[0]["entered_in_error_at"] is None
    expect(latest_hr(page)).to_have_text("88")


def test_a_reading_already_marked_elsewhere_is_reported_in_the_dialog(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    reading = reading_at(nurse_api, session["id"], 1, heart_rate=95)
    page = open_session(session["id"])
    row(page, reading["id"]).get_by_role("button", name="Entered in error…").click()
    page.locator("#reading-error-reason").fill("Artefact")

    mark_in_error(nurse_api, session["id"], reading["id"], "Wrong patient")
    page.locator("#reading-error-ok").click()
    expect(page.locator("#reading-error-errors")).to_contain_text("already marked entered in error")
    page.locator("#reading-error-cancel").click()
    # The stream brought the other person's mark: shown with their reason, not ours.
    expect(note(page, reading["id"])).to_contain_text(": Wrong patient")
    expect(latest_hr(page)).to_have_text("–")


def test_a_trainer_cannot_mark_a_real_patients_reading(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    reading = reading_at(nurse_api, session["id"], 1, heart_rate=70)
    sign_in(page, live_server.url, Role.TRAINER)
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    # Trainers see simulated sessions only: the real patient's page is refused, readings and all.
    expect(page.locator("#load-error")).to_contain_text("Trainers see simulated sessions only")
    expect(row(page, reading["id"])).to_have_count(0)


def test_a_mark_arriving_during_a_reload_is_not_undone_by_the_history_fetched_before_it(
    nurse_page: Page, open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    reading_at(nurse_api, session["id"], 2, heart_rate=72)
    wrong = reading_at(nurse_api, session["id"], 1, heart_rate=180)
    sockets: list[WebSocketRoute] = []

    def pass_through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    nurse_page.route_web_socket(re.compile(r".*/api/stream.*"), pass_through)
    page = open_session(session["id"])
    expect(latest_hr(page)).to_have_text(re.compile(r"^180\b"))  # alarmed or not yet
    assert sockets, "the page's stream did not go through the route"

    held: list[tuple[Route, APIResponse]] = []

    def hold(route: Route) -> None:
        held.append((route, route.fetch()))  # the history as it was before the mark

    page.route(f"**/api/sessions/{session['id']}/readings?*", hold)
    sockets[-1].send(json.dumps({"type": "reset"}))  # the server forgot our cursor: reload
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the reload did not fetch the history"

    mark_in_error(nurse_api, session["id"], wrong["id"], "Typing error")
    wait_for_points(page, "heart_rate", 1, exactly=True)
    route, before = held[0]
    route.fulfill(response=before)

    expect(row(page, wrong["id"])).to_have_class("errored")
    expect(latest_hr(page)).to_have_text("72")
    page.wait_for_timeout(300)
    assert trace(page, "heart_rate")["y"] == [72]
