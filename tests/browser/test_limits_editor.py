"""Adjusting a session's alarm limits on its page: a keyboard-driven dialog that sends only
what changed, shows the server's refusal next to the vital, and redraws the table."""

from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenSession
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SYSTOLIC_ABOVE_MEDIUM = "#limits-edit-systolic-above-medium"
SYSTOLIC_ABOVE_HIGH = "#limits-edit-systolic-above-high"


def systolic_above(client: httpx.Client, session_id: int, phase: str) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/limits")
    assert response.status_code == 200, response.text
    bound: dict[str, Any] = response.json()["effective"]["phases"][phase]["vitals"]["systolic"][
        "above"
    ]
    return bound


def retype(page: Page, value: str) -> None:
    """Replace the focused input's value with the keyboard."""
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(value)


def test_a_nurse_raises_a_limit_with_the_keyboard_and_a_refusal_shows_beside_the_vital(
    open_session: OpenSession, nurse_api: httpx.Client
) -> None:
    session = new_session(nurse_api)
    sid, phase = session["id"], session["phase"]
    page = open_session(sid)
    systolic_row = page.locator("#limits-body tr[data-vital='systolic']")
    expect(systolic_row).to_contain_text("> 160")
    expect(page.locator("#limits-changed")).to_be_hidden()

    # Open the dialog from the keyboard: focus lands on the first input, prefilled.
    button = page.locator("#limits-adjust")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#limits-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#limits-edit-heart_rate-below-high")).to_be_focused()
    expect(page.get_by_label("Systolic BP: medium priority above (mmHg)")).to_have_value("160")

    # Heart rate's five inputs, then systolic's two "below" ones.
    for _ in range(7):
        page.keyboard.press("Tab")
    expect(page.locator(SYSTOLIC_ABOVE_MEDIUM)).to_be_focused()
    retype(page, "200")
    page.keyboard.press("Enter")  # submits with high still 180: refused

    error = dialog.locator("tr[data-error-for='systolic'] .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("medium 200, high 180")
    expect(page.locator(SYSTOLIC_ABOVE_MEDIUM)).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("tr[data-error-for='heart_rate']")).to_be_hidden()
    assert systolic_above(nurse_api, sid, phase) == {"medium": 160, "high": 180}

    # Raise the high limit too and save with Enter.
    page.locator(SYSTOLIC_ABOVE_HIGH).focus()
    retype(page, "220")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(systolic_row).to_contain_text("> 200")
    expect(systolic_row).to_contain_text("> 220")
    expect(page.locator("#limits-changed")).to_contain_text("Limits changed by")
    assert systolic_above(nurse_api, sid, phase) == {"medium": 200, "high": 220}
    overrides = nurse_api.get(f"/api/sessions/{sid}/limits").json()["overrides"]
    assert overrides == {phase: {"systolic": {"above": {"medium": 200, "high": 220}}}}

    # 190 was a medium alarm on measurement under the profile; now it is within limits.
    response = post_reading(nurse_api, sid, systolic=190, diastolic=85)
    assert response.status_code == 201, response.text
    alerts = nurse_api.get(f"/api/sessions/{sid}/alerts")
    assert alerts.status_code == 200, alerts.text
    assert not [a for a in alerts.json() if a["condition"].startswith("systolic")]
    nurse_api.post(
        f"/api/sessions/{sid}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
