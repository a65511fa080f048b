"""The REMS form in a browser: from an esketamine session's page to its form, the record's
answers shown as such, the rest filled in and saved, a refused answer shown beside its field,
the form completed, its PDF downloadable, and the form gone from the forms due."""

import tempfile
from datetime import date
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.database import Database
from tests.browser.accessibility import axe_violations, describe
from tests.conftest import LiveServer
from tests.rems_support import treated

pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir()) / "shots"  # where the team looks at screenshots


def test_a_nurse_fills_in_completes_and_prints_the_rems_form(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client, database: Database
) -> None:
    session = treated(nurse_api, database)
    waiting = treated(nurse_api, database)  # another treatment, its form not begun
    sid = session.id
    page = nurse_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/sessions/{sid}")
    link = page.get_by_role("link", name="REMS form", exact=True)
    expect(link).to_have_attribute("href", f"/sessions/{sid}/rems")
    link.click()

    expect(
        page.get_by_role("heading", name="Spravato REMS Patient Monitoring Form")
    ).to_be_visible()
    expect(page.locator("#rems-status")).to_have_text("Not started")
    bp_40 = page.locator('.rems-row[data-key="bp_40min"]')
    expect(bp_40).to_contain_text("From the record")
    expect(bp_40).to_contain_text("150/95 mmHg")
    expect(bp_40).to_contain_text("38 min after dosing started")
    expect(bp_40.locator("input")).to_have_count(0)  # a fact of the record: not typed over
    expect(page.locator('.rems-row[data-key="device_lot"]')).to_contain_text("To answer")
    expect(page.locator("#rems-complete")).to_be_disabled()

    page.fill("#q-date_of_birth", "1971-03-09")
    page.check("#q-sex-female")
    page.check("#q-first_treatment-true")
    page.check("#q-concomitant_medicines-none")
    page.fill("#q-device_lot", "KX 22\\31")  # a backslash is no lot number: refused
    page.check("#q-vitals_ok_before_dosing-true")
    page.check("#q-vitals_ok_before_leaving-true")
    page.check("#q-dissociation-true")
    page.check("#q-serious_adverse_event-false")
    page.click("#rems-save")
    expect(page.locator("#rems-errors")).to_contain_text("Device lot number")
    expect(page.locator("#q-device_lot")).to_have_attribute("aria-invalid", "true")

    page.fill("#q-device_lot", "KX-2231A")
    page.click("#rems-save")
    expect(page.locator("#rems-saved")).to_have_text("Answers saved.")
    lot = page.locator('.rems-row[data-key="device_lot"]')
    expect(lot).to_contain_text("Entered")
    expect(lot).to_contain_text("KX-2231A")
    expect(page.locator("#rems-status")).to_have_text("In progress")
    expect(page.locator("#rems-complete")).to_be_enabled()

    violations = axe_violations(page)
    assert not violations, describe(violations)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rems-form.png"), full_page=True)

    page.click("#rems-complete")
    expect(page.locator("#rems-status")).to_have_text("Complete")
    expect(page.locator("#rems-summary")).to_contain_text("completed")
    expect(page.locator("#rems-form input")).to_have_count(0)
    pdf = page.get_by_role("link", name="PDF", exact=True)
    expect(pdf).to_have_attribute("href", f"/api/sessions/{sid}/rems.pdf")
    response = page.request.get(f"{live_server.url}/api/sessions/{sid}/rems.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")

    page.goto(f"{live_server.url}/rems")
    expect(page.get_by_role("heading", name="Spravato REMS forms due")).to_be_visible()
    expect(page.locator("#due-loading")).to_be_hidden()
    expect(page.locator(f'#due-body tr[data-session="{sid}"]')).to_have_count(0)
    other = page.locator(f'#due-body tr[data-session="{waiting.id}"]')
    expect(other).to_contain_text("Not started: open the form")
    expect(other).not_to_contain_text("OVERDUE")
    # Days left on the clinic's calendar: 7, or 6 when the treatment was yesterday there.
    listed = nurse_api.get("/api/rems/due").json()
    item = next(i for i in listed["items"] if i["session_id"] == waiting.id)
    left = (date.fromisoformat(item["due_date"]) - date.fromisoformat(listed["today"])).days
    assert left in (6, 7)
    expect(other.locator("td.due")).to_contain_text(f"in {left} days")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.screenshot(path=str(SHOTS / "rems-due.png"), full_page=True)
