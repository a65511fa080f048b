"""The alarm review as people use it (issue 16, 4): a nurse answers "did this alarm need action?"
with one tap in the Acknowledge dialog, and the clinic manager's review page shows that answer,
the chair's figures, the charts and a CSV link for the same selection."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import api_client, sign_in
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_one_tap_answer_at_acknowledgement_reaches_the_managers_review(
    page: Page, live_server: LiveServer
) -> None:
    with api_client(live_server.url, Role.NURSE) as nurse:
        session = new_session(nurse, chair=f"0-review-{uuid.uuid4().hex[:8]}")
        assert post_reading(nurse, session["id"], systolic=190, diastolic=80).status_code == 201

    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    page.locator(".ack-button").first.click()
    no = page.locator("#ack-actionable-no")
    expect(no).to_have_attribute("aria-pressed", "false")  # nothing chosen for the nurse
    no.click()
    expect(no).to_have_attribute("aria-pressed", "true")
    page.locator("#ack-ok").click()
    expect(page.locator("#ack-dialog")).to_be_hidden()
    with api_client(live_server.url, Role.NURSE) as nurse:
        (alarm,) = nurse.get(f"/api/sessions/{session['id']}/alerts").json()
    assert (alarm["status"], alarm["actionable"]) == ("acknowledged", False)

    page.context.clear_cookies()
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/alarm-review?period=7&chair={session['chair_id']}")
    figures = page.locator("#figures .figure")
    actionable = figures.filter(has_text="Called actionable")
    expect(actionable).to_contain_text("0 %")
    expect(actionable).to_contain_text("0 yes, 1 no (of 1 answered)")
    expect(figures.filter(has_text="median")).to_contain_text("1 acknowledged")
    expect(page.locator("#chairs-rows tr")).to_have_count(1)
    expect(page.locator("#chairs-rows tr")).to_contain_text(session["chair"])
    expect(page.locator("#conditions-rows tr")).to_contain_text("Systolic BP high")
    expect(page.locator("#chart-conditions .main-svg").first).to_be_visible()
    expect(page.locator("#chart-ack .main-svg").first).to_be_visible()
    expect(page.locator("#review-csv")).to_have_attribute(
        "href", re.compile(rf"^/api/alarm-review\.csv\?.*chair={session['chair_id']}&")
    )
    expect(page.locator("#f-chair")).to_have_value(str(session["chair_id"]))

    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "alarm-review.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, describe(violations)
