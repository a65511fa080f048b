"""A scenario whose phase change the protocol refuses ends, and the trainer console says why."""

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import api_client, sign_in
from tests.conftest import LiveServer
from tests.helpers import chair_named

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "shots"
TOO_SHORT = """
title = "Too short to discharge"
description = "Two minutes of recovery: the protocol refuses the discharge."
[regimen]
drug = "ketamine"
duration_min = 2
[timeline]
baseline_min = 1
recovery_min = 2
[devices]
cuff_interval_min = 1
spontaneous_artefacts = false
"""


@pytest.fixture
def trainer_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(live_server.url, Role.TRAINER) as client:
        yield client


def test_the_console_says_why_the_protocol_stopped_a_scenario(
    page: Page, live_server: LiveServer, trainer_api: httpx.Client
) -> None:
    chair = f"Sim {uuid.uuid4().hex[:6]}"
    chair_named(trainer_api, chair)
    # A baseline within the pre-dose gate, so the protocol refuses the discharge, not the start
    # (a random patient is above the gate about once in twenty).
    within_gate = {"systolic": 118, "diastolic": 74}
    body = {"scenario_toml": TOO_SHORT, "chair": chair, "speed": 60, "patient": within_gate}
    response = trainer_api.post("/api/simulations", json=body)
    assert response.status_code == 201, response.text
    sid = response.json()["session_id"]

    sign_in(page, live_server.url, Role.TRAINER)
    page.goto(f"{live_server.url}/trainer")
    row = page.locator(f"#ended-section tr[data-session-id='{sid}']")
    expect(row).to_have_attribute("data-status", "stopped", timeout=20_000)
    expect(row.locator(".ended-because")).to_contain_text(
        re.compile(r"^Scenario timeline could not discharge\. Cannot discharge yet\. Not met: ")
    )
    expect(row).to_contain_text("Observed at least 60 min since dosing ended")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#ended-section").screenshot(path=str(SHOTS / "trainer-refused.png"))
