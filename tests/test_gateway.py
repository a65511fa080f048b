"""`vigil simulate`: a scenario played into a server over HTTP like a device gateway, through a
server restart, with every reading stored exactly once."""

import io
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest

from backend.cli import main
from backend.core.roles import Role
from simulators import load_packaged
from simulators.gateway import Client, Gateway, reading_id
from tests.api.test_alerts_timers import own_database
from tests.conftest import LiveServer
from tests.helpers import chair_named


def test_the_gateway_keeps_readings_through_a_server_restart_and_stores_each_once(
    tmp_path: Path,
) -> None:
    with own_database(tmp_path) as (settings, tokens):
        server = LiveServer(settings)
        server.start()
        token = tokens[Role.TRAINER]
        out = io.StringIO()
        wall = [time.monotonic()]
        sleeps = 0

        def sleep(seconds: float) -> None:
            """The gateway's waits pass at once on its own clock; the server goes down at the
            third and is back at the sixth, so readings of several rounds wait in the gateway."""
            nonlocal sleeps
            sleeps += 1
            if sleeps == 3:
                server.stop()
            elif sleeps == 6:
                server.start()
            wall[0] += seconds

        gateway = Gateway(
            Client(server.url, token, timeout=2),
            load_packaged("routine_infusion"),
            seed=9,
            speed=60,
            out=out,
            sleep=sleep,
            monotonic=lambda: wall[0],
        )
        with httpx.Client(base_url=server.url) as setup:
            chair_named(setup, "Gateway chair")
        sid = gateway.create_session("Gateway chair", "Gateway patient")
        runner = threading.Thread(target=gateway.run, kwargs={"until_s": 15 * 60})
        runner.start()
        try:
            runner.join(timeout=60)
            assert not runner.is_alive()
            assert "server unreachable" in out.getvalue()
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}
            ) as api:
                items = []
                page = None
                while True:
                    params: dict[str, str | int] = {"limit": 1000}
                    if page:
                        params["page"] = page
                    body = api.get(f"/api/sessions/{sid}/readings", params=params).json()
                    items += body["items"]
                    page = body["next_page"]
                    if not page:
                        break
                session = api.get(f"/api/sessions/{sid}").json()
        finally:
            server.stop()
    ids = [r["id"] for r in items]
    assert len(ids) == len(set(ids)) == gateway.sent == gateway.stored
    assert set(ids) == {str(reading_id(sid, i)) for i in range(gateway.sent)}
    assert gateway.sent > 800  # about a reading a second for 15 simulated minutes
    assert session["simulated"] is True
    assert session["phase"] == "infusing"  # the scenario started dosing at 10 minutes
    # Devices as the simulator; the observation rounds as a person's entries.
    assert {r["source"] for r in items if r["sedation"] is None} == {"simulator"}
    assert {r["source"] for r in items if r["sedation"] is not None} == {"manual"}


def test_vigil_simulate_refuses_a_bad_speed_or_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["simulate", "--url", "http://127.0.0.1:9", "--token", "x", "--chair", "Chair 1"]
    with pytest.raises(SystemExit, match="--speed"):
        main([*base, "--scenario", "routine_infusion", "--speed", "100"])
    with pytest.raises(SystemExit, match="no such scenario"):
        main([*base, "--scenario", "nope"])


@pytest.mark.parametrize("name", ["routine_infusion", "hypertensive_surge"])
def test_the_gateway_overrides_the_pre_dose_gate_only_as_its_scenario_scripts(name: str) -> None:
    # Held to the gate like a nurse: only a scripted decision (who and why) goes with the start.
    scenario = load_packaged(name)
    gateway = Gateway(Client("http://127.0.0.1:9", "unused"), scenario, seed=1, out=io.StringIO())
    gateway.session_id = 1
    gateway.produce(scenario.dosing_start_s, datetime.now(UTC))
    (start,) = [item for kind, item in gateway.pending.items if kind == "phase"]
    assert start["phase"] == "infusing"
    scripted = scenario.timeline.gate_override
    if scripted is None:
        assert "override_gate" not in start
    else:
        assert start["override_gate"] == {"by": scripted.by, "reason": scripted.reason}
