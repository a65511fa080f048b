"""A patient's course: from the register, a nurse opens a patient's induction series and reads
each session's figures in the table (dates in the clinic's time zone, not the tablet's) and the
chart across the series; each row leads to its session; the page passes axe."""

import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.database import Database
from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import DESKTOP, sign_in
from tests.conftest import LiveServer
from tests.course_seed import FIRST, seed_series
from tests.helpers import chair_named

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_nurse_opens_a_patients_course_from_the_register(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client, database: Database
) -> None:
    tag = uuid.uuid4().hex[:6]
    created = nurse_api.post(
        "/api/patients", json={"clinic_id": f"MRN-C-{tag}", "display_name": f"Iris Course {tag}"}
    )
    assert created.status_code == 201, created.text
    patient = created.json()
    ids = seed_series(database, patient["id"], chair_named(nurse_api), FIRST)

    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/patients?q=MRN-C-{tag}")
    page.get_by_role("link", name=f"Course of Iris Course {tag} (MRN-C-{tag})").click()
    page.wait_for_url(f"**/patients/{patient['id']}/course")

    expect(page.locator("#course-title")).to_have_text(f"Course: Iris Course {tag}")
    rows = page.locator("#course-body tr")
    expect(rows).to_have_count(6)
    first = rows.nth(0)
    # 04:30 UTC, the clinic's zone in these tests; the tablet's (Asia/Kolkata) would say 10:00.
    expect(first.locator("td[data-label=Date] a")).to_have_text("2 Nov 2026, 04:30")
    expect(first.locator("td[data-label=Date] a")).to_have_attribute("href", f"/sessions/{ids[0]}")
    expect(first.locator("td[data-label='Peak BP rise']")).to_contain_text("+28 / +17")
    expect(first.locator("td[data-label='Peak BP rise']")).to_contain_text("from 124/80")
    expect(first.locator("td[data-label='Drug and dose']")).to_have_text(
        "Ketamine IV · 35 mg (0.50 mg/kg)"
    )
    expect(first.locator("td[data-label='Ready after']")).to_have_text("45 min")
    second = rows.nth(1)
    expect(second.locator("td[data-label='Lowest SpO₂']")).to_have_text("88 %")
    expect(second.locator("td[data-label=Alarms]")).to_have_text("1 (1 high)")
    expect(second.locator("td[data-label='Deepest sedation']")).to_have_text("MOAA/S 3 · ACVPU V")
    # No blood pressure before the fourth dose: no rise to show, and said why.
    expect(rows.nth(3).locator("td[data-label='Peak BP rise']")).to_have_text("—")

    chart = page.locator("#course-chart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    traces: list[dict[str, Any]] = page.evaluate(
        "() => document.getElementById('course-chart').data.map((t) => ({name: t.name, y: t.y}))"
    )
    by_name = {t["name"]: t["y"] for t in traces}
    assert by_name["Systolic rise (mmHg)"] == [28, 22, 21, None, 12, 11]
    assert by_name["Lowest SpO₂ (%)"] == [93, 88, 95, 96, 96, 97]
    assert by_name["Ready after (min)"] == [45, 45, 30, 30, 15, 15]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "course-1366.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, describe(violations)
