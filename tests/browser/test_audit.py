"""The audit trail page: an administrator sees who viewed a patient's session, in the screen's
local time on the 24-hour clock, narrows it by session, user, action and day, and exports the
same selection as CSV (which is itself recorded); anyone else is told the page is not theirs."""

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import TIMEZONE, api_client, sign_in
from tests.conftest import ROLE_USERS, LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def viewed(live_server: LiveServer) -> dict[str, Any]:
    """A real session a nurse has opened and exported, and a simulated one she looked at."""
    with api_client(live_server.url, Role.NURSE) as nurse:
        real = new_session(nurse)
        assert post_reading(nurse, real["id"], heart_rate=80).status_code == 201
        assert nurse.get(f"/api/sessions/{real['id']}").status_code == 200
        assert nurse.get(f"/api/sessions/{real['id']}/readings.csv").status_code == 200
    with api_client(live_server.url, Role.TRAINER) as trainer:
        sim = new_session(trainer, simulated=True)
    with api_client(live_server.url, Role.NURSE) as nurse:
        assert nurse.get(f"/api/sessions/{sim['id']}").status_code == 200
    return {"real": real, "simulated": sim}


def local_clock(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(TIMEZONE))
    return moment.strftime("%d %b %Y %H:%M:%S")


def test_an_admin_sees_who_viewed_a_session_in_local_time(
    page: Page, live_server: LiveServer, viewed: dict[str, Any]
) -> None:
    sid = viewed["real"]["id"]
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/audit")
    expect(page.locator("#audit-rows tr").first).to_be_visible()
    page.fill("#f-session", str(sid))
    page.click("#f-apply")
    rows = page.locator("#audit-rows tr")
    expect(rows).to_have_count(3)  # started, viewed, exported: newest first
    expect(rows.nth(0)).to_contain_text("Exported readings CSV")
    expect(rows.nth(1)).to_contain_text("Viewed session")
    expect(rows.nth(2)).to_contain_text("Started session")
    expect(rows.nth(1)).to_contain_text(ROLE_USERS[Role.NURSE])
    expect(rows.nth(1).locator("a")).to_have_attribute("href", f"/sessions/{sid}")

    with api_client(live_server.url, Role.ADMIN) as admin:
        events = admin.get("/api/audit", params={"session_id": sid}).json()["items"]
    expect(rows.nth(1).locator("time")).to_have_text(local_clock(events[1]["at"]))
    assert page.url.endswith(f"/audit?session_id={sid}")  # a reload shows the same selection

    page.set_viewport_size({"width": 1400, "height": 900})
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit-page.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_views_of_a_simulated_session_are_not_listed(
    page: Page, live_server: LiveServer, viewed: dict[str, Any]
) -> None:
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/audit?session_id={viewed['simulated']['id']}")
    rows = page.locator("#audit-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Started session")
    expect(rows.first).to_contain_text("SIMULATED")


def test_filters_by_user_action_and_day_and_exports_the_same(
    page: Page, live_server: LiveServer, viewed: dict[str, Any]
) -> None:
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/audit")
    expect(page.locator("#audit-rows tr").first).to_be_visible()
    today = datetime.now(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d")
    page.fill("#f-user", ROLE_USERS[Role.NURSE])
    page.select_option("#f-action", "report.csv")
    page.fill("#f-since", today)
    page.fill("#f-until", today)
    page.click("#f-apply")
    rows = page.locator("#audit-rows tr")
    expect(rows.first).to_contain_text("Exported readings CSV")
    for text in rows.all_inner_texts():
        assert "Exported readings CSV" in text and ROLE_USERS[Role.NURSE] in text
    shown = rows.count()

    with page.expect_download() as download:
        page.click("#audit-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(exported) == shown
    assert {r["action"] for r in exported} == {"report.csv"}
    assert {r["actor"] for r in exported} == {ROLE_USERS[Role.NURSE]}

    page.select_option("#f-action", "audit.export")
    page.fill("#f-user", ROLE_USERS[Role.ADMIN])
    page.click("#f-apply")
    expect(rows.first).to_contain_text("Exported audit trail")


def test_a_wrong_filter_is_named_beside_its_field(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/audit")
    expect(page.locator("#audit-rows tr").first).to_be_visible()
    page.fill("#f-session", "seven")
    page.click("#f-apply")
    expect(page.locator("#f-session-error")).to_have_text(
        "The session number is a whole number from 1."
    )
    expect(page.locator("#f-session")).to_have_attribute("aria-invalid", "true")


def test_the_page_is_for_administrators(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/audit")
    expect(page.locator("#load-error")).to_contain_text("for administrators")
    expect(page.locator("#audit-page")).to_be_hidden()
