"""The pages themselves, as served."""

import re

from fastapi.testclient import TestClient


def test_the_sign_in_form_can_never_send_the_password_in_the_address(
    client: TestClient,
) -> None:
    page = client.get("/login").text
    assert 'method="post"' in page
    assert re.search(r'<button[^>]*id="login-submit"[^>]*disabled', page)
