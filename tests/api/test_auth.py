"""Who may call the API: sign-in cookies, sign-out, disabled accounts, origins, idle sign-ins."""

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.security import digest
from backend.users.auth import SESSION_COOKIE
from backend.users.models import BrowserLogin
from tests.api.support import ClientFactory, message, new_user, now, sign_in_as, unique
from tests.conftest import PASSWORD, ROLE_USERS, sign_in
from tests.helpers import new_patient

# The only ways in without credentials: the monitoring probe, and signing in or out.
PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login"), ("POST", "/api/auth/logout")}


def api_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every HTTP method and path under /api, read from the app so new routes are included."""
    return sorted(
        (method, route.path or "")
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and (route.path or "").startswith("/api/")
        for method in route.methods or ()
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_but_the_public_ones_answers_401_without_credentials(
    app: FastAPI, client: TestClient
) -> None:
    operations = api_operations(app)
    assert len(operations) > 15, operations
    assert set(operations) >= PUBLIC, "a public route moved; update PUBLIC"
    refused = {
        (method, path): client.request(method, concrete(path), json={}).status_code
        for method, path in operations
        if (method, path) not in PUBLIC
    }
    assert {op: code for op, code in refused.items() if code != 401} == {}


def test_a_refusal_says_how_to_authenticate(client: TestClient) -> None:
    response = client.get("/api/sessions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "sign in" in message(response)


def test_health_needs_no_credentials(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200


def test_an_unknown_cookie_or_token_is_401(new_client: ClientFactory) -> None:
    forged_cookie = new_client(cookies={SESSION_COOKIE: "forged"})
    forged_token = new_client(headers={"Authorization": "Bearer vgl_forged"})
    assert forged_cookie.get("/api/auth/me").status_code == 401
    assert forged_token.get("/api/auth/me").status_code == 401


def test_signing_in_answers_who_is_signed_in(client: TestClient) -> None:
    response = sign_in_as(client, ROLE_USERS[Role.STAFF], PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json() | {"display_name": None} == {
        "kind": "user",
        "name": "test-staff",
        "role": "staff",
        "display_name": None,
        "must_change_password": False,
    }
    assert client.get("/api/auth/me").json()["role"] == "staff"


def test_a_username_with_a_nul_character_is_422_not_500(client: TestClient) -> None:
    # PostgreSQL text cannot hold NUL; the lookup and the throttle's count would fail on it.
    response = sign_in_as(client, "nurse\x00x", PASSWORD)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["message"]


def test_a_wrong_password_is_401(client: TestClient) -> None:
    response = sign_in_as(client, ROLE_USERS[Role.NURSE], "not-the-password")
    assert response.status_code == 401, response.text
    assert "wrong username or password" in message(response)
    assert SESSION_COOKIE not in client.cookies


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    client: TestClient,
) -> None:
    unknown = sign_in_as(client, unique("nobody"), PASSWORD)
    wrong = sign_in_as(client, ROLE_USERS[Role.NURSE], "not-the-password")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


def test_the_sign_in_cookie_is_http_only_and_same_site_strict(client: TestClient) -> None:
    response = sign_in_as(client, ROLE_USERS[Role.NURSE], PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie


def test_the_sign_in_cookie_is_secure_when_signed_in_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as https:
        response = sign_in_as(https, ROLE_USERS[Role.NURSE], PASSWORD)
        assert "secure" in response.headers["set-cookie"].lower()


def test_signing_out_ends_the_sign_in_on_the_server(
    nurse: TestClient, new_client: ClientFactory
) -> None:
    secret = nurse.cookies[SESSION_COOKIE]
    assert nurse.post("/api/auth/logout").status_code == 204
    replayed = new_client(cookies={SESSION_COOKIE: secret})
    assert replayed.get("/api/auth/me").status_code == 401
    assert nurse.get("/api/auth/me").status_code == 401


def test_a_disabled_account_cannot_sign_in_and_its_open_sign_ins_stop_working(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "nurse", PASSWORD)
    browser = new_client()
    assert sign_in_as(browser, user["username"], PASSWORD).status_code == 200
    disabled = as_admin.patch(f"/api/users/{user['id']}", json={"is_active": False})
    assert disabled.json()["is_active"] is False
    assert browser.get("/api/auth/me").status_code == 401
    assert sign_in_as(new_client(), user["username"], PASSWORD).status_code == 401


def test_a_password_change_ends_the_accounts_sign_ins(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    browser = new_client()
    sign_in_as(browser, user["username"], PASSWORD)
    new_password = "another-long-password"
    changed = as_admin.patch(f"/api/users/{user['id']}", json={"password": new_password})
    assert changed.status_code == 200, changed.text
    assert browser.get("/api/auth/me").status_code == 401
    assert sign_in_as(new_client(), user["username"], PASSWORD).status_code == 401
    assert sign_in_as(new_client(), user["username"], new_password).status_code == 200


def test_a_cookie_post_from_a_foreign_origin_is_403(as_nurse: TestClient) -> None:
    response = as_nurse.post(
        "/api/patients",
        json={"clinic_id": unique("P"), "display_name": "Forged"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403, response.text
    assert "origin" in message(response)


def test_signing_out_from_a_foreign_origin_is_403_and_the_sign_in_stays(nurse: TestClient) -> None:
    # Another site's page must not be able to sign a nurse out of the ward (a forced sign-out).
    response = nurse.post("/api/auth/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403, response.text
    assert "origin" in message(response)
    assert nurse.get("/api/auth/me").status_code == 200


def test_signing_in_from_a_foreign_origin_is_403(client: TestClient) -> None:
    # Login CSRF: another site signing the browser in to an account of its choosing.
    response = client.post(
        "/api/auth/login",
        json={"username": ROLE_USERS[Role.NURSE], "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403, response.text
    assert SESSION_COOKIE not in client.cookies


def test_signing_in_and_out_from_vigils_own_origin_works(client: TestClient) -> None:
    own = {"Origin": "http://testserver"}
    login = {"username": ROLE_USERS[Role.NURSE], "password": PASSWORD}
    assert client.post("/api/auth/login", json=login, headers=own).status_code == 200
    assert client.post("/api/auth/logout", headers=own).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_a_cookie_post_from_vigils_own_origin_is_allowed(as_nurse: TestClient) -> None:
    response = as_nurse.post(
        "/api/patients",
        json={"clinic_id": unique("P"), "display_name": "Same origin"},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 201, response.text


def test_a_sign_in_idle_for_a_few_minutes_can_still_write(
    nurse: TestClient, database: Database
) -> None:
    # An idle sign-in is refreshed on its next request; that refresh must not block the
    # request's own write transaction (SQLite holds one write lock per database).
    secret_digest = digest(nurse.cookies[SESSION_COOKIE])
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(BrowserLogin)
            .where(BrowserLogin.secret_digest == secret_digest)
            .values(last_seen_at=now() - timedelta(minutes=6))
        )
    new_patient(nurse)
    with database.unit_of_work(write=False) as db:
        seen = db.scalar(
            select(BrowserLogin.last_seen_at).where(BrowserLogin.secret_digest == secret_digest)
        )
    assert seen is not None and now() - seen < timedelta(minutes=1)


def test_a_sign_in_idle_longer_than_the_limit_is_401(nurse: TestClient, database: Database) -> None:
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(BrowserLogin)
            .where(BrowserLogin.secret_digest == digest(nurse.cookies[SESSION_COOKIE]))
            .values(last_seen_at=now() - timedelta(hours=13))
        )
    assert nurse.get("/api/auth/me").status_code == 401


def test_signing_out_one_browser_leaves_the_others_signed_in(new_client: ClientFactory) -> None:
    first = sign_in(new_client(), Role.STAFF)
    second = sign_in(new_client(), Role.STAFF)
    assert first.post("/api/auth/logout").status_code == 204
    assert second.get("/api/auth/me").status_code == 200
