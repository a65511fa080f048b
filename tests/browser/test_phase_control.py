"""Phase changes in the browser: each confirmed through its protocol checklist."""

import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import TIMEZONE, OpenSession, api_client, sign_in
from tests.conftest import ROLE_USERS, LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "shots"  # where the team looks at screenshots
NOTES_SHOTS = Path("/work/notes/shots")  # the screenshots, when that folder exists
Session = dict[str, Any]


@pytest.fixture
def session_of(nurse_api: httpx.Client) -> Iterator[Callable[..., Session]]:
    """New sessions for a test, stopped afterwards so the ward is left as it was."""
    made: list[Session] = []

    def make(**fields: Any) -> Session:
        session = new_session(nurse_api, **fields)
        made.append(session)
        return session

    yield make
    for session in made:
        nurse_api.post(
            f"/api/sessions/{session['id']}/phase",
            json={"phase": "stopped", "note": "a test ends it"},
        )


def reading(client: httpx.Client, session_id: int, **vitals: Any) -> None:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text


def move(client: httpx.Client, session_id: int, phase: str, ticks: dict[str, bool]) -> Session:
    response = client.post(
        f"/api/sessions/{session_id}/phase", json={"phase": phase, "checklist": ticks}
    )
    assert response.status_code == 200, response.text
    body: Session = response.json()
    return body


def local_hm(moment: str | datetime) -> str:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(ZoneInfo(TIMEZONE)).strftime("%H:%M")


def screenshot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#confirm-phase").screenshot(path=str(SHOTS / f"phase-{name}.png"))


def clinicians_of(client: httpx.Client) -> list[dict[str, str]]:
    """The accounts an override may name."""
    response = client.get("/api/users/clinicians")
    assert response.status_code == 200, response.text
    people: list[dict[str, str]] = response.json()
    return people


def auto_item(page: Page, key: str) -> Any:
    return page.locator(f"#phase-auto li[data-key='{key}']")


def test_starting_the_infusion_goes_through_its_checklist(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    page = open_session(session["id"])
    actions = page.locator("#phase-actions button")
    expect(actions).to_have_text(["Start infusion", "Stop early"])

    opened = datetime.now(ZoneInfo(TIMEZONE))
    actions.first.click()
    dialog = page.locator("#confirm-phase")
    expect(dialog).to_be_visible()
    baseline = auto_item(page, "baseline_bp")
    expect(baseline).to_have_attribute("data-state", "unmet")
    expect(baseline).to_contain_text("✗")
    expect(baseline).to_contain_text("Not met: Baseline blood pressure (last 30 min)")
    expect(baseline).to_contain_text("none recorded")
    confirm = page.locator("#confirm-phase-ok")
    expect(confirm).to_be_disabled()
    blocked = page.locator("#phase-blocked")
    expect(blocked).to_contain_text("To confirm: Baseline blood pressure (last 30 min)")
    # Now, in the browser's local time (the minute may have turned since the dialog opened).
    minutes = {(opened + timedelta(minutes=n)).strftime("%H:%M") for n in (0, 1)}
    assert page.locator("#phase-at").input_value() in minutes
    screenshot(page, "start-empty")

    # A blood pressure taken meanwhile (by a monitor): checked again, it counts.
    reading(nurse_api, session["id"], systolic=128, diastolic=82, spo2=98)
    page.get_by_role("button", name="Check again").click()
    expect(baseline).to_have_attribute("data-state", "met")
    taken = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"][0]
    expect(baseline).to_contain_text(f"128/82 at {local_hm(taken['taken_at'])}")
    expect(confirm).to_be_disabled()
    expect(blocked).to_contain_text("tick “Consent and screening confirmed”")

    page.get_by_label("Consent and screening confirmed").check()
    page.get_by_label("Patient identity checked").check()
    expect(confirm).to_be_disabled()
    page.get_by_label("IV line (cannula) checked").check()
    expect(confirm).to_be_enabled()
    expect(blocked).to_be_hidden()
    page.locator("#phase-note").fill("cannula in left arm")
    screenshot(page, "start-ready")
    violations = axe_violations(page)
    assert not violations, describe(violations)

    confirm.click()
    expect(page.locator("#phase-badge")).to_have_text("Infusing")
    expect(actions).to_have_text(["End infusion", "Stop early"])
    change = nurse_api.get(f"/api/sessions/{session['id']}").json()["phase_changes"][-1]
    assert change["note"] == "cannula in left arm"
    record = change["checklist"]
    assert record["confirmed"] is True
    assert {i["key"]: i["met"] for i in record["items"]} == {
        "baseline_bp": True,
        "baseline_spo2": True,
        "pre_dose_gate": True,
        "consent": True,
        "identity": True,
        "iv_line": True,
    }


def test_setting_the_time_back_judges_the_record_at_that_time(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    reading(nurse_api, session["id"], systolic=120, diastolic=80)
    page = open_session(session["id"])
    page.get_by_role("button", name="Start infusion").click()
    baseline = auto_item(page, "baseline_bp")
    expect(baseline).to_have_attribute("data-state", "met")

    earlier = datetime.now(ZoneInfo(TIMEZONE)) - timedelta(hours=1)
    page.locator("#phase-at").fill(earlier.strftime("%H:%M"))
    # An hour ago the blood pressure had not been taken yet.
    expect(page.locator("#phase-checklist-status")).to_have_text(f"judged for {earlier:%H:%M}")
    expect(baseline).to_have_attribute("data-state", "unmet")
    expect(page.locator("#confirm-phase-ok")).to_be_disabled()


def test_discharge_is_refused_before_the_minimum_observation_saying_from_when(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    reading(nurse_api, session["id"], systolic=122, diastolic=78)
    move(nurse_api, session["id"], "infusing", {"consent": True, "identity": True, "iv_line": True})
    recovery = move(nurse_api, session["id"], "recovery", {"dose_complete": True})
    reading(nurse_api, session["id"], consciousness="A", sedation=5)  # seen alert in recovery
    ended = datetime.fromisoformat(recovery["phase_changes"][-1]["at"])
    page = open_session(session["id"])
    expect(page.locator("#phase-actions button")).to_have_text(["Discharge", "Stop early"])

    page.get_by_role("button", name="Discharge").click()
    observation = auto_item(page, "min_observation")
    due = local_hm(ended + timedelta(minutes=60))
    expect(observation).to_have_attribute("data-state", "unmet")
    expect(observation).to_contain_text("Observed at least 60 min since dosing ended")
    expect(observation).to_contain_text(re.compile(rf"\d+ of 60 min observed; possible from {due}"))
    blocked = page.locator("#phase-blocked")
    expect(blocked).to_contain_text(f"Discharge is possible from {due}")
    # The countdown ticks outside the live region; typing a note does not make it speak again.
    expect(page.locator("#phase-wait")).to_have_text(re.compile(r"^\(in \d+ min\)$"))
    expect(blocked).not_to_contain_text("(in ")
    page.evaluate(
        """() => {
            window.__blockedChanges = 0;
            new MutationObserver(() => { window.__blockedChanges += 1; }).observe(
              document.getElementById('phase-blocked'),
              { childList: true, characterData: true, subtree: true },
            );
        }"""
    )
    page.locator("#phase-note").press_sequentially("calm")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__blockedChanges") == 0
    for label in (
        "Patient oriented and able to walk steadily",
        "Companion present to take the patient home",
        "Aftercare instructions given (no driving until tomorrow)",
    ):
        page.get_by_label(label).check()
    # Everything ticked, the clock still says no.
    expect(page.locator("#confirm-phase-ok")).to_be_disabled()
    expect(blocked).to_contain_text("To confirm: Observed at least 60 min since dosing ended")
    expect(auto_item(page, "bp_recent")).to_have_attribute("data-state", "met")
    screenshot(page, "discharge")


def test_stopping_early_needs_a_reason(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    page = open_session(session["id"])
    page.get_by_role("button", name="Stop early").click()
    expect(page.locator("#confirm-phase-title")).to_have_text("Stop early?")
    reason = page.get_by_label("Reason for stopping early (required)")
    expect(reason).to_be_visible()
    confirm = page.locator("#confirm-phase-ok")
    expect(auto_item(page, "baseline_bp")).to_have_count(0)  # not a question when stopping
    expect(page.get_by_label("Prescribing clinician informed")).not_to_be_checked()
    expect(confirm).to_be_disabled()
    expect(page.locator("#phase-blocked")).to_contain_text("give the reason for stopping early")
    screenshot(page, "stop")

    reason.fill("patient felt unwell before dosing")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.locator("#phase-badge")).to_have_text("Stopped")
    change = nurse_api.get(f"/api/sessions/{session['id']}").json()["phase_changes"][-1]
    assert change["note"] == "patient felt unwell before dosing"
    assert change["checklist"]["items"][0]["key"] == "clinician_informed"


def test_an_admin_sets_the_discharge_minimum_on_the_limits_page(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    with api_client(live_server.url, Role.ADMIN) as admin:
        default = admin.get("/api/limits/profiles").json()[0]
        body = {"name": f"Discharge test {uuid.uuid4().hex[:8]}", "limits": default["limits"]}
        profile = admin.post("/api/limits/profiles", json=body).json()
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/limits?profile={profile['id']}")
    ketamine = page.locator("#lim-discharge-min_observation_min")
    expect(ketamine).to_have_value("60")
    expect(page.locator("#lim-discharge-esketamine_min_observation_min")).to_have_value("120")
    expect(page.get_by_role("group", name="Observation before discharge")).to_be_visible()

    # Twelve hours at most: a slip of the finger is refused beside the field.
    ketamine.fill("1000")
    ketamine.press("Enter")
    expect(page.locator("#lim-discharge-min_observation_min-error")).to_contain_text("720")
    expect(ketamine).to_have_attribute("aria-invalid", "true")

    ketamine.fill("90")
    ketamine.press("Enter")
    expect(page.locator("#profile-status")).to_contain_text("Saved")
    page.screenshot(path=str(SHOTS / "phase-limits.png"))
    session = new_session(nurse_api, limit_profile_id=profile["id"])
    limits = nurse_api.get(f"/api/sessions/{session['id']}/limits").json()["effective"]
    assert limits["discharge"] == {
        "min_observation_min": 90,
        "esketamine_min_observation_min": 120,
        "require_alertness": True,
    }
    nurse_api.post(
        f"/api/sessions/{session['id']}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )


def test_cancelling_after_the_buttons_were_redrawn_puts_focus_on_the_same_phases_button(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    reading(nurse_api, session["id"], systolic=122, diastolic=78)
    page = open_session(session["id"])
    page.get_by_role("button", name="Stop early").click()
    expect(page.locator("#confirm-phase-title")).to_have_text("Stop early?")
    # Another tablet starts the infusion meanwhile: the buttons behind the dialog are redrawn.
    move(nurse_api, session["id"], "infusing", {"consent": True, "identity": True, "iv_line": True})
    expect(page.locator("#phase-actions button").first).not_to_have_text("Start infusion")
    page.locator("#confirm-phase-cancel").click()
    expect(page.locator("#phase-actions button[data-phase='stopped']")).to_be_focused()


def test_an_open_high_alarm_holds_discharge_until_a_named_nurse_overrides_it_with_a_reason(
    open_session: OpenSession,
    live_server: LiveServer,
    nurse_api: httpx.Client,
    session_of: Callable[..., Session],
) -> None:
    clinicians_of(nurse_api)
    with api_client(live_server.url, Role.ADMIN) as admin:
        limits = admin.get("/api/limits/profiles").json()[0]["limits"]
        limits["discharge"]["min_observation_min"] = 0.01  # tests cannot wait an hour
        body = {"name": f"Brief observation {uuid.uuid4().hex[:8]}", "limits": limits}
        profile = admin.post("/api/limits/profiles", json=body).json()
    session = session_of(limit_profile_id=profile["id"])
    reading(nurse_api, session["id"], systolic=122, diastolic=78)
    move(nurse_api, session["id"], "infusing", {"consent": True, "identity": True, "iv_line": True})
    move(nurse_api, session["id"], "recovery", {"dose_complete": True})
    # A high-priority alarm in a patient seen alert in recovery.
    reading(nurse_api, session["id"], systolic=192, diastolic=96, consciousness="A", sedation=5)
    page = open_session(session["id"])

    page.get_by_role("button", name="Discharge").click()
    alarms = auto_item(page, "no_open_high_alarm")
    expect(alarms).to_have_attribute("data-state", "unmet")
    expect(alarms).to_contain_text("1 open: Systolic BP 192")
    for label in (
        "Patient oriented and able to walk steadily",
        "Companion present to take the patient home",
        "Aftercare instructions given (no driving until tomorrow)",
    ):
        page.get_by_label(label).check()
    confirm = page.locator("#confirm-phase-ok")
    expect(confirm).to_be_disabled()
    blocked = page.locator("#phase-blocked")
    expect(blocked).to_contain_text("answer the open high-priority alarms, or give who decides")
    override = page.locator("#alarm-override")
    expect(override).to_be_visible()
    expect(override).to_contain_text("High-priority alarms are open.")
    alarms.scroll_into_view_if_needed()
    screenshot(page, "discharge-alarm-held")

    # The decider is picked from the accounts: the signed-in nurse unless someone else decides.
    decider = page.locator("#alarm-override-by")
    expect(decider).to_have_value(ROLE_USERS[Role.NURSE])
    decider.select_option(ROLE_USERS[Role.ADMIN])
    expect(confirm).to_be_disabled()  # a name alone is not enough: why, too
    page.get_by_label("Reason to discharge with the alarms open").fill(
        "Reviewed by Dr Shah; repeat BP 150/90, patient comfortable"
    )
    expect(confirm).to_be_enabled()
    # Overridden is not fine: a warning mark, never a green tick.
    expect(alarms).to_have_attribute("data-state", "attention")
    expect(alarms).to_contain_text("⚠")
    expect(alarms).to_contain_text("discharge decided by")
    expect(alarms).to_contain_text("Reviewed by Dr Shah")
    screenshot(page, "discharge-alarm-override")
    page.locator("#confirm-phase").screenshot(path=f"{NOTES_SHOTS}/discharge-override-dialog.png")
    violations = axe_violations(page)
    assert not violations, describe(violations)

    confirm.click()
    expect(page.locator("#phase-badge")).to_have_text("Discharged")
    record = nurse_api.get(f"/api/sessions/{session['id']}").json()["phase_changes"][-1]
    kept = record["checklist"]["alarm_override"]
    # The account decides; its display name is whatever the accounts page says today.
    assert (kept["username"], kept["reason"]) == (
        ROLE_USERS[Role.ADMIN],
        "Reviewed by Dr Shah; repeat BP 150/90, patient comfortable",
    )


def test_a_baseline_above_the_gate_is_never_a_green_tick_and_no_api_names_show(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    session = session_of()
    reading(nurse_api, session["id"], systolic=196, diastolic=121, spo2=97)
    taken = nurse_api.get(f"/api/sessions/{session['id']}/readings").json()["items"][0]
    page = open_session(session["id"])
    page.get_by_role("button", name="Start infusion").click()
    expect(page.locator("#gate-advice")).to_be_visible()
    baseline = auto_item(page, "baseline_bp")
    expect(baseline).to_have_attribute("data-state", "attention")
    expect(baseline).to_contain_text("⚠")
    expect(baseline).not_to_contain_text("✓")
    expect(baseline).to_contain_text(
        f"recorded 196/121 at {local_hm(taken['taken_at'])}, above the 140/90 gate"
    )
    gate = auto_item(page, "pre_dose_gate")
    expect(gate).to_have_attribute("data-state", "unmet")
    expect(gate).to_contain_text("systolic 196 > 140")
    # Words a nurse uses: no API field names anywhere in the dialog.
    dialog = page.locator("#confirm-phase")
    for api_name in ("override_gate", "override_alarms", "=true"):
        expect(dialog).not_to_contain_text(api_name)
    expect(page.locator("#confirm-phase-ok")).to_be_disabled()
    screenshot(page, "start-above-gate")


def test_starting_above_the_gate_names_the_clinician_who_decides_and_why(
    open_session: OpenSession, nurse_api: httpx.Client, session_of: Callable[..., Session]
) -> None:
    clinicians = clinicians_of(nurse_api)
    assert ROLE_USERS[Role.NURSE] in {person["username"] for person in clinicians}
    session = session_of()
    reading(nurse_api, session["id"], systolic=150, diastolic=88, spo2=97)
    page = open_session(session["id"])
    page.get_by_role("button", name="Start infusion").click()
    expect(page.locator("#gate-override")).to_be_focused()
    page.keyboard.press("Space")
    for item in ("consent", "identity", "iv_line"):
        page.locator(f"#phase-check-{item}").check()
    confirm = page.locator("#confirm-phase-ok")
    decider = page.locator("#gate-override-by")
    expect(decider).to_have_value(ROLE_USERS[Role.NURSE])  # the signed-in nurse, by default
    expect(confirm).to_be_disabled()  # who, and why
    page.get_by_label("Reason to start the infusion above the gate").fill(
        "Usual BP for this patient; Dr Shah agrees"
    )
    expect(confirm).to_be_enabled()
    gate = auto_item(page, "pre_dose_gate")
    expect(gate).to_have_attribute("data-state", "attention")
    expect(gate).to_contain_text("Dr Shah agrees")
    confirm.click()
    expect(page.locator("#phase-badge")).to_have_text("Infusing")
    stored = nurse_api.get(f"/api/sessions/{session['id']}").json()
    assert stored["gate_override_by"] == ROLE_USERS[Role.NURSE]
