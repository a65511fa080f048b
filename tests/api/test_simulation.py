"""Simulated sessions run by the server: their readings take the normal ingest path (stored,
alarmed, streamed), trainers steer them live, and a restart resumes them without losing or
repeating a reading."""

import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.readings.models import Reading
from backend.simulation import runner
from backend.simulation.models import SimulationRun
from backend.simulation.service import reading_id
from tests.api.alert_support import default_limits, new_profile, open_alarm, wait_for
from tests.api.support import errors, parse_time
from tests.api.test_alerts_timers import own_database, running
from tests.helpers import chair_named, readings_of

Simulation = dict[str, Any]


@pytest.fixture
def simulations(as_trainer: TestClient) -> Iterator[list[Simulation]]:
    """Simulations a test starts, stopped afterwards so no later test plays them too."""
    started: list[Simulation] = []
    yield started
    for simulation in started:
        as_trainer.post(f"/api/simulations/{simulation['session_id']}/stop")


# A baseline within the pre-dose gate, which the simulator meets as a nurse must: a random seed
# is above it about once in twenty, and such a run ends at the gate.
WITHIN_GATE = {"systolic": 118, "diastolic": 74}


def start(client: TestClient, started: list[Simulation], **fields: Any) -> Simulation:
    body = {
        "scenario": "routine_infusion",
        "chair_id": chair_named(client),
        "patient": WITHIN_GATE,
        **fields,
    }
    response = client.post("/api/simulations", json=body)
    assert response.status_code == 201, response.text
    simulation: Simulation = response.json()
    started.append(simulation)
    return simulation


def state(client: TestClient, session_id: int) -> Simulation:
    response = client.get(f"/api/simulations/{session_id}")
    assert response.status_code == 200, response.text
    simulation: Simulation = response.json()
    return simulation


def test_the_packaged_scenarios_are_listed_with_what_a_trainer_needs(
    as_nurse: TestClient,
) -> None:
    response = as_nurse.get("/api/simulations/scenarios")
    assert response.status_code == 200, response.text
    scenarios = {s["name"]: s for s in response.json()}
    for name in (
        "routine_infusion",
        "hypertensive_surge",
        "tachycardia",
        "desaturation",
        "vasovagal",
        "sensor_off",
        "cuff_failure",
        "esketamine_nasal",
    ):
        assert scenarios[name]["title"]
        assert scenarios[name]["description"]
    assert scenarios["routine_infusion"]["regimen"] == "ketamine 0.5 mg/kg IV over 40 min"
    assert scenarios["hypertensive_surge"]["events"][0]["kind"] == "hypertensive_surge"
    assert scenarios["hypertensive_surge"]["gate_override"].startswith(
        "Dr A. Example (prescriber): "
    )
    assert scenarios["routine_infusion"]["gate_override"] is None


def test_a_simulation_started_part_way_in_has_history_and_is_marked_simulated_everywhere(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    simulation = start(as_trainer, simulations, start_at_min=12, seed=3, speed=1)
    sid = simulation["session_id"]
    assert (simulation["simulated"], simulation["status"], simulation["seed"]) == (
        True,
        "running",
        3,
    )
    history = wait_for(lambda: len(readings_of(as_trainer, sid)) > 600 and 1, what="history")
    assert history
    items = readings_of(as_trainer, sid)
    # Devices feed as the simulator; the simulated nurse's observation rounds (every 15 min,
    # from the start) are entered by hand, so they never count as a monitor's feed.
    rounds = [r for r in items if r["sedation"] is not None]
    assert [r["source"] for r in rounds] == ["manual"]
    assert rounds[0]["consciousness"] == "A" and rounds[0]["on_oxygen"] is False
    assert {r["source"] for r in items if r["sedation"] is None} == {"simulator"}
    assert all(r["entered_by"].startswith("simulator (") for r in items)
    taken = [r["taken_at"] for r in items]
    assert taken == sorted(taken)
    assert {"systolic", "heart_rate", "spo2"} <= {k for r in items for k, v in r.items() if v}

    session = as_trainer.get(f"/api/sessions/{sid}").json()
    assert session["simulated"] is True
    assert session["phase"] == "infusing"  # the timeline started dosing at 10 minutes
    changes = [(c["to_phase"], c["note"]) for c in session["phase_changes"]]
    assert ("infusing", "scenario timeline") in changes
    assert session["drug"] == "ketamine" and session["route"] == "iv"


def test_a_trainer_chooses_the_patient_and_the_seed_draws_the_rest(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    chosen = {"age": 72, "weight_kg": 60, "systolic": 152, "diastolic": 92}
    simulation = start(as_trainer, simulations, patient=chosen, seed=8)
    assert {k: simulation["patient"][k] for k in chosen} == chosen
    assert 35 <= simulation["patient"]["heart_rate"] <= 150  # drawn
    session = as_trainer.get(f"/api/sessions/{simulation['session_id']}").json()
    assert (session["weight_kg"], session["planned_dose_mg"]) == (60, 30)  # 0.5 mg/kg

    body = {"scenario": "routine_infusion", "chair": "Sim p", "patient": {"age": 5}}
    response = as_trainer.post("/api/simulations", json=body)
    assert [e["loc"] for e in errors(response)] == [["body", "patient", "age"]]
    body["patient"] = {"systolic": 100, "diastolic": 95}
    response = as_trainer.post("/api/simulations", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in errors(response)] == [["body", "patient"]]
    assert "diastolic" in response.json()["message"]


def test_the_same_scenario_and_seed_give_the_same_readings(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    first = start(as_trainer, simulations, seed=11, start_at_min=3)
    second = start(as_trainer, simulations, seed=11, start_at_min=3)

    def history(sid: int) -> list[tuple[Any, ...]]:
        """The first 170 s, as (seconds from the first reading, values): readings taken at
        the same second are listed by id, which differs between sessions, so sorted here."""
        items = readings_of(as_trainer, sid)
        start = parse_time(items[0]["taken_at"])
        return sorted(
            (
                round((parse_time(r["taken_at"]) - start).total_seconds()),
                *(r[v] or 0 for v in ("heart_rate", "spo2", "systolic", "diastolic")),
            )
            for r in items
            if (parse_time(r["taken_at"]) - start).total_seconds() < 170
        )

    def has_history(sid: int) -> bool:
        return len(readings_of(as_trainer, sid)) > 160

    for sid in (first["session_id"], second["session_id"]):
        wait_for(partial(has_history, sid), what="history")
    ours = history(first["session_id"])
    assert len(ours) > 150
    assert ours == history(second["session_id"])


def test_a_trainer_steering_spo2_down_raises_the_alarm_a_nurse_sees(
    as_trainer: TestClient, as_nurse: TestClient, simulations: list[Simulation]
) -> None:
    simulation = start(as_trainer, simulations, speed=10)
    sid = simulation["session_id"]
    steer = {"kind": "steer", "vital": "spo2", "target": 84, "over_s": 5}
    response = as_trainer.post(f"/api/simulations/{sid}/events", json=steer)
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["kind"] == "steer"
    assert response.json()["events"][0]["by"] == "test-trainer"
    # The SpO2 rule's delay (10 s at high priority) is wall time, whatever the speed.
    alarm = wait_for(open_alarm(as_nurse, sid, "spo2.below"), timeout=20, what="SpO2 alarm")
    assert alarm["priority"] == "high"
    assert alarm["simulated"] is True


def test_an_event_sent_at_once_after_a_start_part_way_in_happens_then_not_in_the_history(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    sid = start(as_trainer, simulations, start_at_min=20)["session_id"]
    response = as_trainer.post(f"/api/simulations/{sid}/events", json={"kind": "sensor_off"})
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["at_s"] >= 20 * 60
    assert response.json()["position_s"] >= 20 * 60


def test_a_bad_event_is_422_naming_the_field(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    sid = start(as_trainer, simulations)["session_id"]
    response = as_trainer.post(
        f"/api/simulations/{sid}/events", json={"kind": "desaturation", "colour": "blue"}
    )
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in errors(response)] == [["body", "colour"]]
    response = as_trainer.post(
        f"/api/simulations/{sid}/events", json={"kind": "steer", "vital": "spo2", "target": 300}
    )
    assert response.status_code == 422, response.text
    assert "target for spo2" in response.json()["message"]
    response = as_trainer.post(f"/api/simulations/{sid}/events", json={"kind": "explode"})
    assert response.status_code == 422, response.text


def test_a_bad_scenario_file_is_422_naming_the_line_or_the_field(
    as_trainer: TestClient,
) -> None:
    body = {"chair": "Sim bad", "scenario_toml": 'title = "x"\n[regimen\ndrug = "ketamine"\n'}
    response = as_trainer.post("/api/simulations", json=body)
    assert response.status_code == 422, response.text
    assert "line 2" in response.json()["message"]
    assert [e["loc"] for e in errors(response)] == [["body", "scenario_toml"]]
    body["scenario_toml"] = (
        'title = "x"\n[regimen]\ndrug = "ketamine"\n[timeline]\nbaseline_min = -5\n'
    )
    response = as_trainer.post("/api/simulations", json=body)
    assert response.status_code == 422, response.text
    assert "timeline.baseline_min" in response.json()["message"]
    response = as_trainer.post("/api/simulations", json={"chair": "Sim x", "scenario": "nope"})
    assert response.status_code == 422, response.text
    assert "routine_infusion" in response.json()["message"]  # says what there is
    response = as_trainer.post("/api/simulations", json={"chair": "Sim x"})
    assert response.status_code == 422, response.text


class Wall:
    """The simulation runner's monotonic clock, which a test moves on instead of waiting."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


def test_pausing_holds_the_patients_time_and_resuming_and_speed_move_it_on(
    as_trainer: TestClient, simulations: list[Simulation], monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = Wall()
    monkeypatch.setattr(runner, "time", wall)
    sid = start(as_trainer, simulations, speed=20)["session_id"]
    wall.ahead += 1  # a second at 20 times: 20 simulated seconds
    assert state(as_trainer, sid)["position_s"] >= 20
    paused = as_trainer.post(f"/api/simulations/{sid}/control", json={"paused": True}).json()
    assert paused["paused"] is True
    held = state(as_trainer, sid)["position_s"]
    wall.ahead += 60  # a minute paused
    assert state(as_trainer, sid)["position_s"] == held
    fast = as_trainer.post(f"/api/simulations/{sid}/control", json={"paused": False, "speed": 60})
    assert (fast.json()["paused"], fast.json()["speed"]) == (False, 60)
    wall.ahead += 1  # a second at 60 times
    assert state(as_trainer, sid)["position_s"] >= held + 60
    too_fast = as_trainer.post(f"/api/simulations/{sid}/control", json={"speed": 61})
    assert too_fast.status_code == 422


def test_stopping_ends_the_session_and_the_run(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    sid = start(as_trainer, simulations)["session_id"]
    stopped = as_trainer.post(f"/api/simulations/{sid}/stop")
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["status"], stopped.json()["phase"]) == ("stopped", "stopped")
    response = as_trainer.post(f"/api/simulations/{sid}/events", json={"kind": "sensor_off"})
    assert response.status_code == 409, response.text


def test_a_nurse_ending_the_session_ends_its_simulation(
    as_trainer: TestClient, as_nurse: TestClient, simulations: list[Simulation]
) -> None:
    sid = start(as_trainer, simulations)["session_id"]
    response = as_nurse.post(
        f"/api/sessions/{sid}/phase", json={"phase": "stopped", "note": "a test ends it"}
    )
    assert response.status_code == 200, response.text
    wait_for(lambda: state(as_trainer, sid)["status"] == "stopped", what="the run to stop")


@pytest.mark.parametrize("role", [Role.NURSE, Role.STAFF])
def test_only_trainers_and_admins_run_simulations(
    as_role: Any, role: Role, simulations: list[Simulation], as_trainer: TestClient
) -> None:
    client = as_role(role)
    response = client.post("/api/simulations", json={"scenario": "routine_infusion", "chair": "X"})
    assert response.status_code == 403, response.text
    sid = start(as_trainer, simulations)["session_id"]
    assert client.post(f"/api/simulations/{sid}/stop").status_code == 403
    assert client.get(f"/api/simulations/{sid}").status_code == 200


def test_a_restart_resumes_the_run_with_no_reading_lost_or_stored_twice(tmp_path: Path) -> None:
    with own_database(tmp_path) as (settings, tokens):
        fast = {"simulation_tick_seconds": 0.05}
        with running(settings, tokens[Role.TRAINER], **fast) as before:
            chair_named(before, "Sim R")
            body = {"scenario": "routine_infusion", "chair": "Sim R", "speed": 60, "seed": 4}
            response = before.post("/api/simulations", json=body)
            assert response.status_code == 201, response.text
            sid = response.json()["session_id"]
            wait_for(lambda: state(before, sid)["position_s"] > 120, what="two minutes")
        stored_before = _stored(settings, sid)
        assert stored_before["readings"] == stored_before["sent"] > 0

        with running(settings, tokens[Role.TRAINER], **fast) as after:
            wait_for(
                lambda: _stored(settings, sid)["sent"] > stored_before["sent"] + 50,
                what="the run to go on after the restart",
                timeout=10,  # a new process claims the run, then catches up: slow under load
            )
            after.post(f"/api/simulations/{sid}/stop")
        stored = _stored(settings, sid)
    # Every reading the simulation produced is stored once, under its own id, in order.
    assert stored["readings"] == stored["sent"]
    assert stored["ids"] == {str(reading_id(sid, i)) for i in range(stored["sent"])}
    assert stored["position"] > stored_before["position"]


def _stored(settings: Settings, session_id: int) -> dict[str, Any]:
    database = Database(settings.database_url)
    try:
        with database.unit_of_work(write=False) as db:
            run = db.get(SimulationRun, session_id)
            assert run is not None
            ids = set(db.scalars(select(Reading.id).where(Reading.session_id == session_id)))
            count = db.scalar(
                select(func.count()).select_from(Reading).where(Reading.session_id == session_id)
            )
            return {
                "readings": count,
                "sent": run.readings_sent,
                "ids": {str(i) for i in ids},
                "position": run.position_s,
            }
    finally:
        database.dispose()


SHORT_KETAMINE = """
title = "Short test infusion"
description = "A minute of baseline, five of dosing, two of recovery: too short to discharge."
[regimen]
drug = "ketamine"
duration_min = 5
[timeline]
baseline_min = 1
recovery_min = 2
[devices]
cuff_interval_min = 1
observation_round_min = 0
spontaneous_artefacts = false
"""


# A patient of the short scenario whose pressure stays below the high alarms: a drawn one may
# reach a diastolic of 111, whose open high alarm holds any discharge (as it should).
SEED_WITHOUT_HIGH_ALARMS = 3


def _last_change(client: TestClient, sid: int) -> dict[str, Any]:
    change: dict[str, Any] = client.get(f"/api/sessions/{sid}").json()["phase_changes"][-1]
    return change


def test_the_scenario_timeline_is_held_to_the_protocol_and_a_refusal_says_why(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    # The scenario's 2 minutes of recovery are far below the minimum observation (judged on the
    # patient's simulated time, whatever the speed), so the discharge is refused like anyone's
    # would be. The run ends and the session says why, for the trainer and the trainees.
    sid = start(as_trainer, simulations, scenario=None, scenario_toml=SHORT_KETAMINE, speed=60)[
        "session_id"
    ]
    wait_for(
        lambda: state(as_trainer, sid)["status"] != "running", what="the run to end", timeout=20
    )
    assert state(as_trainer, sid)["status"] == "stopped"
    session = as_trainer.get(f"/api/sessions/{sid}").json()
    assert [c["to_phase"] for c in session["phase_changes"]] == [
        "baseline",
        "infusing",
        "recovery",
        "stopped",
    ]
    started = session["phase_changes"][1]["checklist"]
    assert {i["key"]: i["met"] for i in started["items"]}["baseline_bp"] is True
    note = _last_change(as_trainer, sid)["note"]
    assert note.startswith("Scenario timeline could not discharge. Cannot discharge yet. Not met: ")
    assert "Observed at least 60 min since dosing ended (2 of 60 simulated min observed" in note
    # The trainer console's view of the run carries the same reason.
    assert state(as_trainer, sid)["ended_because"] == note
    listed = {s["session_id"]: s for s in as_trainer.get("/api/simulations").json()}
    assert listed[sid]["ended_because"] == note


HYPERTENSIVE_SHORT = SHORT_KETAMINE.replace(
    "[regimen]", "[patient]\nsystolic = 178\ndiastolic = 104\nvariability = 0.0\n[regimen]"
)
SCRIPTED_OVERRIDE = HYPERTENSIVE_SHORT.replace(
    "recovery_min = 2",
    'recovery_min = 2\ngate_override = { by = "Dr A. Example", reason = "Known hypertension; '
    'reviewed, proceed" }',
)


def test_a_scenario_meets_the_pre_dose_gate_as_a_nurse_must(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    # Nothing overrides the gate on the scenario's behalf: a baseline above it refuses the
    # start like anyone's, and the run ends saying why (and how to rehearse going ahead).
    sid = start(
        as_trainer,
        simulations,
        scenario=None,
        scenario_toml=HYPERTENSIVE_SHORT,
        speed=60,
        seed=1,
        patient=None,  # the scenario's own patient, above the gate
    )["session_id"]
    wait_for(
        lambda: state(as_trainer, sid)["status"] != "running", what="the run to end", timeout=20
    )
    session = as_trainer.get(f"/api/sessions/{sid}").json()
    assert [c["to_phase"] for c in session["phase_changes"]] == ["baseline", "stopped"]
    assert session["gate_override_by"] is None
    note = _last_change(as_trainer, sid)["note"]
    assert note.startswith(
        "Scenario timeline could not start the infusion. Cannot start the infusion yet. "
        "Not met: Pre-dose gate passed or overridden (Baseline blood pressure above the "
        "pre-dose gate: systolic "
    )
    assert "a clinician must override with a reason" in note
    assert "script gate_override in the scenario's [timeline]" in note
    assert state(as_trainer, sid)["ended_because"] == note


def test_a_scenario_that_scripts_the_override_starts_with_its_name_and_reason(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    sid = start(
        as_trainer,
        simulations,
        scenario=None,
        scenario_toml=SCRIPTED_OVERRIDE,
        speed=60,
        seed=1,
        patient=None,  # the scenario's own patient, above the gate
    )["session_id"]

    def started() -> dict[str, Any] | None:
        session: dict[str, Any] = as_trainer.get(f"/api/sessions/{sid}").json()
        return session if session["gate_override_by"] else None

    session = wait_for(started, what="the start of dosing", timeout=20)
    assert (session["gate_override_by"], session["gate_override_username"]) == (
        "Dr A. Example",
        None,
    )
    assert session["gate_override_reason"] == "Known hypertension; reviewed, proceed"
    assert session["gate_override_entered_by"] == "simulator (test-trainer)"
    change = next(c for c in session["phase_changes"] if c["to_phase"] == "infusing")
    kept = {i["key"]: i for i in change["checklist"]["items"]}
    assert (kept["pre_dose_gate"]["met"], kept["pre_dose_gate"]["attention"]) == (True, True)
    assert kept["pre_dose_gate"]["detail"].endswith(
        "overridden by Dr A. Example: Known hypertension; reviewed, proceed"
    )


def test_a_packaged_scenario_plays_to_discharge_through_the_same_checklist(
    as_trainer: TestClient, simulations: list[Simulation]
) -> None:
    # Started a few seconds before its end, the scenario's history (at real speed) gives the
    # record its full observation time; the discharge passes the same checklist a nurse's does.
    simulation = start(as_trainer, simulations, seed=5, speed=60, start_at_min=139.8)
    sid = simulation["session_id"]
    wait_for(lambda: state(as_trainer, sid)["status"] != "running", what="discharge", timeout=60)
    assert state(as_trainer, sid)["status"] == "finished"
    discharge = _last_change(as_trainer, sid)
    assert discharge["to_phase"] == "discharged" and discharge["note"] == "scenario timeline"
    judged = {i["key"]: i for i in discharge["checklist"]["items"]}
    assert discharge["checklist"]["confirmed"] is False
    assert all(judged[key]["met"] is True for key in ("min_observation", "bp_recent", "alert"))
    assert judged["alert"]["detail"] == "ACVPU A, MOAA/S 5"  # the simulated nurse's rounds
    assert judged["no_open_high_alarm"]["met"] is True
    assert state(as_trainer, sid)["ended_because"] is None


def _short_run_at_60x(
    trainer: TestClient, admin: TestClient, simulations: list[Simulation], recovery_min: int
) -> int:
    """The short scenario at 60x with `recovery_min` of recovery, over a profile asking for 3
    minutes of observation and no alertness rounds (the short scenario has none)."""
    limits = default_limits(admin)
    limits["discharge"]["min_observation_min"] = 3
    limits["discharge"]["require_alertness"] = False
    profile = new_profile(admin, limits)
    toml = SHORT_KETAMINE.replace("recovery_min = 2", f"recovery_min = {recovery_min}")
    simulation = start(
        trainer,
        simulations,
        scenario=None,
        scenario_toml=toml,
        speed=60,
        limit_profile_id=profile["id"],
        seed=SEED_WITHOUT_HIGH_ALARMS,
    )
    session_id: int = simulation["session_id"]
    return session_id


def test_at_60x_the_observation_is_judged_on_the_patients_simulated_time(
    as_trainer: TestClient, as_admin: TestClient, simulations: list[Simulation]
) -> None:
    # A profile asking for 3 minutes of observation; the scenario observes 4. At 60x the record
    # holds 4 wall seconds of recovery, yet the patient was observed 4 simulated minutes: the
    # discharge passes, saying so.
    sid = _short_run_at_60x(as_trainer, as_admin, simulations, recovery_min=4)
    wait_for(
        lambda: state(as_trainer, sid)["status"] != "running", what="the run to end", timeout=30
    )
    assert state(as_trainer, sid)["status"] == "finished", _last_change(as_trainer, sid)["note"]
    session = as_trainer.get(f"/api/sessions/{sid}").json()
    recovery, discharge = session["phase_changes"][-2:]
    assert (recovery["to_phase"], discharge["to_phase"]) == ("recovery", "discharged")
    on_record = parse_time(discharge["at"]) - parse_time(recovery["at"])
    assert on_record.total_seconds() < 60  # the record's clock: a sixtieth of the patient's
    judged = {i["key"]: i for i in discharge["checklist"]["items"]}
    assert judged["min_observation"]["met"] is True
    assert judged["min_observation"]["detail"] == "4 simulated min observed (minimum 3)"


def test_a_trainee_discharging_at_60x_is_judged_on_the_patients_simulated_time(
    as_trainer: TestClient,
    as_admin: TestClient,
    simulations: list[Simulation],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The scenario would observe for 30 minutes; the trainee discharges after 4 simulated ones
    # (4 wall seconds at 60x), over a profile asking for 3. The record's clock holds seconds of
    # recovery, the patient's holds minutes: the trainee is held to the patient's, as the
    # scenario's own discharge is.
    wall = Wall()
    monkeypatch.setattr(runner, "time", wall)
    sid = _short_run_at_60x(as_trainer, as_admin, simulations, recovery_min=30)
    wall.ahead += 6 + 4  # a minute of baseline, five of dosing, four of recovery: at 60x
    wait_for(
        lambda: as_trainer.get(f"/api/sessions/{sid}").json()["phase"] == "recovery",
        what="the scenario to end dosing",
        timeout=20,
    )
    wait_for(
        lambda: state(as_trainer, sid)["position_s"] >= 600, what="the run to catch up", timeout=20
    )
    judged = as_trainer.get(f"/api/sessions/{sid}/checklist", params={"to": "discharged"}).json()
    item = {i["key"]: i for i in judged["items"]}["min_observation"]
    assert item["met"] is True, item
    assert re.fullmatch(r"\d+ simulated min observed \(minimum 3\)", item["detail"]), item
    ticks = {i["key"]: True for i in judged["items"] if i["kind"] == "manual"}
    response = as_trainer.post(
        f"/api/sessions/{sid}/phase", json={"phase": "discharged", "checklist": ticks}
    )
    assert response.status_code == 200, response.text
    kept = {i["key"]: i for i in response.json()["phase_changes"][-1]["checklist"]["items"]}
    assert "simulated min observed" in kept["min_observation"]["detail"]
