"""axe-core over the main pages, as each role sees them with live data: no serious or critical
WCAG 2.1 AA violation. Tablet size too, since readings are entered at the chair."""

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import (
    DESKTOP,
    api_client,
    sign_in,
    wait_until_live,
)
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

TABLET: ViewportSize = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def ward(live_server: LiveServer) -> dict[str, int]:
    """A real session with readings and a high alarm, and a simulated one."""
    with api_client(live_server.url, Role.ADMIN) as admin:
        real = new_session(admin)
        for values in (
            {"heart_rate": 78, "systolic": 124, "diastolic": 80, "spo2": 97},
            {"respiratory_rate": 14, "temperature": 36.8, "consciousness": "A", "sedation": 5},
            {"on_oxygen": False, "systolic": 188, "diastolic": 96},
        ):
            assert post_reading(admin, real["id"], **values).status_code == 201
        simulated = new_session(admin, simulated=True)
        assert post_reading(admin, simulated["id"], heart_rate=90, spo2=96).status_code == 201
    return {"real": real["id"], "simulated": simulated["id"]}


@pytest.fixture(params=["desktop", "tablet"])
def a11y_page(request: pytest.FixtureRequest, page: Page) -> Page:
    page.set_viewport_size(DESKTOP if request.param == "desktop" else TABLET)
    page.set_default_timeout(8000)
    return page


def check(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}:\n{describe(violations)}"


def test_sign_in_page(a11y_page: Page, live_server: LiveServer) -> None:
    a11y_page.goto(f"{live_server.url}/login")
    expect(a11y_page.locator("button[type=submit]")).to_be_enabled()
    check(a11y_page)


def test_ward(a11y_page: Page, live_server: LiveServer, ward: dict[str, int]) -> None:
    sign_in(a11y_page, live_server.url, Role.NURSE)
    a11y_page.goto(f"{live_server.url}/ward")
    expect(a11y_page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(a11y_page.locator(f".tile[data-session-id='{ward['real']}']")).to_be_visible()
    check(a11y_page)


def test_session_page(a11y_page: Page, live_server: LiveServer, ward: dict[str, int]) -> None:
    sign_in(a11y_page, live_server.url, Role.NURSE)
    a11y_page.goto(f"{live_server.url}/sessions/{ward['real']}")
    wait_until_live(a11y_page)
    check(a11y_page)


def test_simulated_session_page(
    a11y_page: Page, live_server: LiveServer, ward: dict[str, int]
) -> None:
    sign_in(a11y_page, live_server.url, Role.STAFF)
    a11y_page.goto(f"{live_server.url}/sessions/{ward['simulated']}")
    wait_until_live(a11y_page)
    check(a11y_page)


def test_limits_page(a11y_page: Page, live_server: LiveServer) -> None:
    sign_in(a11y_page, live_server.url, Role.ADMIN)
    a11y_page.goto(f"{live_server.url}/limits")
    expect(a11y_page.locator("main")).to_be_visible()
    a11y_page.wait_for_load_state("networkidle")
    check(a11y_page)


def test_trainer_console(a11y_page: Page, live_server: LiveServer) -> None:
    sign_in(a11y_page, live_server.url, Role.TRAINER)
    a11y_page.goto(f"{live_server.url}/trainer")
    a11y_page.wait_for_load_state("networkidle")
    check(a11y_page)


def test_session_report(a11y_page: Page, live_server: LiveServer, ward: dict[str, int]) -> None:
    sign_in(a11y_page, live_server.url, Role.NURSE)
    response = a11y_page.goto(f"{live_server.url}/api/sessions/{ward['real']}/report")
    assert response is not None and response.ok
    check(a11y_page)


def test_the_check_catches_a_planted_violation(page: Page, live_server: LiveServer) -> None:
    """The check above is only worth something if it can fail."""
    page.goto(f"{live_server.url}/login")
    page.evaluate(
        """() => {
            const button = document.createElement("button");  // no name for a screen reader
            button.innerHTML = "<svg width='20' height='20'></svg>";
            document.querySelector("main").append(button);
        }"""
    )
    assert "button-name" in {v["id"] for v in axe_violations(page)}
