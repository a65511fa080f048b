"""The alarm-limit profiles page: an administrator changes a profile and the sessions using it
follow; a refused value is shown beside its field and nothing is stored; a new profile starts
as a copy; everyone else reads the same numbers without a way to change them."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client, sign_in, wait_until_live
from tests.conftest import ROLE_USERS, LiveServer
from tests.helpers import new_session

pytestmark = pytest.mark.browser

INFUSING_HR = "#lim-phases-infusing-vitals-heart_rate"
INFUSING_HR_ABOVE_MEDIUM = f"{INFUSING_HR}-above-medium"


@pytest.fixture(scope="module")
def admin_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(live_server.url, Role.ADMIN) as client:
        yield client


@pytest.fixture
def profile(admin_api: httpx.Client) -> dict[str, Any]:
    """A profile of this test's own, copied from the clinic default (which other tests rely on)."""
    default = admin_api.get("/api/limits/profiles").json()[0]
    assert default["is_default"]
    body = {"name": f"Test protocol {uuid.uuid4().hex[:8]}", "limits": default["limits"]}
    response = admin_api.post("/api/limits/profiles", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored(client: httpx.Client, profile_id: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        p for p in client.get("/api/limits/profiles").json() if p["id"] == profile_id
    ]
    assert len(found) == 1
    return found[0]


def heart_rate_above(limits: dict[str, Any], phase: str = "infusing") -> dict[str, Any]:
    bound: dict[str, Any] = limits["phases"][phase]["vitals"]["heart_rate"]["above"]
    return bound


def session_heart_rate_above(client: httpx.Client, session_id: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/limits")
    assert response.status_code == 200, response.text
    return heart_rate_above(response.json()["effective"])


def open_profile(page: Page, server: LiveServer, profile_id: int, role: Role) -> None:
    sign_in(page, server.url, role)
    page.goto(f"{server.url}/limits?profile={profile_id}")
    expect(page.locator("#profile-title")).not_to_be_empty()


def retype(page: Page, selector: str, value: str) -> None:
    """Replace an input's value with the keyboard."""
    page.locator(selector).focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    page.keyboard.type(value)


def test_an_admin_changes_a_limit_and_sessions_on_the_profile_follow_it(
    page: Page,
    live_server: LiveServer,
    admin_api: httpx.Client,
    nurse_api: httpx.Client,
    profile: dict[str, Any],
) -> None:
    running = new_session(nurse_api, limit_profile_id=profile["id"])
    open_profile(page, live_server, profile["id"], Role.ADMIN)
    save = page.locator("#profile-save")
    expect(page.locator("#profile-title")).to_have_text(profile["name"])
    expect(page.get_by_label("Infusing · Heart rate: medium priority above (/min)")).to_have_value(
        "120"
    )
    expect(save).to_be_disabled()

    retype(page, INFUSING_HR_ABOVE_MEDIUM, "115")
    expect(save).to_be_enabled()
    expect(page.locator("#dirty-note")).to_have_text("1 unsaved change")

    # Leaving now asks first.
    with page.expect_event("dialog") as asked:
        page.evaluate("() => { setTimeout(() => location.reload(), 0); }")
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()

    page.locator(INFUSING_HR_ABOVE_MEDIUM).focus()
    page.keyboard.press("Enter")
    status = page.locator("#profile-status")
    expect(status).to_contain_text(f"Saved by {ROLE_USERS[Role.ADMIN]}")
    expect(status).to_be_focused()
    expect(save).to_be_disabled()
    expect(page.locator("#profile-updated")).to_contain_text(f"by {ROLE_USERS[Role.ADMIN]}")
    assert heart_rate_above(stored(admin_api, profile["id"])["limits"]) == {
        "medium": 115,
        "high": 140,
    }

    latest = page.locator("#history-list > li").first
    expect(latest).to_contain_text(ROLE_USERS[Role.ADMIN])
    expect(latest).to_contain_text("Infusing · Heart rate · medium above: 120 → 115")
    expect(latest.locator(".change-lines li")).to_have_count(1)

    # The running session follows the profile, and a new one starts with it.
    assert session_heart_rate_above(nurse_api, running["id"]) == {"medium": 115, "high": 140}
    started = new_session(nurse_api, limit_profile_id=profile["id"])
    assert session_heart_rate_above(nurse_api, started["id"]) == {"medium": 115, "high": 140}
    for session in (running, started):
        nurse_api.post(
            f"/api/sessions/{session['id']}/phase",
            json={"phase": "stopped", "note": "a test ends it"},
        )


def test_an_admin_decides_whether_discharge_asks_for_alertness(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, profile: dict[str, Any]
) -> None:
    open_profile(page, live_server, profile["id"], Role.ADMIN)
    choice = page.get_by_label("Alert (ACVPU A) and MOAA/S 5 since dosing ended")
    expect(choice).to_have_value("true")
    choice.select_option(label="Not required")
    page.locator("#profile-save").click()
    expect(page.locator("#profile-status")).to_contain_text(f"Saved by {ROLE_USERS[Role.ADMIN]}")
    assert stored(admin_api, profile["id"])["limits"]["discharge"]["require_alertness"] is False
    expect(page.locator("#history-list > li").first).to_contain_text(
        "Alert and MOAA/S 5 before discharge"
    )


def test_a_refused_value_is_shown_beside_its_field_and_nothing_is_saved(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, profile: dict[str, Any]
) -> None:
    open_profile(page, live_server, profile["id"], Role.ADMIN)
    error = page.locator(f"{INFUSING_HR}-error")
    expect(error).to_be_hidden()

    # An empty delay never leaves the page.
    retype(page, f"{INFUSING_HR}-delay_s", "")
    page.keyboard.press("Enter")
    expect(error).to_contain_text("Delay: Required")
    expect(page.locator(f"{INFUSING_HR}-delay_s")).to_be_focused()
    retype(page, f"{INFUSING_HR}-delay_s", "10")

    # Medium above the high limit: the server refuses, and says so on the heart-rate row.
    retype(page, INFUSING_HR_ABOVE_MEDIUM, "150")
    page.keyboard.press("Enter")
    expect(error).to_contain_text("medium 150, high 140")
    expect(page.locator(INFUSING_HR_ABOVE_MEDIUM)).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"{INFUSING_HR}-above-high")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"{INFUSING_HR}-below-medium")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.locator(INFUSING_HR_ABOVE_MEDIUM)).to_be_focused()
    expect(page.locator("#lim-phases-recovery-vitals-heart_rate-error")).to_be_hidden()
    expect(page.locator("#profile-status")).to_be_empty()
    expect(page.locator("#profile-save")).to_be_enabled()

    after = stored(admin_api, profile["id"])
    assert after["limits"] == profile["limits"]
    assert after["updated_at"] == profile["updated_at"]
    changes = admin_api.get(f"/api/limits/profiles/{profile['id']}/changes").json()
    assert [c["old"] for c in changes] == [None]  # only its creation


def test_an_admin_creates_a_new_profile_as_a_copy_of_the_selected_one(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, profile: dict[str, Any]
) -> None:
    limits = profile["limits"]
    limits["phases"]["recovery"]["vitals"]["spo2"]["below"] = {"medium": 93, "high": 88}
    response = admin_api.put(
        f"/api/limits/profiles/{profile['id']}", json={"name": profile["name"], "limits": limits}
    )
    assert response.status_code == 200, response.text
    open_profile(page, live_server, profile["id"], Role.ADMIN)

    page.locator("#new-profile").click()
    dialog = page.locator("#new-dialog")
    expect(dialog).to_be_visible()
    name = page.locator("#new-name")
    expect(name).to_be_focused()
    expect(name).to_have_value(f"{profile['name']} (copy)")

    # A name in use is refused beside the name.
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(profile["name"])
    page.keyboard.press("Enter")
    expect(page.locator("#new-name-error")).to_contain_text("already exists")

    copy_name = f"{profile['name']} nasal"
    name.fill(copy_name)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#profile-title")).to_have_text(copy_name)
    expect(page.locator("#profile-title")).to_be_focused()
    expect(page.locator("#profile-list a[aria-current='page']")).to_have_text(copy_name)
    expect(page.locator("#profile-status")).to_contain_text(f"copy of “{profile['name']}”")
    expect(page.locator("#lim-phases-recovery-vitals-spo2-below-medium")).to_have_value("93")
    expect(page.locator("#history-list")).to_contain_text("Profile created.")

    copy = next(p for p in admin_api.get("/api/limits/profiles").json() if p["name"] == copy_name)
    assert copy["limits"] == stored(admin_api, profile["id"])["limits"]
    assert not copy["is_default"]
    assert page.url.endswith(f"/limits?profile={copy['id']}")


def test_a_nurse_reads_the_limits_but_cannot_change_them(
    nurse_page: Page, live_server: LiveServer, profile: dict[str, Any]
) -> None:
    page = nurse_page
    page.goto(f"{live_server.url}/limits?profile={profile['id']}")
    expect(page.locator("#profile-title")).to_have_text(profile["name"])
    expect(page.locator("#readonly-note")).to_be_visible()
    expect(page.locator("#readonly-note")).to_contain_text("Only an administrator")
    row = page.locator(f"{INFUSING_HR}")
    expect(row).to_contain_text("> 120")
    expect(row).to_contain_text("< 40")
    expect(page.locator("[data-value-of='gate.systolic']")).to_have_text("140 mmHg")
    expect(page.locator("[data-value-of='phases.infusing.bp_due_every_s']")).to_have_text("10 min")
    expect(page.locator("#profile-body input, #profile-body select")).to_have_count(0)
    expect(page.locator("#profile-name")).to_be_hidden()
    expect(page.locator("#profile-save")).to_be_hidden()
    expect(page.locator("#new-profile")).to_be_hidden()
    expect(page.locator("#history-list > li")).to_have_count(1)


def test_a_save_never_undoes_a_colleagues_change_made_since_the_page_opened(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, profile: dict[str, Any]
) -> None:
    open_profile(page, live_server, profile["id"], Role.ADMIN)
    limits = profile["limits"]
    limits["phases"]["infusing"]["vitals"]["heart_rate"]["above"] = {"medium": 110, "high": 140}
    response = admin_api.put(
        f"/api/limits/profiles/{profile['id']}", json={"name": profile["name"], "limits": limits}
    )
    assert response.status_code == 200, response.text

    retype(page, "#lim-phases-infusing-vitals-spo2-below-medium", "93")
    page.keyboard.press("Enter")
    expect(page.locator("#profile-errors")).to_contain_text("after you opened it")
    expect(page.locator("#profile-errors")).to_be_focused()
    after = stored(admin_api, profile["id"])["limits"]
    assert heart_rate_above(after) == {"medium": 110, "high": 140}
    assert after["phases"]["infusing"]["vitals"]["spo2"]["below"]["medium"] == 92


def test_an_open_session_page_redraws_its_limits_when_its_profile_changes(
    page: Page,
    live_server: LiveServer,
    admin_api: httpx.Client,
    nurse_api: httpx.Client,
    profile: dict[str, Any],
) -> None:
    session = new_session(nurse_api, limit_profile_id=profile["id"])
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(page)
    row = page.locator("#limits-body tr[data-vital='heart_rate']")
    expect(row).to_contain_text("> 120")

    limits = profile["limits"]
    limits["phases"]["baseline"]["vitals"]["heart_rate"]["above"] = {"medium": 110, "high": 130}
    body = {"name": profile["name"], "limits": limits, "based_on": profile["updated_at"]}
    response = admin_api.put(f"/api/limits/profiles/{profile['id']}", json=body)
    assert response.status_code == 200, response.text
    # Over the session's stream (a profile change names no session), without a reload.
    expect(row).to_contain_text("> 110", timeout=3000)
    expect(row).to_contain_text("> 130")
