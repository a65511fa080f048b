"""What the accounts page relies on: the password policy, an admin's reset (a one-time password,
then a password of the person's own before anything else), changing one's own password, the last
sign-in, and API tokens that expire."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.users.passwords import common_passwords, password_problem
from tests.api.support import (
    ClientFactory,
    error_at,
    iso,
    message,
    new_token,
    new_user,
    now,
    sign_in_as,
    unique,
)
from tests.api.test_auth import api_operations, concrete
from tests.conftest import PASSWORD

NEW_PASSWORD = "lantern-quietly-orbits-7"


# ---- the policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Tulip-42-ab", "at least 12 characters long (this one has 11)"),
        ("password1234", "most commonly used"),
        ("Password-2024!", "most commonly used"),  # separators and case do not hide it
        ("QWERTYUIOP123", "most commonly used"),
        ("1q2w3e4r5t6y", "most commonly used"),
        ("abababababab", "too simple"),
    ],
)
def test_a_weak_password_is_422_naming_the_field_and_why(
    as_admin: TestClient, password: str, why: str
) -> None:
    response = as_admin.post(
        "/api/users", json={"username": unique("u"), "password": password, "role": "staff"}
    )
    assert why in error_at(response, "body", "password")["msg"]


def test_a_password_that_is_the_username_decorated_or_not_is_422(as_admin: TestClient) -> None:
    name = unique("sam")
    for password in (name, f"{name}!2026", name.upper()):
        response = as_admin.post(
            "/api/users", json={"username": name, "password": password, "role": "staff"}
        )
        assert "username" in error_at(response, "body", "password")["msg"]


def test_a_display_name_with_a_nul_character_is_422(as_admin: TestClient) -> None:
    body = {"username": unique("n"), "password": PASSWORD, "role": "staff", "display_name": "a\x00"}
    error_at(as_admin.post("/api/users", json=body), "body", "display_name")


def test_the_shipped_list_holds_thousands_of_common_passwords() -> None:
    common = common_passwords()
    assert len(common) > 3000
    assert {"123456", "password", "qwerty", "iloveyou", "letmein", "qwertyuiop123"} <= common
    # And the suite's own passwords are not on it.
    assert password_problem(PASSWORD, "test-nurse") is None


def test_an_admins_password_change_applies_the_policy(as_admin: TestClient) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    response = as_admin.patch(f"/api/users/{user['id']}", json={"password": "letmein123456"})
    assert "most commonly used" in error_at(response, "body", "password")["msg"]


# ---- last sign-in ---------------------------------------------------------------------------


def test_the_list_shows_each_accounts_last_sign_in(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "nurse", PASSWORD)
    assert user["last_login_at"] is None
    assert user["must_change_password"] is False
    sign_in_as(new_client(), user["username"], PASSWORD)
    (listed,) = [u for u in as_admin.get("/api/users").json() if u["id"] == user["id"]]
    assert listed["last_login_at"] is not None
    assert "+00:00" in listed["last_login_at"] or listed["last_login_at"].endswith("Z")


# ---- reset by an admin ----------------------------------------------------------------------


def reset(admin: TestClient, user_id: int) -> str:
    response = admin.post(f"/api/users/{user_id}/password-reset")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["must_change_password"] is True
    password: str = response.json()["password"]
    return password


def test_a_reset_gives_a_one_time_password_and_ends_the_accounts_sign_ins(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "nurse", PASSWORD)
    browser = new_client()
    sign_in_as(browser, user["username"], PASSWORD)
    one_time = reset(as_admin, user["id"])
    assert len(one_time.replace("-", "")) == 16
    assert browser.get("/api/auth/me").status_code == 401
    assert sign_in_as(new_client(), user["username"], PASSWORD).status_code == 401
    # Shown once: it is in no listing.
    assert one_time not in as_admin.get("/api/users").text
    # Typed as shown, or without its dashes in capitals, it signs in.
    assert sign_in_as(new_client(), user["username"], one_time).status_code == 200
    typed = one_time.replace("-", "").upper()
    assert sign_in_as(new_client(), user["username"], typed).status_code == 200


def test_after_a_reset_every_api_but_me_logout_and_the_change_answers_403(
    app: FastAPI, as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "admin", PASSWORD)  # an admin: every route would otherwise pass
    one_time = reset(as_admin, user["id"])
    browser = new_client()
    signed_in = sign_in_as(browser, user["username"], one_time)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["must_change_password"] is True
    me = browser.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["must_change_password"] is True

    allowed = {
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/auth/password"),
    }
    public = {("GET", "/api/health"), ("POST", "/api/auth/login")}
    answers = {
        (method, path): browser.request(method, concrete(path), json={})
        for method, path in api_operations(app)
        if (method, path) not in allowed | public
    }
    assert len(answers) > 20
    not_refused = {op: r.status_code for op, r in answers.items() if r.status_code != 403}
    assert not_refused == {}
    assert {message(r) for r in answers.values()} == {
        "choose a new password: you signed in with a one-time password"
    }


def test_choosing_a_new_password_after_a_reset_lets_the_person_in(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "nurse", PASSWORD)
    one_time = reset(as_admin, user["id"])
    browser = new_client()
    sign_in_as(browser, user["username"], one_time)
    weak = browser.post(
        "/api/auth/password", json={"current_password": one_time, "new_password": "password1234"}
    )
    assert "most commonly used" in error_at(weak, "body", "new_password")["msg"]
    chosen = browser.post(
        "/api/auth/password", json={"current_password": one_time, "new_password": NEW_PASSWORD}
    )
    assert chosen.status_code == 204, chosen.text
    # The same sign-in goes on, now with everything its role allows.
    assert browser.get("/api/sessions").status_code == 200
    assert browser.get("/api/auth/me").json()["must_change_password"] is False
    assert sign_in_as(new_client(), user["username"], one_time).status_code == 401
    assert sign_in_as(new_client(), user["username"], NEW_PASSWORD).status_code == 200


def test_resetting_an_unknown_account_is_404(as_admin: TestClient) -> None:
    assert as_admin.post("/api/users/987654321/password-reset").status_code == 404


@pytest.mark.parametrize("role", ["nurse", "staff", "trainer"])
def test_only_admins_reset_passwords(
    as_role: Callable[[Any], TestClient], as_admin: TestClient, role: str
) -> None:
    from backend.core.roles import Role

    user = new_user(as_admin, "staff", PASSWORD)
    response = as_role(Role(role)).post(f"/api/users/{user['id']}/password-reset")
    assert response.status_code == 403


def test_an_account_created_to_choose_its_own_password_must_do_so_first(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    name = unique("new")
    created = as_admin.post(
        "/api/users",
        json={
            "username": name,
            "password": PASSWORD,
            "role": "staff",
            "must_change_password": True,
        },
    )
    assert created.json()["must_change_password"] is True
    browser = new_client()
    sign_in_as(browser, name, PASSWORD)
    assert browser.get("/api/sessions").status_code == 403


# ---- changing one's own password ------------------------------------------------------------


def test_changing_your_own_password_ends_your_other_sign_ins_but_not_this_one(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    here, elsewhere = new_client(), new_client()
    sign_in_as(here, user["username"], PASSWORD)
    sign_in_as(elsewhere, user["username"], PASSWORD)
    changed = here.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    assert here.get("/api/auth/me").status_code == 200
    assert elsewhere.get("/api/auth/me").status_code == 401
    assert sign_in_as(new_client(), user["username"], PASSWORD).status_code == 401
    assert sign_in_as(new_client(), user["username"], NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_is_422_naming_it(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    browser = new_client()
    sign_in_as(browser, user["username"], PASSWORD)
    response = browser.post(
        "/api/auth/password",
        json={"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
    )
    assert "not your current password" in error_at(response, "body", "current_password")["msg"]
    assert sign_in_as(new_client(), user["username"], PASSWORD).status_code == 200


def test_the_new_password_must_differ_and_follow_the_policy(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    browser = new_client()
    sign_in_as(browser, user["username"], PASSWORD)
    same = browser.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": PASSWORD}
    )
    assert "differ" in error_at(same, "body", "new_password")["msg"]
    short = browser.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "short-1"}
    )
    assert "at least 12" in error_at(short, "body", "new_password")["msg"]


def test_a_token_cannot_change_a_password(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    gateway = bearer(new_token(as_admin, "admin")["token"])
    response = gateway.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 403


# ---- tokens that expire ---------------------------------------------------------------------


def test_a_token_made_with_an_expiry_shows_it_and_works_until_then(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    expires = now() + timedelta(days=30)
    response = as_admin.post(
        "/api/tokens", json={"name": unique("gw"), "role": "staff", "expires_at": iso(expires)}
    )
    assert response.status_code == 201, response.text
    token = response.json()
    assert token["expires_at"] is not None
    assert bearer(token["token"]).get("/api/sessions").status_code == 200
    listed = [t for t in as_admin.get("/api/tokens").json() if t["id"] == token["id"]]
    assert listed[0]["expires_at"] == token["expires_at"]


def test_an_expired_token_is_401(
    as_admin: TestClient, bearer: Callable[[str], TestClient], app: FastAPI
) -> None:
    from sqlalchemy import update

    from backend.core.database import Database
    from backend.users.models import ApiToken

    token = new_token(as_admin, "staff")
    gateway = bearer(token["token"])
    assert gateway.get("/api/sessions").status_code == 200
    database: Database = app.state.database
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.id == token["id"])
            .values(expires_at=now() - timedelta(seconds=1))
        )
    assert gateway.get("/api/sessions").status_code == 401


def test_an_expiry_in_the_past_or_without_an_offset_is_422(as_admin: TestClient) -> None:
    past = as_admin.post(
        "/api/tokens",
        json={"name": unique("gw"), "role": "staff", "expires_at": iso(now() - timedelta(hours=1))},
    )
    assert "future" in error_at(past, "body", "expires_at")["msg"]
    naive = as_admin.post(
        "/api/tokens",
        json={"name": unique("gw"), "role": "staff", "expires_at": "2031-01-01T00:00:00"},
    )
    error_at(naive, "body", "expires_at")
