"""The trainer console: a trainer starts a simulated session, watches its true vitals beside the
monitor's, steers it into an alarm the ward sees, pauses, speeds up and stops it; a mistake in
a custom scenario is shown with its line or field; everyone else follows the runs read-only."""

import copy
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import FilePayload, Locator, Page, Route, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client, sign_in
from tests.conftest import ROLE_USERS, LiveServer
from tests.helpers import chair_named

pytestmark = pytest.mark.browser

Simulation = dict[str, Any]


@pytest.fixture(scope="module")
def trainer_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(live_server.url, Role.TRAINER) as client:
        yield client


@pytest.fixture(scope="module")
def drill_profile(live_server: LiveServer) -> dict[str, Any]:
    """Clinic limits without the SpO2 condition delay, so a drill's desaturation alarms at once
    (the delay runs in real seconds whatever the simulation's speed)."""
    with api_client(live_server.url, Role.ADMIN) as admin:
        limits = copy.deepcopy(admin.get("/api/limits/profiles").json()[0]["limits"])
        for phase in limits["phases"].values():
            phase["vitals"]["spo2"].update(delay_s=0, high_delay_s=0)
        body = {"name": f"Drill {uuid.uuid4().hex[:8]}: SpO2 without delay", "limits": limits}
        response = admin.post("/api/limits/profiles", json=body)
        assert response.status_code == 201, response.text
        profile: dict[str, Any] = response.json()
        return profile


class UsedChairs(list[str]):
    """The chairs a test configured and runs simulations on."""

    def __init__(self, api: httpx.Client) -> None:
        super().__init__()
        self.api = api


@pytest.fixture
def chairs(trainer_api: httpx.Client) -> Iterator[UsedChairs]:
    """Chairs a test runs simulations on; whatever still runs there is stopped afterwards, so no
    later test shares the server with it."""
    used = UsedChairs(trainer_api)
    yield used
    for simulation in trainer_api.get("/api/simulations").json():
        if simulation["chair"] in used and simulation["status"] == "running":
            trainer_api.post(f"/api/simulations/{simulation['session_id']}/stop")


def new_chair(chairs: UsedChairs) -> str:
    """A newly configured chair's name (the console offers it once the page loads)."""
    chair = f"Sim {uuid.uuid4().hex[:6]}"
    chair_named(chairs.api, chair)
    chairs.append(chair)
    return chair


# A baseline within the pre-dose gate, which the simulator meets as a nurse must: a random seed
# is above it about once in twenty, and such a run ends at the gate.
WITHIN_GATE = {"systolic": 118, "diastolic": 74}


def start(client: httpx.Client, chair: str, **fields: Any) -> Simulation:
    body = {
        "scenario": "routine_infusion",
        "chair": chair,
        "speed": 60,
        "patient": WITHIN_GATE,
        **fields,
    }
    response = client.post("/api/simulations", json=body)
    assert response.status_code == 201, response.text
    simulation: Simulation = response.json()
    return simulation


def simulation_on(client: httpx.Client, chair: str) -> Simulation:
    found: list[Simulation] = [
        s for s in client.get("/api/simulations").json() if s["chair"] == chair
    ]
    assert len(found) == 1, found
    return found[0]


def card_of(page: Page, session_id: int) -> Locator:
    return page.locator(f".sim-card[data-session-id='{session_id}']")


def clock_of(card: Locator) -> str:
    return card.locator(".sim-time").inner_text()


def open_console(page: Page, server: LiveServer, role: Role) -> None:
    sign_in(page, server.url, role)
    page.goto(f"{server.url}/trainer")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#running-section")).to_be_visible()


def test_a_trainer_runs_a_simulation_steers_it_into_an_alarm_the_ward_sees_and_stops_it(
    page: Page,
    second_page: Page,
    live_server: LiveServer,
    trainer_api: httpx.Client,
    drill_profile: dict[str, Any],
    chairs: UsedChairs,
) -> None:
    chair = new_chair(chairs)
    open_console(page, live_server, Role.TRAINER)
    sign_in(second_page, live_server.url, Role.NURSE)
    ward = second_page
    ward.goto(f"{live_server.url}/ward")
    expect(ward.locator("#live-status")).to_have_attribute("data-state", "live")

    # The scenario is described before it is chosen.
    page.locator("#scenario").select_option("routine_infusion")
    about = page.locator("#scenario-about")
    expect(about).to_contain_text("Routine ketamine infusion")
    expect(about).to_contain_text("ketamine 0.5 mg/kg IV over 40 min")
    expect(about).to_contain_text("140 min in all")

    # At 60x from minute 10, the end of the baseline: infusing within a second.
    page.locator("#chair_id").select_option(label=chair)
    page.locator("#patient_name").fill("Drill patient")
    page.locator("#speed").select_option("60")
    page.locator("#start_at_min").fill("10")
    page.locator("#seed").fill("4242")
    page.locator("#limit_profile_id").select_option(label=drill_profile["name"])
    page.get_by_text("Choose the patient").click()
    page.locator("#p-age").fill("71")
    page.get_by_label("Baseline systolic").fill("130")
    page.locator("#start-submit").click()
    status = page.locator("#start-status")
    expect(status).to_contain_text(f"on {chair} with seed 4242")
    expect(status).to_be_focused()

    simulation = simulation_on(trainer_api, chair)
    assert simulation["seed"] == 4242
    assert (simulation["patient"]["age"], simulation["patient"]["systolic"]) == (71, 130)
    card = card_of(page, simulation["session_id"])
    expect(card.locator(".badge.sim")).to_have_text("SIMULATED")
    expect(card.locator(".sim-chair")).to_have_text(chair)
    expect(card.locator(".badge.phase")).to_have_text("Infusing")
    expect(card.locator(".sim-meta")).to_contain_text("“Drill patient” · seed 4242")
    expect(card.locator(".sim-meta")).to_contain_text(f"started by {ROLE_USERS[Role.TRAINER]}")
    spo2_row = card.locator(".truth-table tr[data-vital='spo2']")
    expect(card.locator("tr[data-vital='heart_rate'] .truth")).to_have_text(
        re.compile(r"^\d{2,3}$")
    )
    expect(spo2_row.locator(".m-value")).to_have_text(re.compile(r"^\d{2,3}$"))
    link = card.get_by_role("link", name="Open as the nurses see it")
    expect(link).to_have_attribute("href", f"/sessions/{simulation['session_id']}")

    # Simulated time moves on, a minute a second.
    before = clock_of(card)
    expect(card.locator(".sim-time")).not_to_have_text(before)
    expect(card.locator(".sim-time")).to_contain_text(" / 140:00")

    # Steered to 85 % over 5 s: the truth follows, the monitor alarms, the ward sees it.
    card.get_by_label("Vital").select_option("spo2")
    card.get_by_label("Target").fill("85")
    card.get_by_label("Over").fill("5")
    card.get_by_role("button", name="Steer", exact=True).click()
    log = card.locator(".event-log li").first
    expect(log).to_contain_text("Steer SpO₂ to 85 % over 5 s")
    expect(log).to_contain_text(ROLE_USERS[Role.TRAINER])
    expect(spo2_row.locator(".truth")).to_have_text("85")
    expect(spo2_row.locator(".m-value")).to_have_text(re.compile(r"^8\d$"))
    expect(card.locator(".sim-alarms")).to_contain_text("HIGH ALARM", timeout=8000)
    tile = ward.locator(f".tile[data-session-id='{simulation['session_id']}']")
    expect(tile.locator(".badge.sim")).to_be_visible()
    expect(tile.locator(".tile-alarm")).to_contain_text("SpO", timeout=8000)
    expect(tile.locator(".alarm-marker")).to_have_text("!!!")

    # A one-click event is logged with its settings.
    card.get_by_role("button", name="Cuff failure", exact=True).click()
    expect(card.locator(".event-log li").first).to_contain_text("Cuff failure for 15 min")

    # Paused, the simulated time stands still; resumed, it moves on.
    card.get_by_role("button", name="Pause", exact=True).click()
    expect(card).to_have_attribute("data-paused", "true")
    expect(card.locator(".paused-badge")).to_be_visible()
    paused_at = clock_of(card)
    page.wait_for_timeout(2200)  # two polls, at 60x two simulated minutes had it run
    expect(card.locator(".sim-time")).to_have_text(paused_at)
    assert trainer_api.get(f"/api/simulations/{simulation['session_id']}").json()["paused"]
    # Resumed, and a new pace chosen while the resume is still on its way: the card sends the
    # two in order and loses neither.
    held: list[Route] = []
    controls: list[str] = []

    def hold_the_first(route: Route) -> None:
        controls.append(route.request.post_data or "")
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/simulations/*/control", hold_the_first)
    card.get_by_role("button", name="Resume", exact=True).click()
    expect(card).to_have_attribute("aria-busy", "true")
    card.get_by_label("Speed").select_option("10")
    for _ in range(100):  # the held request reaches the test as Playwright handles its events
        if held:
            break
        page.wait_for_timeout(100)
    assert len(controls) == 1, "the speed went out before the resume had its answer"
    held[0].continue_()
    expect(card).to_have_attribute("data-paused", "false")
    expect(card.locator(".sim-time")).not_to_have_text(paused_at)
    expect(card.locator(".sim-speed-now")).to_have_text("at 10×")
    expect(card).to_have_attribute("aria-busy", "false")
    assert [json.loads(body) for body in controls] == [{"paused": False}, {"speed": 10}]
    page.unroute("**/api/simulations/*/control")
    assert trainer_api.get(f"/api/simulations/{simulation['session_id']}").json()["speed"] == 10

    # Stopped after a confirmation: the session ends and the run moves to the ended list.
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Stop…").click()
    expect(card).to_have_count(0)
    ended = page.locator(f"#ended-body tr[data-session-id='{simulation['session_id']}']")
    expect(ended).to_contain_text("Stopped")
    expect(ended).to_contain_text("4242")
    stopped = trainer_api.get(f"/api/simulations/{simulation['session_id']}").json()
    assert (stopped["status"], stopped["phase"]) == ("stopped", "stopped")
    expect(tile).to_have_count(0)


def test_a_mistake_in_a_custom_scenario_or_a_busy_chair_is_shown_by_its_field(
    page: Page, live_server: LiveServer, trainer_api: httpx.Client, chairs: UsedChairs
) -> None:
    busy = new_chair(chairs)
    start(trainer_api, busy)
    free = new_chair(chairs)
    open_console(page, live_server, Role.TRAINER)
    running = len(trainer_api.get("/api/simulations").json())

    page.locator("#scenario").select_option(label="Custom scenario file…")
    text = page.locator("#scenario_toml")
    expect(text).to_be_visible()
    page.locator("#chair_id").select_option(label=free)
    text.fill('title = "Broken\n[regimen]\ndrug = "ketamine"\n')
    page.locator("#start-submit").click()
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#scenario_toml-error")).to_contain_text("Line 1")
    expect(text).to_be_focused()

    # A file from disk lands in the text, where it can be corrected.
    too_much = 'title = "Too much"\n[regimen]\ndrug = "ketamine"\ndose_mg_per_kg = 9\n'
    upload: FilePayload = {
        "name": "too-much.toml",
        "mimeType": "text/plain",
        "buffer": too_much.encode(),
    }
    page.get_by_label("Load a file").set_input_files(files=upload)
    expect(text).to_have_value(too_much)
    expect(text).not_to_have_attribute("aria-invalid", "true")
    page.locator("#start-submit").click()
    expect(page.locator("#scenario_toml-error")).to_contain_text("regimen.dose_mg_per_kg")
    assert len(trainer_api.get("/api/simulations").json()) == running  # nothing started

    # A chair with a session is offered as taken, not choosable; one taken while the form is
    # filled in is said beside the chair.
    taken = page.locator("#chair_id option", has_text=busy)
    expect(taken).to_have_text(f"{busy} (taken: drill running)")
    expect(taken).to_be_disabled()
    page.locator("#scenario").select_option("routine_infusion")
    start(trainer_api, free)  # by someone else, while this form is open
    expect(page.locator("#chair_id-error")).to_have_text(
        f"{free} has just been taken; choose a free chair."
    )
    expect(page.locator("#chair_id option", has_text=free)).to_be_disabled()
    expect(page.locator("#chair_id")).to_have_value("")


def test_an_impossible_patient_is_refused_beside_the_field(
    page: Page, live_server: LiveServer, chairs: UsedChairs
) -> None:
    sign_in(page, live_server.url, Role.TRAINER)
    chair = new_chair(chairs)
    page.goto(f"{live_server.url}/trainer")
    page.locator("#chair_id").select_option(label=chair)
    page.get_by_text("Choose the patient").click()
    page.get_by_label("Baseline systolic").fill("100")
    page.get_by_label("Baseline diastolic").fill("95")
    page.locator("#start-submit").click()
    expect(page.locator("#p-diastolic-error")).to_contain_text("at least 10 mmHg below systolic")
    expect(page.locator("#p-diastolic")).to_have_attribute("aria-invalid", "true")


def test_a_nurse_follows_the_simulations_read_only(
    page: Page, live_server: LiveServer, trainer_api: httpx.Client, chairs: UsedChairs
) -> None:
    simulation = start(trainer_api, new_chair(chairs), start_at_min=10)
    open_console(page, live_server, Role.NURSE)
    expect(page.locator("#readonly-note")).to_contain_text("Only trainers run simulations")
    expect(page.locator("#start-panel")).to_be_hidden()
    card = card_of(page, simulation["session_id"])
    expect(card.locator(".badge.sim")).to_have_text("SIMULATED")
    expect(card.locator("tr[data-vital='heart_rate'] .truth")).to_have_text(
        re.compile(r"^\d{2,3}$")
    )
    expect(card.locator(".sim-time")).to_contain_text(" / 140:00")
    expect(card.get_by_role("link", name="Open as the nurses see it")).to_be_visible()
    expect(card.get_by_role("button")).to_have_count(0)
    expect(card.locator("select, input")).to_have_count(0)
