"""A page whose sign-in ends while it watches the live stream goes to sign-in by itself."""

import time
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import sign_in, wait_until_live
from tests.conftest import LiveServer
from tests.helpers import new_session

pytestmark = pytest.mark.browser


def test_signing_out_elsewhere_sends_a_watching_page_to_sign_in(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client, tmp_path: Path
) -> None:
    session = new_session(nurse_api)
    sign_in(page, live_server.url)  # a sign-in of the page's own
    page.goto(f"{live_server.url}/sessions/{session['id']}")
    wait_until_live(page)

    # Signed out by another tab of the same browser: the page makes no request of its own, but
    # the server ends its stream (4401) and the page does not retry.
    response = page.context.request.post(f"{live_server.url}/api/auth/logout")
    assert response.ok, response.text()
    started = time.monotonic()
    page.wait_for_url(f"**/login?next=%2Fsessions%2F{session['id']}", timeout=5000)
    assert time.monotonic() - started < 5
    page.screenshot(path=tmp_path / "signed-out.png")
