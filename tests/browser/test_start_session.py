"""The ward's start-session dialog chooses the session's alarm limits (a profile, the clinic
default unless changed) and its NEWS2 SpO2 scale; the session page says which scale it is on."""

import uuid
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client
from tests.conftest import LiveServer
from tests.helpers import chair_named, new_patient

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")  # the screenshots, when that folder exists


def test_the_dialog_chooses_the_limit_profile_and_spo2_scale_2(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    with api_client(live_server.url, Role.ADMIN) as admin:
        profiles = admin.get("/api/limits/profiles").json()
        default = next(p for p in profiles if p["is_default"])
        body = {"name": f"COPD target {uuid.uuid4().hex[:6]}", "limits": default["limits"]}
        created = admin.post("/api/limits/profiles", json=body)
        assert created.status_code == 201, created.text
        profile = created.json()
    patient = new_patient(nurse_api, name="Scale Two Patient")
    chair = f"Chair {uuid.uuid4().hex[:6]}"
    chair_named(nurse_api, chair)

    nurse_page.goto(f"{live_server.url}/ward")
    nurse_page.click("#start-open")
    dialog = nurse_page.locator("#start-dialog")
    choice = dialog.get_by_label("Alarm limits")
    # The clinic default is chosen until someone changes it; every profile is offered.
    expect(choice).to_have_value(str(default["id"]))
    expect(choice.locator("option:checked")).to_have_text(f"{default['name']} (clinic default)")
    expect(choice.locator("option")).to_have_count(len(profiles) + 1)
    scale_1 = dialog.get_by_label("Scale 1: target 96% or more (most patients)")
    expect(scale_1).to_be_checked()
    expect(dialog).to_contain_text("Only for a patient with a prescribed 88–92% target")

    nurse_page.fill("#patient-search", patient["clinic_id"])
    nurse_page.get_by_label(f"{patient['clinic_id']} — Scale Two Patient").check()
    nurse_page.locator("#chair_id").select_option(label=chair)
    choice.select_option(str(profile["id"]))
    dialog.get_by_label("Scale 2: prescribed 88–92% target").check()
    if SHOTS.is_dir():
        dialog.screenshot(path=str(SHOTS / "start-session-dialog.png"))
    nurse_page.click("#start-submit")
    nurse_page.wait_for_url(f"{live_server.url}/sessions/*")
    expect(nurse_page.locator("#session-title")).to_contain_text(chair)
    # The session page says the scale, in words.
    expect(nurse_page.locator("#session-sub")).to_contain_text(
        "SpO₂ scale 2 (prescribed 88–92% target)"
    )

    started = nurse_api.get(f"/api/sessions/{nurse_page.url.rsplit('/', 1)[1]}").json()
    assert (started["limit_profile_id"], started["spo2_scale"]) == (profile["id"], 2)


def test_a_session_started_as_before_is_on_the_default_profile_and_scale_1(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    patient = new_patient(nurse_api, name="Scale One Patient")
    chair = chair_named(nurse_api)
    nurse_page.goto(f"{live_server.url}/ward")
    nurse_page.click("#start-open")
    nurse_page.fill("#patient-search", patient["clinic_id"])
    nurse_page.get_by_label(f"{patient['clinic_id']} — Scale One Patient").check()
    nurse_page.locator("#chair_id").select_option(str(chair))
    nurse_page.click("#start-submit")
    nurse_page.wait_for_url(f"{live_server.url}/sessions/*")
    expect(nurse_page.locator("#session-sub")).to_contain_text("SpO₂ scale 1")
    started = nurse_api.get(f"/api/sessions/{nurse_page.url.rsplit('/', 1)[1]}").json()
    default = next(p for p in nurse_api.get("/api/limits/profiles").json() if p["is_default"])
    assert (started["limit_profile_id"], started["spo2_scale"]) == (default["id"], 1)
