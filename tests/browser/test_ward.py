"""The ward overview: a live tile per active session, and starting a session."""

import re
import uuid

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client
from tests.conftest import LiveServer
from tests.helpers import chair_named, new_patient, new_session, post_reading

pytestmark = pytest.mark.browser


def tile(session_id: int) -> str:
    return f".tile[data-session-id='{session_id}']"


def test_a_tile_shows_the_latest_vitals_and_opens_its_session(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    response = post_reading(
        nurse_api, session["id"], heart_rate=64, systolic=121, diastolic=79, spo2=97
    )
    assert response.status_code == 201, response.text

    nurse_page.goto(f"{live_server.url}/ward")
    card = nurse_page.locator(tile(session["id"]))
    expect(card.locator(".tile-chair")).to_have_text(session["chair"])
    expect(card.locator(".vital[data-vital='heart_rate'] .v-value")).to_have_text("64")
    expect(card.locator(".vital[data-vital='bp'] .v-value")).to_have_text("121/79")
    expect(card.locator(".vital[data-vital='spo2'] .age")).to_contain_text("ago")
    expect(card.locator(".badge.sim")).to_be_hidden()

    card.locator(".tile-link").focus()
    nurse_page.keyboard.press("Enter")
    nurse_page.wait_for_url(f"{live_server.url}/sessions/{session['id']}")
    expect(nurse_page.locator("#session-title")).to_contain_text(session["chair"])

    nurse_page.go_back(wait_until="commit")
    # Once every tile's trend has loaded (so nothing moves under the pointer), a click anywhere
    # on the tile (here on its vitals, not its link) opens it too.
    expect(nurse_page.locator(tile(session["id"]))).to_have_attribute("data-trend", "loaded")
    expect(nurse_page.locator(".tile[data-trend='loading']")).to_have_count(0, timeout=15000)
    vitals = nurse_page.locator(tile(session["id"])).locator(".vitals-grid")
    vitals.scroll_into_view_if_needed()
    box = vitals.bounding_box()
    assert box is not None
    nurse_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    nurse_page.wait_for_url(f"{live_server.url}/sessions/{session['id']}", wait_until="commit")


def test_tiles_follow_the_ward_stream_and_mark_simulated_sessions(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    nurse_page.goto(f"{live_server.url}/ward")
    expect(nurse_page.locator("#live-status")).to_have_attribute("data-state", "live")
    card = nurse_page.locator(tile(session["id"]))
    expect(card.locator(".vital[data-vital='heart_rate'] .v-value")).to_have_text("–")

    card.locator(".tile-link").focus()
    assert post_reading(nurse_api, session["id"], heart_rate=101).status_code == 201
    expect(card.locator(".vital[data-vital='heart_rate'] .v-value")).to_have_text("101")
    expect(card.locator(".tile-link")).to_be_focused()  # a live update never steals focus

    # A session started elsewhere appears without a reload, badged when simulated.
    with api_client(live_server.url, Role.ADMIN) as admin:
        simulated = new_session(admin, simulated=True)
    sim_card = nurse_page.locator(tile(simulated["id"]))
    expect(sim_card.locator(".badge.sim")).to_be_visible()
    expect(sim_card.locator(".badge.sim")).to_have_text("SIMULATED")
    expect(sim_card.locator(".tile-link")).to_have_accessible_name(re.compile(r"\(simulated\)$"))
    expect(sim_card).to_have_attribute("data-simulated", "true")

    # A real ward can leave training sessions out, and remembers that on this screen.
    nurse_page.get_by_label("Hide simulated sessions").check()
    expect(sim_card).to_be_hidden()
    expect(card).to_be_visible()
    expect(nurse_page.locator("#ward-count")).to_contain_text("simulated hidden")
    nurse_page.reload()
    expect(nurse_page.locator(tile(session["id"]))).to_be_visible()
    expect(nurse_page.locator(tile(simulated["id"]))).to_be_hidden()
    nurse_page.get_by_label("Hide simulated sessions").uncheck()
    expect(sim_card).to_be_visible()

    # An ended session leaves the ward.
    response = nurse_api.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
    assert response.status_code == 200, response.text
    expect(card).to_have_count(0)


def test_starting_a_session_from_the_ward(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    busy = new_session(nurse_api)
    chair = f"Chair {uuid.uuid4().hex[:6]}"
    chair_named(nurse_api, chair)
    free_chair = f"Chair {uuid.uuid4().hex[:6]}"
    chair_named(nurse_api, free_chair)
    clinic_id = f"W-{uuid.uuid4().hex[:8]}"
    nurse_page.goto(f"{live_server.url}/ward")
    nurse_page.click("#start-open")
    dialog = nurse_page.locator("#start-dialog")
    expect(dialog).to_be_visible()

    dialog.get_by_label("Register a new patient").check()
    dialog.get_by_label("Clinic ID", exact=True).fill(clinic_id)
    dialog.get_by_label("Name as shown on the ward").fill("Ward Test Patient")
    # A chair in use is offered as taken, and cannot be chosen.
    taken = dialog.locator("#chair_id option", has_text=busy["chair"])
    expect(taken).to_have_text(f"{busy['chair']} (taken: patient)")
    expect(taken).to_be_disabled()
    dialog.get_by_label("Chair", exact=True).select_option(label=chair)
    dialog.get_by_label("Route").select_option("im")
    dialog.get_by_label("Planned dose").fill("50")
    dialog.get_by_label("Weight").fill("72.5")
    dialog.get_by_label("Duration").fill("40")
    new_session(nurse_api, chair=chair)  # someone else takes it meanwhile: refused, readably
    nurse_page.click("#start-submit")

    chair_error = nurse_page.locator("#chair_id-error")
    expect(chair_error).to_contain_text("already has an active session")
    expect(dialog.get_by_label("Chair", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#chair_id option", has_text=chair)).to_be_disabled()  # now taken

    # The patient was registered on the first try; the retry must reuse them, not re-register.
    dialog.get_by_label("Chair", exact=True).select_option(label=free_chair)
    nurse_page.click("#start-submit")
    nurse_page.wait_for_url(f"{live_server.url}/sessions/*")
    expect(nurse_page.locator("#session-title")).to_contain_text(free_chair)

    matches = nurse_api.get("/api/patients", params={"q": clinic_id}).json()
    assert [p["display_name"] for p in matches] == ["Ward Test Patient"]
    started = nurse_api.get(f"/api/sessions/{nurse_page.url.rsplit('/', 1)[1]}").json()
    assert (started["patient"]["clinic_id"], started["route"], started["weight_kg"]) == (
        clinic_id,
        "im",
        72.5,
    )


def test_an_existing_patient_is_found_by_search(
    nurse_page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    patient = new_patient(nurse_api, name="Searchable Person")
    chair = chair_named(nurse_api)
    nurse_page.goto(f"{live_server.url}/ward")
    nurse_page.click("#start-open")
    nurse_page.fill("#patient-search", patient["clinic_id"])
    nurse_page.get_by_label(f"{patient['clinic_id']} — Searchable Person").check()
    nurse_page.locator("#chair_id").select_option(str(chair))
    nurse_page.click("#start-submit")
    nurse_page.wait_for_url(f"{live_server.url}/sessions/*")
    expect(nurse_page.locator("#session-title")).to_contain_text("Searchable Person")
