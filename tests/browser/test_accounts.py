"""The accounts page in a real browser: an admin creates an account, changes its role, disables
and enables it, resets its password (the one-time password shown once, then the person chooses
their own at sign-in), makes and revokes API tokens; the last active admin's controls are off and
the server's refusal is shown; everyone changes their own password from the header's name."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from backend.core.roles import Role
from tests.browser.conftest import TIMEZONE, api_client, sign_in
from tests.conftest import PASSWORD, ROLE_USERS, LiveServer

pytestmark = pytest.mark.browser

NEW_PASSWORD = "lantern-quietly-orbits-7"
# Set VIGIL_SCREENSHOTS to a folder to keep what the page looked like (at 1366 and 390 px).
SHOTS = os.environ.get("VIGIL_SCREENSHOTS")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def admin_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(live_server.url, Role.ADMIN) as client:
        yield client


def new_account(admin: httpx.Client, role: str = "nurse", **fields: Any) -> dict[str, Any]:
    name = f"acct-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": PASSWORD, "role": role} | fields
    response = admin.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def can_sign_in(server: LiveServer, username: str, password: str) -> int:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        login = {"username": username, "password": password}
        return client.post("/api/auth/login", json=login).status_code


def open_accounts(page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, Role.ADMIN)
    page.goto(f"{server.url}/accounts")
    expect(page.locator("#accounts-admin")).to_be_visible()


def row(page: Page, username: str) -> Any:
    return page.locator(f"#users-body tr[data-username='{username}']")


def accept_next_confirm(page: Page) -> None:
    page.once("dialog", lambda dialog: dialog.accept())


def test_an_admin_creates_an_account_that_must_choose_its_own_password(
    page: Page, live_server: LiveServer
) -> None:
    open_accounts(page, live_server)
    name = f"sam-{uuid.uuid4().hex[:6]}"
    page.click("#new-user")
    page.fill("#user-username", name)
    page.fill("#user-display-name", "Sam Okafor")
    page.select_option("#user-role", "staff")
    page.fill("#user-password", "password1234")
    page.click("#user-submit")
    # The policy's refusal, beside the field.
    expect(page.locator("#user-password-error")).to_contain_text("most commonly used")
    page.fill("#user-password", "ferry-quartz-meadow-9")
    page.click("#user-submit")

    expect(page.locator("#page-status")).to_contain_text(f"Created Sam Okafor ({name}), Staff.")
    created = row(page, name)
    expect(created).to_contain_text("Sam Okafor")
    expect(created.locator(".role-select")).to_have_value("staff")
    expect(created).to_contain_text("Active")
    expect(created).to_contain_text("New password due")
    expect(created).to_contain_text("Never")


def test_an_admin_changes_a_role_and_disables_then_enables_an_account(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    user = new_account(admin_api, "staff", display_name="Ana Reyes")
    open_accounts(page, live_server)
    target = row(page, user["username"])

    accept_next_confirm(page)
    target.locator(".role-select").select_option("nurse")
    expect(page.locator("#page-status")).to_have_text("Ana Reyes is now Nurse.")
    stored = next(u for u in admin_api.get("/api/users").json() if u["id"] == user["id"])
    assert stored["role"] == "nurse"

    accept_next_confirm(page)
    target.get_by_role("button", name="Disable").click()
    expect(page.locator("#page-status")).to_have_text("Ana Reyes is disabled and signed out.")
    expect(target).to_contain_text("Disabled")
    assert can_sign_in(live_server, user["username"], PASSWORD) == 401

    target.get_by_role("button", name="Enable").click()
    expect(page.locator("#page-status")).to_have_text("Ana Reyes can sign in again.")
    assert can_sign_in(live_server, user["username"], PASSWORD) == 200


def test_a_reset_shows_a_one_time_password_once_and_the_person_chooses_their_own_at_sign_in(
    page: Page, live_server: LiveServer, admin_api: httpx.Client, browser: Browser
) -> None:
    user = new_account(admin_api, "nurse", display_name="Lee Park")
    open_accounts(page, live_server)
    accept_next_confirm(page)
    row(page, user["username"]).get_by_role("button", name="Reset password").click()
    dialog = page.locator("#secret-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"The one-time password for Lee Park ({user['username']})")
    expect(dialog).to_contain_text("Shown only now.")
    one_time = page.locator("#secret-value").inner_text()
    assert len(one_time) == 19 and one_time.count("-") == 3
    expect(row(page, user["username"])).to_contain_text("New password due")
    shot(page, "accounts-reset-dialog")
    page.click("#secret-done")
    # Closed, the secret is gone from the page (cleared by the dialog's close event, which the
    # browser fires after the click's task: read at once, a loaded machine still saw it).
    expect(page.locator("#secret-dialog")).to_be_hidden()
    expect(page.locator("#secret-value")).to_have_text("")
    assert can_sign_in(live_server, user["username"], PASSWORD) == 401

    # Lee, at another workstation, signs in with it and must choose a password of their own.
    context = browser.new_context(timezone_id=TIMEZONE, locale="en-GB")
    try:
        lee = context.new_page()
        lee.goto(f"{live_server.url}/login")
        lee.fill("#username", user["username"])
        lee.fill("#password", one_time)
        lee.click("#login-submit")
        expect(lee.locator("#choose-form")).to_be_visible()
        expect(lee.locator("#login-form")).to_be_hidden()
        expect(lee.locator("#choose-new")).to_be_focused()
        lee.fill("#choose-new", "short-one")
        lee.fill("#choose-repeat", "short-one")
        lee.click("#choose-submit")
        expect(lee.locator("#choose-new-error")).to_contain_text("at least 12 characters")
        lee.fill("#choose-new", NEW_PASSWORD)
        lee.fill("#choose-repeat", NEW_PASSWORD + "x")
        lee.click("#choose-submit")
        expect(lee.locator("#choose-repeat-error")).to_contain_text("differ")
        lee.fill("#choose-repeat", NEW_PASSWORD)
        shot(lee, "login-choose-password")
        lee.click("#choose-submit")
        lee.wait_for_url(f"{live_server.url}/ward")
        expect(lee.locator("#who-name")).to_have_text("Lee Park")
    finally:
        context.close()
    assert can_sign_in(live_server, user["username"], one_time) == 401
    assert can_sign_in(live_server, user["username"], NEW_PASSWORD) == 200


def test_an_admin_makes_a_token_with_an_expiry_sees_its_secret_once_and_revokes_it(
    page: Page, live_server: LiveServer
) -> None:
    open_accounts(page, live_server)
    name = f"gateway-{uuid.uuid4().hex[:6]}"
    page.click("#new-token")
    page.fill("#token-name", name)
    page.select_option("#token-role", "staff")
    page.select_option("#token-expiry", "30")
    page.click("#token-submit")
    expect(page.locator("#secret-dialog")).to_contain_text(f"The secret of the token {name}")
    secret = page.locator("#secret-value").inner_text()
    assert secret.startswith("vgl_")
    page.keyboard.press("Escape")
    token_row = page.locator(f"#tokens-body tr[data-name='{name}']")
    expect(token_row).to_contain_text("Active")
    expect(token_row).to_contain_text("Staff")
    expect(token_row).not_to_contain_text(secret)
    # Expires in 30 days, shown as a date with its year.
    expires = token_row.locator("td[data-label='Expires']").inner_text()
    assert expires != "Never" and any(str(y) in expires for y in range(2026, 2100))

    bearer = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=live_server.url, headers=bearer, timeout=10) as machine:
        assert machine.get("/api/auth/me").json()["role"] == "staff"
        accept_next_confirm(page)
        token_row.get_by_role("button", name="Revoke").click()
        expect(page.locator("#page-status")).to_have_text(f"The token {name} is revoked.")
        expect(token_row).to_contain_text("Revoked")
        expect(token_row.get_by_role("button", name="Revoke")).to_have_count(0)
        assert machine.get("/api/auth/me").status_code == 401


@pytest.fixture
def only_admin(admin_api: httpx.Client) -> Iterator[None]:
    """Every other active admin disabled for the test (enabled again after): test-admin is the
    last active admin."""
    others = [
        u
        for u in admin_api.get("/api/users").json()
        if u["role"] == "admin" and u["is_active"] and u["username"] != ROLE_USERS[Role.ADMIN]
    ]
    for user in others:
        response = admin_api.patch(f"/api/users/{user['id']}", json={"is_active": False})
        assert response.status_code == 200, response.text
    yield
    for user in others:
        admin_api.patch(f"/api/users/{user['id']}", json={"is_active": True})


def test_the_last_active_admins_controls_are_off_and_say_why(
    page: Page, live_server: LiveServer, only_admin: None
) -> None:
    open_accounts(page, live_server)
    me = row(page, ROLE_USERS[Role.ADMIN])
    expect(me).to_contain_text("(you)")
    expect(me).to_contain_text("The last active admin: make another account admin first.")
    expect(me.get_by_role("button", name="Disable")).to_be_disabled()
    expect(me.locator(".role-select")).to_be_disabled()
    # Your own row offers a change of your own password, not a reset.
    expect(me.get_by_role("link", name="Change my password")).to_be_visible()
    expect(me.get_by_role("button", name="Reset password")).to_have_count(0)


def test_the_servers_refusal_to_disable_the_last_admin_is_shown(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    other = new_account(admin_api, "admin", display_name="Second Admin")
    open_accounts(page, live_server)  # two active admins: the controls are on
    me = row(page, ROLE_USERS[Role.ADMIN])
    expect(me.get_by_role("button", name="Disable")).to_be_enabled()
    # Meanwhile the other admin is disabled elsewhere (and every further admin too).
    users = admin_api.get("/api/users").json()
    others = [
        u
        for u in users
        if u["role"] == "admin" and u["is_active"] and u["username"] != ROLE_USERS[Role.ADMIN]
    ]
    for user in others:
        admin_api.patch(f"/api/users/{user['id']}", json={"is_active": False})
    try:
        accept_next_confirm(page)
        me.get_by_role("button", name="Disable").click()
        errors = page.locator("#page-errors")
        expect(errors).to_contain_text("is the last active admin and cannot be disabled")
        expect(errors).to_be_focused()
        # The page now knows: the control is off.
        expect(me.get_by_role("button", name="Disable")).to_be_disabled()
    finally:
        for user in others:
            admin_api.patch(f"/api/users/{user['id']}", json={"is_active": True})
    assert other["role"] == "admin"


def test_a_nurse_sees_no_accounts_and_is_told_why(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/accounts")
    expect(page.locator("#not-admin")).to_be_visible()
    expect(page.locator("#accounts-admin")).to_be_hidden()
    expect(page.locator(".app-header a[href='/accounts']")).to_be_hidden()


def test_everyone_changes_their_own_password_from_the_name_in_the_header(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    user = new_account(admin_api, "staff", display_name="Kim Doe")
    with httpx.Client(base_url=live_server.url, timeout=10) as elsewhere:
        login = {"username": user["username"], "password": PASSWORD}
        assert elsewhere.post("/api/auth/login", json=login).status_code == 200
        response = page.context.request.post(f"{live_server.url}/api/auth/login", data=login)
        assert response.ok
        page.goto(f"{live_server.url}/accounts")
        expect(page.locator("#who-name")).to_have_text("Kim Doe")
        page.click("#who-name")
        page.wait_for_url(f"{live_server.url}/password")
        expect(page.locator("#current-password")).to_be_focused()

        page.fill("#current-password", "not-my-password-at-all")
        page.fill("#new-password", NEW_PASSWORD)
        page.fill("#repeat-password", NEW_PASSWORD)
        page.click("#password-submit")
        expect(page.locator("#current-password-error")).to_contain_text(
            "This is not your current password"
        )
        page.fill("#current-password", PASSWORD)
        page.fill("#new-password", "Password-2024!")
        page.fill("#repeat-password", "Password-2024!")
        page.click("#password-submit")
        expect(page.locator("#new-password-error")).to_contain_text("most commonly used")
        shot(page, "password-refused")
        page.fill("#new-password", NEW_PASSWORD)
        page.fill("#repeat-password", NEW_PASSWORD)
        page.click("#password-submit")
        expect(page.locator("#password-status")).to_contain_text("Your password is changed")
        # This browser stays signed in; the other sign-in has ended.
        assert page.context.request.get(f"{live_server.url}/api/auth/me").ok
        assert elsewhere.get("/api/auth/me").status_code == 401
    assert can_sign_in(live_server, user["username"], NEW_PASSWORD) == 200


def test_on_a_phone_nothing_scrolls_sideways(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    new_account(admin_api, "trainer", display_name="Trainer Tom")
    open_accounts(page, live_server)
    shot(page, "accounts-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "accounts-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # One card per account: the column's name beside each value.
    expect(page.locator("#users-body td[data-label='Last sign-in']").first).to_be_visible()
    page.goto(f"{live_server.url}/password")
    expect(page.locator("#password-panel")).to_be_visible()
    shot(page, "password-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1366, "height": 768})
    shot(page, "password-1366")


def test_the_pages_pass_axe(page: Page, live_server: LiveServer) -> None:
    from tests.browser.accessibility import axe_violations, describe

    open_accounts(page, live_server)
    assert not (found := axe_violations(page)), describe(found)
    page.click("#new-user")
    assert not (found := axe_violations(page)), describe(found)
    page.goto(f"{live_server.url}/password")
    expect(page.locator("#password-panel")).to_be_visible()
    assert not (found := axe_violations(page)), describe(found)


def test_a_page_opened_with_a_one_time_password_leads_to_choosing_ones_own(
    page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    user = new_account(admin_api, "admin", display_name="Ria Admin")
    one_time = admin_api.post(f"/api/users/{user['id']}/password-reset").json()["password"]
    login = {"username": user["username"], "password": one_time}
    assert page.context.request.post(f"{live_server.url}/api/auth/login", data=login).ok
    page.goto(f"{live_server.url}/accounts")
    page.wait_for_url(f"{live_server.url}/password?next=%2Faccounts")
    expect(page.locator("#must-change-note")).to_be_visible()
    expect(page.locator("#current-label")).to_have_text("One-time password")
    page.fill("#current-password", one_time)
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#repeat-password", NEW_PASSWORD)
    page.click("#password-submit")
    page.wait_for_url(f"{live_server.url}/accounts")
    expect(page.locator("#accounts-admin")).to_be_visible()
