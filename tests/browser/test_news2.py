"""The session page's NEWS2 panel: the server's score and band, or what is missing."""

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenSession
from tests.helpers import mark_in_error, new_session, post_reading

pytestmark = pytest.mark.browser

# New readings are scored again at most every 5 s: allow for that and a busy machine.
# A set entered by hand is scored at once, not after the 5 s a monitor's readings wait.
REFRESH_MS = 3000


def test_an_incomplete_set_says_what_is_missing_and_a_complete_one_gets_its_score(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    assert post_reading(nurse_api, session["id"], heart_rate=95, spo2=95).is_success
    page = open_session(session["id"])
    panel = page.locator("#news2")

    expect(panel.locator(".news2-band")).to_have_text("No score: incomplete set")
    expect(panel.locator(".news2-score")).to_have_text("—")
    missing = panel.locator(".news2-missing")
    expect(missing).to_contain_text("Missing:")
    for label in ("Respiration rate", "Air or oxygen", "Systolic BP", "Consciousness"):
        expect(missing).to_contain_text(f"{label} (not recorded)")
    expect(missing).not_to_contain_text("Pulse")  # recorded: scored, not missing
    expect(panel.locator("tr[data-parameter='heart_rate'] .news2-points")).to_have_text("1")
    expect(panel).to_have_attribute("data-band", "none")

    # The rest of the set, live: RR 22 → 2, SpO2 95 → 1, air → 0, systolic 120 → 0,
    # pulse 95 → 1, alert → 0, 38.5 °C → 1; a total of 5, medium.
    complete = post_reading(
        nurse_api,
        session["id"],
        respiratory_rate=22,
        spo2=95,
        on_oxygen=False,
        systolic=120,
        diastolic=80,
        heart_rate=95,
        consciousness="A",
        temperature=38.5,
    )
    assert complete.status_code == 201, complete.text
    expect(panel.locator(".news2-score")).to_have_text("5", timeout=REFRESH_MS)
    expect(panel.locator(".news2-band")).to_have_text("Medium")
    expect(panel).to_have_attribute("data-band", "medium")
    expect(panel.locator(".news2-missing")).to_have_count(0)
    rows = panel.locator("tbody tr")
    expect(rows).to_have_count(7)
    expect(panel.locator("tr[data-parameter='respiratory_rate']")).to_contain_text("22 /min")
    expect(panel.locator("tr[data-parameter='respiratory_rate'] .news2-points")).to_have_text("2")
    expect(panel.locator("tr[data-parameter='on_oxygen']")).to_contain_text("Air")
    expect(panel.locator("tr[data-parameter='temperature']")).to_contain_text("38.5 °C")
    expect(panel.locator(".news2-asof")).to_contain_text("SpO₂ scale 1")

    # Marked entered in error, the set is incomplete again.
    mark_in_error(nurse_api, session["id"], complete.json()["id"], "wrong patient")
    expect(panel.locator(".news2-score")).to_have_text("—", timeout=REFRESH_MS)
    expect(panel.locator(".news2-missing")).to_contain_text("Temperature (not recorded)")


def test_a_single_parameter_scoring_three_is_said_in_words(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    full = post_reading(
        nurse_api,
        session["id"],
        respiratory_rate=7,  # 3: alone it makes the band low–medium
        spo2=97,
        on_oxygen=False,
        systolic=125,
        diastolic=80,
        heart_rate=70,
        consciousness="A",
        temperature=37.0,
    )
    assert full.status_code == 201, full.text
    page = open_session(session["id"])
    panel = page.locator("#news2")
    expect(panel.locator(".news2-score")).to_have_text("3")
    expect(panel.locator(".news2-band")).to_have_text("Low–medium: one parameter scored 3")
    expect(panel).to_have_attribute("data-band", "low-medium")
