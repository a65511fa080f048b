"""What the alarm tests share: the page's alarm sound as it reports itself, unlocking it as a
nurse's first click does, and a blood pressure that alarms HIGH at once."""

from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect

from tests.helpers import post_reading

REAL_HIGH_HZ = 784  # alarm-sound.js PATTERNS.high.frequency


def sound(page: Page) -> dict[str, Any]:
    """What the page's alarm sound is doing (alarm-sound.js exposes its state for tests)."""
    state: dict[str, Any] = page.evaluate("() => window.__vigilAlarmSound.snapshot()")
    return state


def enable_sound(page: Page) -> None:
    page.get_by_role("button", name="Enable alarm sound").click()
    expect(page.locator("#sound-banner")).to_be_hidden()
    assert sound(page)["unlocked"]


def high_bp(client: httpx.Client, session_id: int) -> None:
    """A systolic of 190 alarms HIGH on measurement (no delay)."""
    response = post_reading(client, session_id, systolic=190, diastolic=95)
    assert response.status_code == 201, response.text
