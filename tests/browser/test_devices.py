"""The Devices page as a nurse uses it: a monitor that nobody bound keeps its messages and says so
("Not bound — 3 messages waiting", with the rows it sent that were not vitals); the nurse binds it
to the chair where the patient is, is told the waiting readings went to that session, and the
session holds them. The page passes axe on a desktop and on a phone."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.devices.report import DeviceObservation, DeviceReport, Skip
from backend.sessions.models import InfusionSession
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import DESKTOP, api_client
from tests.conftest import LiveServer
from tests.helpers import TEST_ROOM, TEST_SITE, new_session

pytestmark = pytest.mark.browser


def send(
    database: Database,
    eui: str,
    spo2: int,
    at: datetime,
    skipped: dict[Skip, int],
    bed: str | None = None,
) -> None:
    """A monitor's message as the HL7 listener hands it on."""
    values = (("spo2", spo2, 150456, "MDC_PULS_OXIM_SAT_O2"), ("heart_rate", 76, 147842, "HR"))
    observations = tuple(
        DeviceObservation(vital, value, at, code, name, "x", 4 + i)
        for i, (vital, value, code, name) in enumerate(values)
    )
    report = DeviceReport(
        "ACME_GW^CLINIC",
        uuid.uuid4().hex,
        "2.6",
        at,
        eui,
        "Bedside monitor",
        bed,
        observations,
        skipped,
    )
    with database.unit_of_work(write=True) as db:
        flows.receive_device_report(db, report, at, future_tolerance=timedelta(seconds=5))


def test_a_nurse_binds_a_waiting_monitor_and_its_readings_join_the_session(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client, database: Database
) -> None:
    chair = f"0-devices-{uuid.uuid4().hex[:6]}"
    session = new_session(nurse_api, chair=chair)
    with database.unit_of_work(write=True) as db:  # the patient sat down ten minutes ago
        row = db.get(InfusionSession, session["id"])
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(minutes=10)
    eui = uuid.uuid4().hex[:16].upper()
    for minutes in (6, 4, 2):
        at = datetime.now(UTC) - timedelta(minutes=minutes)
        send(database, eui, 96, at, {Skip.TEST: 1, Skip.UNKNOWN_CODE: 2, Skip.DEVICE_ROW: 4})
    # A simulator's monitor, bound to nothing, whose bed names a drill's chair.
    drill_chair = f"0-drill-{uuid.uuid4().hex[:6]}"
    with api_client(live_server.url, Role.TRAINER) as trainer:
        new_session(trainer, chair=drill_chair, simulated=True)
    sim_eui = uuid.uuid4().hex[:16].upper()
    send(database, sim_eui, 95, datetime.now(UTC), {}, bed=f"{TEST_SITE}^{TEST_ROOM}^{drill_chair}")

    page = nurse_page
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/devices")
    card = page.locator(f'[data-eui64="{eui}"]')
    expect(card.locator(".device-chair")).to_have_text("Not bound — 3 messages waiting")
    expect(card.locator(".device-skipped")).to_have_text(
        "Not stored as vitals: 3 test rows, 6 unknown codes."
    )
    expect(card.locator(".device-value", has_text="SpO₂")).to_contain_text("96 %")
    expect(card.locator(".badge.sim")).to_have_count(0)
    # The simulated monitor is marked so, and placed by its bed.
    sim_card = page.locator(f'[data-eui64="{sim_eui}"]')
    expect(sim_card).to_have_attribute("data-simulated", "true")
    expect(sim_card.locator(".device-head .badge.sim")).to_have_text("SIMULATED")
    expect(sim_card.locator(".device-chair")).to_contain_text(
        f"{drill_chair} · {TEST_ROOM} · {TEST_SITE} by the bed its messages name (not bound)"
    )
    expect(sim_card.locator(".device-chair")).to_contain_text("Drill running: feeds the drill")
    violations = axe_violations(page)
    assert not violations, describe(violations)

    card.get_by_role("button", name="Bind").click()  # no chair chosen: said beside the picker
    expect(card.locator(".field-error")).to_have_text("Choose the chair the device is at.")
    card.get_by_label("Bind to").select_option(label=f"{chair} (patient in chair)")
    card.get_by_role("button", name="Bind").click()

    expect(page.locator("#bind-status")).to_contain_text(
        "3 waiting messages added to the session there (3 readings)."
    )
    expect(card.locator(".device-chair")).to_contain_text(f"{chair} · ")
    expect(card.locator(".device-chair")).to_contain_text("Feeds the session on this chair")
    readings = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"]
    assert [(r["spo2"], r["source"], r["entered_by"]) for r in readings] == [
        (96, "device", f"device:{eui}")
    ] * 3

    page.set_viewport_size({"width": 390, "height": 844})
    expect(card.get_by_role("button", name="Unbind")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = axe_violations(page)
    assert not violations, describe(violations)
