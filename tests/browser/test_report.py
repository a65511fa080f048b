"""The session record in a browser: from the session page to the report, its charts and table,
the downloads, and Chromium's own print of a simulated session."""

import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import OpenSession, api_client
from tests.conftest import LiveServer
from tests.helpers import mark_in_error, new_session, post_reading

pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir()) / "shots"  # where the team looks at screenshots


def stored(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def session_with_history(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """A session with 40 minutes of readings: dense heart rate, a BP every 5 minutes."""
    session = new_session(client, **fields)
    start = datetime.now(UTC) - timedelta(minutes=40)
    readings = []
    for minute in range(40):
        body: dict[str, Any] = {
            "taken_at": (start + timedelta(minutes=minute)).isoformat(),
            "heart_rate": 72 + minute % 6,
            "spo2": 97 - minute % 2,
        }
        if minute % 5 == 0:
            body |= {"systolic": 122 + minute, "diastolic": 80 + minute // 4}
        readings.append(body)
    response = client.post(
        f"/api/sessions/{session['id']}/readings/batch", json={"readings": readings}
    )
    assert response.status_code == 201, response.text
    return session


def test_the_report_link_opens_the_record_with_charts_and_readings(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = session_with_history(nurse_api)
    sid = session["id"]
    wrong = stored(post_reading(nurse_api, sid, heart_rate=230))
    mark_in_error(nurse_api, sid, wrong["id"], "Typed 230 for 73")
    page = open_session(sid)

    # Report opens the record's viewer (alarms still seen and heard there: see
    # test_every_page_alarms.py); the record itself is the printable page below.
    link = page.get_by_role("link", name="Report", exact=True)
    expect(link).to_have_attribute("href", f"/sessions/{sid}/record")
    for name, path in (("PDF", "report.pdf"), ("CSV", "readings.csv")):
        download = page.get_by_role("link", name=name, exact=True)
        expect(download).to_have_attribute("href", f"/api/sessions/{sid}/{path}")
        expect(download).to_have_attribute("download", "")

    report = page.context.new_page()
    report.goto(page.url.replace(f"/sessions/{sid}", f"/api/sessions/{sid}/report"))
    report.wait_for_load_state()
    expect(report).to_have_title(f"Session record #{sid} · Test Patient · Vigil")
    expect(report.get_by_role("heading", name=f"Session record #{sid}")).to_be_visible()

    # Charts: inline SVG, drawn by the server, with every valid point of each vital.
    heart = report.locator("svg.chart[data-chart='heart_rate']")
    expect(heart).to_have_attribute("data-points", "40")  # the 230 entered in error is left out
    points = heart.locator("polyline").first.get_attribute("points") or ""
    assert len(points.split()) == 40
    pressure = report.locator("svg.chart[data-chart='blood_pressure']")
    expect(pressure).to_have_attribute("data-points", "16")
    expect(pressure.locator("g[data-series='systolic'] path")).to_have_count(8)  # ▲ markers
    assert report.locator("svg.timeline").count() == 1

    rows = report.locator("table.readings tr.reading")
    expect(rows).to_have_count(41)
    expect(rows.filter(has_text="157/88")).to_have_count(1)
    errored = report.locator("table.readings tr.in-error")
    expect(errored.locator("del").first).to_have_text("230")
    expect(report.locator("tr.error-note")).to_contain_text("Typed 230 for 73")

    violations = axe_violations(report)
    assert not violations, describe(violations)

    SHOTS.mkdir(parents=True, exist_ok=True)
    report.screenshot(path=str(SHOTS / "report.png"), full_page=True)


def test_the_pdf_link_downloads_a_pdf(open_session: OpenSession, nurse_api: httpx.Client) -> None:
    session = session_with_history(nurse_api)
    page = open_session(session["id"])
    with page.expect_download(timeout=60000) as downloading:
        page.get_by_role("link", name="PDF", exact=True).click()
    download = downloading.value
    assert download.suggested_filename.startswith(f"vigil-session-{session['id']}-")
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_chromium_prints_simulated_on_every_page(page: Page, live_server: LiveServer) -> None:
    with api_client(live_server.url, Role.TRAINER) as trainer:
        session = session_with_history(trainer, simulated=True)
        # Enough manual rounds for several printed pages.
        start = datetime.now(UTC) - timedelta(minutes=200)
        rounds = [
            {
                "taken_at": (start + timedelta(minutes=i)).isoformat(),
                "heart_rate": 70 + i % 5,
                "systolic": 120 + i % 9,
                "diastolic": 80,
            }
            for i in range(150)
        ]
        response = trainer.post(
            f"/api/sessions/{session['id']}/readings/batch", json={"readings": rounds}
        )
        assert response.status_code == 201, response.text
        for cookie in trainer.cookies.jar:
            page.context.add_cookies(
                [{"name": cookie.name, "value": cookie.value or "", "url": live_server.url}]
            )
    page.goto(f"{live_server.url}/api/sessions/{session['id']}/report")
    expect(page.locator(".sim-banner")).to_contain_text("SIMULATED — NOT A PATIENT")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    pdf = page.pdf(format="A4", print_background=True)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 3
    for number, printed in enumerate(pages, start=1):
        assert "SIMULATED — NOT A PATIENT" in printed.extract_text(), f"printed page {number}"
