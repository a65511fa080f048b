"""The pages themselves, as served."""

import re

from fastapi.testclient import TestClient


def test_the_sign_in_form_can_never_send_the_password_in_the_address(
    client: TestClient,
) -> None:
    page = client.get("/login").text
    assert 'method="post"' in page
    assert re.search(r'<button[^>]*id="login-submit"[^>]*disabled', page)


def test_the_limits_page_is_served_with_its_own_script_and_styles(client: TestClient) -> None:
    response = client.get("/limits")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/static/js/limits-admin.js"></script>' in page
    assert 'href="/static/css/limits-admin.css"' in page
    assert '<a href="/limits" aria-current="page">Limits</a>' in page
    # The page's script is a file of its own: the CSP allows no inline script or handler.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert client.get("/static/js/limits-admin.js").status_code == 200


def test_the_trainer_console_is_served_with_its_own_script_and_styles(client: TestClient) -> None:
    response = client.get("/trainer")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/static/js/trainer.js"></script>' in page
    assert 'href="/static/css/trainer.css"' in page
    assert '<a href="/trainer" aria-current="page">Trainer</a>' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert re.search(r"\sstyle=", page) is None
    for module in ("trainer.js", "sim-card.js", "sim-events.js"):
        assert client.get(f"/static/js/{module}").status_code == 200
