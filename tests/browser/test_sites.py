"""Sites, rooms and chairs in the browser: an admin configures them on /sites; the ward shows one
site or room, remembered on that screen; the start dialog picks a configured chair, free ones
first and taken ones shown as taken."""

import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import sign_in
from tests.conftest import LiveServer
from tests.helpers import new_patient, post_reading

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


def clinic(admin: httpx.Client, rooms: dict[str, list[str]]) -> dict[str, Any]:
    """A new site with `rooms` (name -> chair names); returns the site, rooms and chairs by name."""
    site = created(admin.post("/api/sites", json={"name": f"Clinic {uuid.uuid4().hex[:6]}"}))
    made: dict[str, Any] = {"site": site, "rooms": {}, "chairs": {}}
    for room_name, chairs in rooms.items():
        room = created(admin.post(f"/api/sites/{site['id']}/rooms", json={"name": room_name}))
        made["rooms"][room_name] = room
        for name in chairs:
            chair = created(admin.post("/api/chairs", json={"room_id": room["id"], "name": name}))
            made["chairs"][name] = chair
    return made


def start_on(client: httpx.Client, chair_id: int, **fields: Any) -> dict[str, Any]:
    patient = new_patient(client)
    body = {"patient_id": patient["id"], "chair_id": chair_id, "drug": "ketamine", "route": "iv"}
    session: dict[str, Any] = created(client.post("/api/sessions", json=body | fields))
    return session


def test_an_admin_sets_up_a_site_its_rooms_and_chairs(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/sites")
    expect(page.get_by_role("link", name="Chairs", exact=True)).to_be_visible()  # admins' nav
    site_name = f"Riverside {uuid.uuid4().hex[:4]}"
    page.get_by_label("Site name").fill(site_name)
    page.get_by_role("button", name="Add site").click()
    expect(page.locator("#sites-status")).to_contain_text(f"{site_name} added")
    section = page.locator("section.site", has_text=site_name)
    section.get_by_label(f"Add a room to {site_name}").fill("Main room")
    section.get_by_role("button", name="Add room").click()
    chair_field = section.get_by_label("Add a chair to Main room")
    expect(chair_field).to_be_focused()
    for name in ("Chair 7", "Chair 8", "Recliner"):
        chair_field.fill(name)
        section.get_by_role("button", name="Add chair").click()
        expect(page.locator("#sites-status")).to_contain_text(f"{name} added to Main room")
    # The same chair spelt differently is refused beside the field.
    chair_field.fill(" chair   7 ")
    section.get_by_role("button", name="Add chair").click()
    expect(section.locator("[id$='-chair-error']")).to_contain_text("already has Chair 7")

    rows = section.locator("table.chairs tbody tr th")
    expect(rows).to_have_text(["Chair 7", "Chair 8", "Recliner"])
    # The room's order: Recliner up one.
    section.get_by_role("button", name="Move Recliner up").click()
    expect(rows).to_have_text(["Chair 7", "Recliner", "Chair 8"])
    # Rename, then retire (kept, marked, out of the pickers).
    section.get_by_role("button", name="Rename Chair 8").click()
    page.locator("#edit-name").fill("Window chair")
    page.locator("#edit-submit").click()
    expect(rows).to_have_text(["Chair 7", "Recliner", "Window chair"])
    section.get_by_role("button", name="Retire Recliner").click()
    expect(page.locator("#sites-status")).to_contain_text("Recliner retired")
    recliner = section.locator("tr", has_text="Recliner")
    expect(recliner).to_contain_text("Retired")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "sites-page.png"), full_page=True)

    chairs = admin_api.get("/api/chairs", params={"include_retired": "true"}).json()
    ours = [c for c in chairs if c["site"] == site_name]
    assert [(c["name"], c["active"]) for c in ours] == [
        ("Chair 7", True),
        ("Recliner", False),
        ("Window chair", True),
    ]
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_nurse_reads_the_chairs_but_cannot_change_them(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/sites")
    expect(page.locator("#readonly-note")).to_be_visible()
    expect(page.locator("#add-site")).to_be_hidden()
    expect(page.get_by_role("button", name="Add chair")).to_have_count(0)


def test_the_ward_shows_the_chosen_room_and_remembers_it(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    place = clinic(admin_api, {"Main room": ["Chair 1", "Chair 2"], "Side room": ["Chair 3"]})
    site = place["site"]["name"]
    main = start_on(admin_api, place["chairs"]["Chair 1"]["id"])
    also_main = start_on(admin_api, place["chairs"]["Chair 2"]["id"], simulated=True)
    side = start_on(admin_api, place["chairs"]["Chair 3"]["id"])
    assert post_reading(admin_api, side["id"], systolic=196, diastolic=121).status_code == 201

    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/ward")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    def tile(session: dict[str, Any]) -> Locator:
        return page.locator(f".tile[data-session-id='{session['id']}']")

    for session in (main, also_main, side):
        expect(tile(session)).to_be_visible()

    page.get_by_label("Showing").select_option(f"room:{place['rooms']['Main room']['id']}")
    expect(tile(side)).to_be_hidden()
    expect(tile(main)).to_be_visible()
    expect(tile(also_main)).to_be_visible()
    expect(page.locator("h1")).to_have_text(f"Ward · {site} · Main room")
    expect(page.locator("#ward-count")).to_contain_text("2 active sessions (1 elsewhere not shown)")
    # The other room's alarm is not this screen's, but it says one is there.
    expect(page.locator("#alarm-strip-note")).to_contain_text(
        "1 session in other rooms not shown, 1 of them in alarm"
    )
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "ward-room-filter.png"))

    # Remembered on this screen, the wall display included.
    page.goto(f"{live_server.url}/ward?display=wall")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(tile(main)).to_be_visible()
    expect(tile(side)).to_be_hidden()
    expect(page.locator("h1")).to_have_text(f"Ward · {site} · Main room")
    page.screenshot(path=str(SHOTS / "wall-room-filter.png"))
    page.get_by_role("button", name="Leave wall display").click()
    page.reload()
    expect(page.get_by_label("Showing")).to_have_value(f"room:{place['rooms']['Main room']['id']}")
    page.get_by_label("Showing").select_option(f"site:{place['site']['id']}")
    expect(tile(side)).to_be_visible()
    page.get_by_label("Showing").select_option("all")
    expect(page.locator("h1")).to_have_text("Ward")


def test_the_start_dialog_offers_free_chairs_first_and_taken_ones_as_taken(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    place = clinic(admin_api, {"Bay A": ["A1", "A2", "A3"], "Bay B": ["B1"]})
    start_on(admin_api, place["chairs"]["A1"]["id"])
    start_on(admin_api, place["chairs"]["A2"]["id"], simulated=True)
    patient = new_patient(admin_api, name="Picker Patient")

    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/ward")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    # The room this screen shows comes first in the picker.
    page.get_by_label("Showing").select_option(f"room:{place['rooms']['Bay A']['id']}")
    page.click("#start-open")
    dialog = page.locator("#start-dialog")
    picker = dialog.get_by_label("Chair", exact=True)
    groups = picker.locator("optgroup")
    expect(groups.first).to_have_attribute("label", f"{place['site']['name']} · Bay A")
    bay_a = groups.first.locator("option")
    expect(bay_a).to_have_text(["A3", "A1 (taken: patient)", "A2 (taken: drill running)"])
    expect(bay_a.nth(1)).to_be_disabled()
    expect(bay_a.nth(2)).to_be_disabled()
    page.fill("#patient-search", patient["clinic_id"])
    page.get_by_label(f"{patient['clinic_id']} — Picker Patient").check()
    picker.select_option(label="A3")
    expect(dialog.locator("#chair-place")).to_have_text(f"In {place['site']['name']} · Bay A.")
    SHOTS.mkdir(exist_ok=True)
    dialog.screenshot(path=str(SHOTS / "start-session-chair-picker.png"))
    # The list as it drops down (a native list is not in a screenshot: shown open for one).
    picker.evaluate("el => { el.size = 9; }")
    picker.screenshot(path=str(SHOTS / "start-session-chair-options.png"))
    picker.evaluate("el => { el.size = 0; }")
    page.click("#start-submit")
    page.wait_for_url(f"{live_server.url}/sessions/*")
    expect(page.locator("#session-title")).to_contain_text("A3")
    started = admin_api.get(f"/api/sessions/{page.url.rsplit('/', 1)[1]}").json()
    assert (started["chair_id"], started["room"]) == (place["chairs"]["A3"]["id"], "Bay A")


def test_a_patient_already_in_a_chair_is_refused_beside_the_patient(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    place = clinic(admin_api, {"Main": ["M1", "M2"]})
    patient = new_patient(admin_api, name="Double Booked")
    body = {"patient_id": patient["id"], "chair_id": place["chairs"]["M1"]["id"]}
    created(admin_api.post("/api/sessions", json=body | {"drug": "ketamine", "route": "iv"}))
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/ward")
    page.click("#start-open")
    page.fill("#patient-search", patient["clinic_id"])
    page.get_by_label(f"{patient['clinic_id']} — Double Booked").check()
    page.locator("#chair_id").select_option(str(place["chairs"]["M2"]["id"]))
    page.click("#start-submit")
    expect(page.locator("#patient-search-error")).to_contain_text(
        "Double Booked already has an open session on M1"
    )
