"""Accounts and API tokens: admins only; a token's secret is shown once and can be revoked."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.core.roles import Role
from tests.api.support import RoleClient, error_at, message, new_token, new_user, unique
from tests.conftest import PASSWORD
from tests.helpers import new_session, post_reading

ADMIN_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/users", None),
    ("POST", "/api/users", {"username": "x-forbidden", "password": PASSWORD, "role": "admin"}),
    ("PATCH", "/api/users/1", {"role": "admin"}),
    ("GET", "/api/tokens", None),
    ("POST", "/api/tokens", {"name": "x-forbidden", "role": "admin"}),
    ("DELETE", "/api/tokens/1", None),
]


@pytest.mark.parametrize("role", [Role.NURSE, Role.STAFF, Role.TRAINER])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_only_admins_manage_accounts_and_tokens(
    as_role: RoleClient, role: Role, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = as_role(role).request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert message(response) == "this needs one of the roles: admin"


def test_a_token_with_a_clinical_role_cannot_manage_tokens(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    gateway = bearer(new_token(as_admin, "nurse")["token"])
    assert gateway.get("/api/tokens").status_code == 403


def test_an_admin_creates_an_account_that_can_sign_in(
    as_admin: TestClient, client: TestClient
) -> None:
    username = unique("nurse")
    response = as_admin.post(
        "/api/users",
        json={"username": username, "password": PASSWORD, "role": "nurse", "display_name": "N"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["username"], created["role"], created["is_active"]) == (username, "nurse", True)
    assert not {"password", "password_hash"} & created.keys()
    assert username in [u["username"] for u in as_admin.get("/api/users").json()]
    signed_in = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text


def test_a_password_shorter_than_twelve_characters_is_422(as_admin: TestClient) -> None:
    response = as_admin.post(
        "/api/users", json={"username": unique("u"), "password": "Tulip-42-ab", "role": "staff"}
    )
    assert "at least 12 characters" in error_at(response, "body", "password")["msg"]


def test_a_username_with_spaces_is_422(as_admin: TestClient) -> None:
    response = as_admin.post(
        "/api/users", json={"username": "two words", "password": PASSWORD, "role": "staff"}
    )
    error_at(response, "body", "username")


def test_a_duplicate_username_is_409_naming_it(as_admin: TestClient) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    response = as_admin.post(
        "/api/users", json={"username": user["username"], "password": PASSWORD, "role": "nurse"}
    )
    assert response.status_code == 409, response.text
    assert user["username"] in message(response)


def test_an_admin_changes_an_accounts_role_and_name(as_admin: TestClient) -> None:
    user = new_user(as_admin, "staff", PASSWORD)
    response = as_admin.patch(
        f"/api/users/{user['id']}", json={"role": "nurse", "display_name": "Sam Lee"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["display_name"]) == ("nurse", "Sam Lee")


def test_updating_an_unknown_account_is_404(as_admin: TestClient) -> None:
    response = as_admin.patch("/api/users/987654321", json={"display_name": "Nobody"})
    assert response.status_code == 404, response.text


def test_a_tokens_secret_is_shown_at_creation_and_never_listed(as_admin: TestClient) -> None:
    token = new_token(as_admin, "staff")
    assert token["token"].startswith("vgl_")
    assert token["token"].startswith(token["hint"])
    listing = as_admin.get("/api/tokens")
    (listed,) = [t for t in listing.json() if t["id"] == token["id"]]
    assert "token" not in listed
    assert token["token"] not in listing.text
    assert listed == {k: v for k, v in token.items() if k != "token"}


def test_a_token_works_as_a_bearer_credential(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    token = new_token(as_admin, "nurse")
    me = bearer(token["token"]).get("/api/auth/me")
    assert me.status_code == 200, me.text
    assert me.json() == {
        "kind": "token",
        "name": token["name"],
        "role": "nurse",
        "display_name": None,
        "must_change_password": False,
    }


def test_a_new_tokens_first_request_may_be_a_write(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    # Its first use records last_used_at; that must not wait on the request's own write lock.
    session = new_session(as_admin)
    gateway = bearer(new_token(as_admin, "staff")["token"])
    assert post_reading(gateway, session["id"], heart_rate=77).status_code == 201


def test_using_a_token_records_when_it_was_last_used(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    token = new_token(as_admin, "staff")
    assert token["last_used_at"] is None
    bearer(token["token"]).get("/api/vitals")
    (listed,) = [t for t in as_admin.get("/api/tokens").json() if t["id"] == token["id"]]
    assert listed["last_used_at"] is not None


def test_a_revoked_token_stops_working(
    as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    token = new_token(as_admin, "staff")
    gateway = bearer(token["token"])
    assert gateway.get("/api/sessions").status_code == 200
    revoked = as_admin.delete(f"/api/tokens/{token['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert gateway.get("/api/sessions").status_code == 401


def test_revoking_an_unknown_token_is_404(as_admin: TestClient) -> None:
    assert as_admin.delete("/api/tokens/987654321").status_code == 404


def test_a_duplicate_token_name_is_409(as_admin: TestClient) -> None:
    token = new_token(as_admin, "staff")
    response = as_admin.post("/api/tokens", json={"name": token["name"], "role": "nurse"})
    assert response.status_code == 409, response.text
    assert token["name"] in message(response)
