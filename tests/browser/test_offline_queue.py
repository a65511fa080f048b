"""Entries made while the connection is down wait on the device, survive a reload, and are sent
once it returns, each stored exactly once; one the server refuses is shown, not retried forever."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import OpenSession, trace, wait_for_points, wait_until_live
from tests.helpers import new_session, readings_of

pytestmark = pytest.mark.browser


def kept(page: Page, session_id: int) -> list[dict[str, Any]]:
    """What the page keeps in localStorage for this session (the signed-in nurse's queue)."""
    text = page.evaluate(
        "(key) => localStorage.getItem(key)", f"vigil.waiting-readings.v1.test-nurse.{session_id}"
    )
    items: list[dict[str, Any]] = json.loads(text) if text else []
    return items


def route_posts(page: Page, session_id: int, handler: Callable[[Route], None]) -> str:
    """Send the page's reading POSTs for this session to `handler` (its GETs go on as usual);
    returns the pattern, to unroute."""
    pattern = f"**/api/sessions/{session_id}/readings"

    def posts_only(route: Route) -> None:
        if route.request.method == "POST":
            handler(route)
        else:
            route.continue_()

    page.route(pattern, posts_only)
    return pattern


def enter(page: Page, heart_rate: str) -> None:
    page.locator("#heart_rate").fill(heart_rate)
    page.locator("#heart_rate").press("Enter")


def test_entries_made_offline_wait_and_are_each_stored_once_when_the_link_returns(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    page.context.set_offline(True)

    enter(page, "81")
    status = page.locator("#entry-status")
    expect(status).to_contain_text("Not recorded yet")
    expect(status).not_to_contain_text("Reading recorded")
    expect(page.locator("#heart_rate")).to_have_value("")  # free for the next set
    expect(page.locator("#heart_rate")).to_be_focused()
    enter(page, "82")

    summary = page.locator("#entry-queue-summary")
    expect(summary).to_have_text("2 readings waiting to send")
    expect(summary).to_have_attribute("role", "status")
    items = page.locator("#entry-queue-list li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("HR 81")
    expect(items.nth(1)).to_contain_text("HR 82")
    expect(items.nth(0)).to_contain_text("Taken ")
    queued = kept(page, session["id"])
    assert [item["body"]["heart_rate"] for item in queued] == [81, 82]
    assert all(item["body"]["taken_at"] for item in queued)  # the time of entry, not of sending
    assert readings_of(nurse_api, session["id"]) == []
    expect(page.locator("#recent-body tr")).to_have_text(["No readings yet."])

    page.context.set_offline(False)
    expect(summary).to_have_text("", timeout=10000)
    expect(page.locator("#entry-queue")).to_be_hidden()
    readings = readings_of(nurse_api, session["id"])
    assert sorted((r["id"], r["heart_rate"]) for r in readings) == sorted(
        (item["id"], item["body"]["heart_rate"]) for item in queued
    )
    assert [r["taken_at"][:19] for r in readings] == [
        item["body"]["taken_at"][:19] for item in queued
    ]
    assert kept(page, session["id"]) == []
    expect(status).to_contain_text("Sent the waiting reading")
    wait_for_points(page, "heart_rate", 2)
    page.wait_for_timeout(300)  # a duplicate, were there one, would arrive by now
    assert trace(page, "heart_rate")["y"] == [81, 82]
    assert len(readings_of(nurse_api, session["id"])) == 2


def test_waiting_entries_survive_a_reload_and_are_sent_with_their_own_ids(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    pattern = route_posts(page, session["id"], lambda route: route.abort("internetdisconnected"))
    enter(page, "66")
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading waiting to send")
    (queued,) = kept(page, session["id"])

    page.reload()
    wait_until_live(page)
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading waiting to send")
    expect(page.locator("#entry-queue-list li")).to_contain_text("HR 66")
    assert readings_of(nurse_api, session["id"]) == []

    page.unroute(pattern)
    page.get_by_role("button", name="Try sending now").click()
    expect(page.locator("#entry-queue-summary")).to_have_text("")
    readings = readings_of(nurse_api, session["id"])
    assert [(r["id"], r["heart_rate"]) for r in readings] == [(queued["id"], 66)]
    expect(page.locator("#recent-body tr").first).to_contain_text("66")


def test_a_resend_after_a_lost_answer_stores_the_reading_once(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    sent: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Route) -> None:
        body = route.request.post_data_json
        assert isinstance(body, dict)
        sent.append(body)
        response = route.fetch()  # the server stores the reading...
        if len(sent) == 1:
            route.abort("connectionreset")  # ...but its answer never reaches the browser
        else:
            route.fulfill(response=response)

    page.route(f"**/api/sessions/{session['id']}/readings", lose_the_first_answer)
    enter(page, "77")
    expect(page.locator("#entry-status")).to_contain_text("Not recorded yet")

    # Retried by itself, with the same id: the server answers "already stored" (200).
    expect(page.locator("#entry-status")).to_contain_text("Sent the waiting reading", timeout=10000)
    expect(page.locator("#entry-queue-summary")).to_have_text("")
    assert len(sent) == 2 and sent[0] == sent[1]
    readings = readings_of(nurse_api, session["id"])
    assert [(r["id"], r["heart_rate"]) for r in readings] == [(sent[0]["id"], 77)]
    wait_for_points(page, "heart_rate", 1)
    page.wait_for_timeout(300)
    assert trace(page, "heart_rate")["y"] == [77]
    expect(page.locator("#recent-body tr")).to_have_count(1)


def test_an_entry_refused_on_retry_is_shown_beside_it_and_not_retried_forever(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.context.set_offline(True)
    enter(page, "90")
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading waiting to send")

    # While the tablet was offline the session ended: the server now refuses the reading.
    response = nurse_api.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "felt unwell"}
    )
    assert response.status_code == 200, response.text
    page.context.set_offline(False)

    item = page.locator("#entry-queue-list li")
    expect(item).to_have_attribute("data-state", "refused", timeout=10000)
    expect(item.locator(".field-error")).to_contain_text("no longer accepts readings")
    expect(page.locator("#entry-queue-summary")).to_have_text(
        "1 reading not accepted by the server"
    )
    tries = len(posts)
    page.wait_for_timeout(4500)  # longer than the first two back-offs (2 s, 4 s)
    assert len(posts) == tries
    assert readings_of(nurse_api, session["id"]) == []

    item.get_by_role("button", name="Discard").click()
    expect(page.locator("#entry-queue")).to_be_hidden()
    expect(page.locator("#entry-queue-summary")).to_have_text("")
    assert kept(page, session["id"]) == []


def queue_key(session_id: int) -> str:
    return f"vigil.waiting-readings.v1.test-nurse.{session_id}"


def seed(page: Page, session_id: int, items: list[dict[str, Any]]) -> None:
    """Put `items` in the page's queue storage, as another tab or an earlier visit would have."""
    page.evaluate(
        "([key, items]) => localStorage.setItem(key, JSON.stringify(items))",
        [queue_key(session_id), items],
    )


def queued_item(heart_rate: int, *, age_ms: int = 0, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    taken = now - timedelta(milliseconds=age_ms)
    return {
        "id": str(uuid.uuid4()),
        "body": {"heart_rate": heart_rate, "taken_at": taken.isoformat(), "id": None},
        "queuedAt": taken.isoformat(),
        "attempts": 0,
        "error": None,
        "refused": False,
        "fresh": False,
        **extra,
    }


def with_own_id(item: dict[str, Any]) -> dict[str, Any]:
    item["body"]["id"] = item["id"]
    return item


FULL_STORAGE = """
(() => {
  // The queue's key no longer fits (a full localStorage); a tiny probe still does.
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (key.startsWith("vigil.waiting-readings.") && !key.endsWith(".probe")) {
      throw new DOMException("full", "QuotaExceededError");
    }
    return setItem.call(this, key, value);
  };
})();
"""


def test_with_localstorage_full_an_entry_is_still_sent_or_kept_in_memory(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(FULL_STORAGE)
    page.reload()
    wait_until_live(page)

    enter(page, "71")
    expect(page.locator("#entry-status")).to_contain_text("Reading recorded")
    assert [r["heart_rate"] for r in readings_of(nurse_api, session["id"])] == [71]

    page.context.set_offline(True)
    enter(page, "72")
    expect(page.locator("#entry-status")).to_contain_text("Not recorded yet")
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading waiting to send")
    expect(page.locator("#entry-queue-list li")).to_contain_text("HR 72")
    page.context.set_offline(False)
    expect(page.locator("#entry-queue-summary")).to_have_text("", timeout=10000)
    assert sorted(r["heart_rate"] for r in readings_of(nurse_api, session["id"])) == [71, 72]
    assert errors == []


def test_another_tabs_first_try_is_left_alone_until_its_send_has_timed_out(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    posted: list[int] = []

    def count(route: Route) -> None:
        body = route.request.post_data_json
        assert isinstance(body, dict)
        posted.append(body["heart_rate"])
        route.continue_()

    route_posts(page, session["id"], count)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    # 61: being sent right now by another tab; 62: its tab closed mid-send 20 s ago.
    in_flight = with_own_id(queued_item(61, fresh=True, owner="other-tab", claimedAt=now_ms))
    abandoned = with_own_id(
        queued_item(62, age_ms=20000, fresh=True, owner="gone-tab", claimedAt=now_ms - 20000)
    )
    seed(page, session["id"], [in_flight, abandoned])
    page.reload()
    wait_until_live(page)

    expect(page.locator("#entry-queue-summary")).to_have_text("", timeout=10000)
    assert posted == [62]
    page.wait_for_timeout(2500)  # past the first retry delay: still not resent by this tab
    assert posted == [62]
    assert [r["heart_rate"] for r in readings_of(nurse_api, session["id"])] == [62]


def test_a_signed_out_retry_asks_to_sign_in_again_without_leaving_the_page(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    url = page.url
    pattern = route_posts(
        page,
        session["id"],
        lambda route: route.fulfill(status=401, json={"detail": "Not signed in."}),
    )
    enter(page, "73")
    expect(page.locator("#entry-status")).to_contain_text("Not recorded yet")
    link = page.get_by_role("link", name="Sign in again to send 1 waiting reading")
    expect(link).to_be_visible(timeout=10000)
    expect(link).to_have_attribute("target", "_blank")
    assert (link.get_attribute("href") or "").startswith("/login?next=")
    page.wait_for_timeout(2500)  # a background retry has been answered 401 too
    assert page.url == url
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading waiting to send")

    page.unroute(pattern)
    page.get_by_role("button", name="Try sending now").click()
    expect(page.locator("#entry-queue-summary")).to_have_text("")
    expect(link).to_be_hidden()
    assert [r["heart_rate"] for r in readings_of(nurse_api, session["id"])] == [73]


def test_readings_older_than_a_day_stop_retrying_and_refused_ones_are_dropped(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    page = open_session(session["id"])
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    day = 24 * 3600 * 1000
    old = with_own_id(queued_item(64, age_ms=day + 60000, attempts=40, error="No answer."))
    old_refused = with_own_id(
        queued_item(65, age_ms=day + 60000, attempts=1, error="Refused.", refused=True)
    )
    seed(page, session["id"], [old, old_refused])
    page.reload()
    wait_until_live(page)

    item = page.locator("#entry-queue-list li")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-state", "expired")
    expect(item).to_contain_text("Not sent after 24 h")
    expect(item).to_contain_text("HR 64")
    expect(page.locator("#entry-queue-summary")).to_have_text("1 reading not sent after 24 h")
    expect(page.get_by_role("button", name="Try sending now")).to_be_hidden()
    assert [i["id"] for i in kept(page, session["id"])] == [old["id"]]
    page.wait_for_timeout(2500)
    assert posts == []

    item.get_by_role("button", name="Discard").click()
    expect(page.locator("#entry-queue")).to_be_hidden()
    assert kept(page, session["id"]) == []
    assert readings_of(nurse_api, session["id"]) == []
