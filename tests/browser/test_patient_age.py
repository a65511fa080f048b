"""Age and the pre-dose gate by age band, as people meet them: an administrator adds an age band
on the limits page, a nurse enters a patient's date of birth on the patients page, and the
session page gives the patient's age and judges the baseline by that band."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from backend.patients.age import age_on
from tests.browser.conftest import sign_in, wait_until_live
from tests.conftest import ROLE_USERS, LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser


def test_a_band_set_on_the_limits_page_holds_for_a_patient_whose_age_the_nurse_entered(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, nurse_api: httpx.Client
) -> None:
    # A profile of this test's own, without bands (the clinic default is other tests').
    default = admin_api.get("/api/limits/profiles").json()[0]
    limits: dict[str, Any] = {**default["limits"], "gate": {"systolic": 140, "diastolic": 90}}
    body = {"name": f"Age bands {uuid.uuid4().hex[:8]}", "limits": limits}
    profile = admin_api.post("/api/limits/profiles", json=body).json()

    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/limits?profile={profile['id']}")
    expect(page.locator("#profile-title")).to_have_text(profile["name"])
    bands = page.get_by_role("group", name="By age")
    expect(bands).to_contain_text("Patients without a date of birth")
    expect(bands).to_contain_text("No bands: the same gate at every age.")
    bands.get_by_role("button", name="Add an age band").click()
    page.get_by_label("Age band 1: from age").fill("65")
    page.get_by_label("Age band 1: systolic above").fill("150")
    expect(page.get_by_label("Age band 1: diastolic above")).to_have_value("90")  # the default's
    expect(page.locator("#dirty-note")).to_have_text("1 unsaved change")
    page.locator("#profile-save").click()
    expect(page.locator("#profile-status")).to_contain_text(f"Saved by {ROLE_USERS[Role.ADMIN]}")
    saved = [p for p in admin_api.get("/api/limits/profiles").json() if p["id"] == profile["id"]]
    assert saved[0]["limits"]["gate"]["age_bands"] == [
        {"from_age": 65, "systolic": 150, "diastolic": 90}
    ]
    expect(page.locator("#history-list > li").first).to_contain_text(
        "Pre-dose gate · by age: none → from 65: 150/90"
    )

    # The nurse enters the date of birth of the patient on the chair.
    session = new_session(nurse_api, limit_profile_id=profile["id"])
    patient = session["patient"]
    today = datetime.now(UTC).date()  # the test clinic's calendar is UTC's
    born = date(today.year - 72, 3, 1)
    age = age_on(born, today)
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/patients?q={patient['clinic_id']}")
    edit = f"Edit {patient['display_name']} ({patient['clinic_id']})"
    page.get_by_role("button", name=edit).click()
    page.get_by_label("Year").fill("72")  # a year must be written in full
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("3")
    page.locator("#patient-submit").click()
    expect(page.locator("#dob-day-error")).to_contain_text("four digits")
    page.get_by_label("Year").fill(str(born.year))
    page.locator("#patient-submit").click()
    row = page.locator("#patients-body tr").filter(has_text=patient["clinic_id"])
    expect(row.locator(".born")).to_have_text(f"1 Mar {born.year} · {age} y")

    # The session page says how old the patient is, and judges the baseline by the band.
    assert post_reading(nurse_api, session["id"], systolic=146, diastolic=84).is_success
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(page)
    expect(page.locator("#session-sub")).to_contain_text(f"aged {age} (born 1 Mar {born.year})")
    page.get_by_role("button", name="Start infusion").click()
    dialog = page.locator("#confirm-phase")
    expect(dialog).to_contain_text(f"within the 150/90 gate (aged {age}: the band from 65)")
    expect(page.locator("#gate-advice")).to_be_hidden()
    dialog.get_by_role("button", name="Cancel").click()
    nurse_api.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
