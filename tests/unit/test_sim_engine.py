"""The simulation as a whole: deterministic, phased, and each event does what it says."""

import pytest

from simulators.devices import CUFF, OXIMETER
from simulators.engine import Simulation
from simulators.events import (
    CuffFailure,
    CuffMeasureNow,
    Desaturation,
    HypertensiveSurge,
    MotionArtefact,
    Release,
    SensorOff,
    SensorOn,
    Steer,
    Tachycardia,
    Vasovagal,
)
from simulators.outputs import Decision, SimNotice, SimOutput, SimPhase, SimReading
from simulators.patient import Patient
from simulators.scenario import Scenario, list_scenarios, load_packaged, parse_scenario

PATIENT = Patient(
    age=45,
    weight_kg=75,
    heart_rate=72,
    systolic=122,
    diastolic=76,
    spo2=98,
    respiratory_rate=14,
    temperature=36.7,
)
_QUIET_TOML = """
title = "Quiet"
[regimen]
drug = "ketamine"
[timeline]
baseline_min = 10
recovery_min = 20
[devices]
cuff_interval_min = 5
capnography = true
spontaneous_artefacts = false
"""
QUIET = parse_scenario(_QUIET_TOML, "quiet.toml")


def _readings(outputs: list[SimOutput], device: str, vital: str) -> list[int | float]:
    return [
        o.values[vital]
        for o in outputs
        if isinstance(o, SimReading) and o.device == device and vital in o.values
    ]


def _notices(outputs: list[SimOutput]) -> list[str]:
    return [o.message for o in outputs if isinstance(o, SimNotice)]


def _quiet(seed: int = 1) -> Simulation:
    return Simulation(QUIET, seed, patient=PATIENT)


def test_same_scenario_and_seed_give_identical_output() -> None:
    scenario = load_packaged("sensor_off")
    assert Simulation(scenario, 42).advance(1500) == Simulation(scenario, 42).advance(1500)


def test_output_does_not_depend_on_how_advance_is_chunked() -> None:
    scenario = load_packaged("sensor_off")  # scheduled events at 18 and 31 min
    whole = Simulation(scenario, 7).advance(2000)
    by_second = Simulation(scenario, 7)
    stepped = [o for t in range(1, 2001) for o in by_second.advance(float(t))]
    uneven = Simulation(scenario, 7)
    chunks = (0.4, 0.5, 17.3, 999.99, 1080, 1080.5, 1861, 2000)
    ragged = [o for t in chunks for o in uneven.advance(t)]
    assert stepped == whole
    assert ragged == whole


def test_live_triggers_are_deterministic_for_the_same_calls() -> None:
    def run() -> list[SimOutput]:
        sim = _quiet(3)
        outputs = sim.advance(300.5)
        sim.trigger(MotionArtefact(duration_s=30))
        outputs += sim.advance(700)
        sim.trigger(Tachycardia(), at_s=900)
        return outputs + sim.advance(1200)

    assert run() == run()


def test_different_seeds_give_different_patients_and_noise() -> None:
    scenario = load_packaged("routine_infusion")
    first, second = Simulation(scenario, 1), Simulation(scenario, 2)
    assert first.patient != second.patient
    assert first.advance(120) != second.advance(120)


def test_scenario_patient_overrides_are_applied() -> None:
    sim = Simulation(load_packaged("hypertensive_surge"), 5)
    assert (sim.patient.age, sim.patient.systolic, sim.patient.diastolic) == (61, 138, 86)


def test_phases_follow_the_timeline_and_the_session_finishes() -> None:
    sim = _quiet()
    outputs = sim.advance(10_000)
    phases = [(o.at_s, o.phase) for o in outputs if isinstance(o, SimPhase)]
    assert phases == [(600.0, "infusing"), (3000.0, "recovery"), (4200.0, "discharged")]
    assert outputs[-1] == SimPhase(4200.0, "discharged")
    assert sim.finished and sim.phase == "discharged"
    assert sim.advance(20_000) == []


def test_only_a_scripted_gate_override_goes_with_the_start_of_dosing() -> None:
    plain = [o for o in _quiet().advance(10_000) if isinstance(o, SimPhase)]
    assert all(o.gate_override is None for o in plain)
    scripted = parse_scenario(
        _QUIET_TOML.replace(
            "recovery_min = 20",
            'recovery_min = 20\ngate_override = { by = "Dr A. Example", reason = "reviewed" }',
        ),
        "scripted.toml",
    )
    phases = {
        o.phase: o
        for o in Simulation(scripted, 1, PATIENT).advance(10_000)
        if isinstance(o, SimPhase)
    }
    assert phases["infusing"].gate_override == Decision("Dr A. Example", "reviewed")
    assert phases["recovery"].gate_override is None is phases["discharged"].gate_override


def test_session_starts_in_baseline() -> None:
    sim = _quiet()
    assert (sim.phase, sim.now_s, sim.finished) == ("baseline", 0.0, False)
    sim.advance(599)
    assert sim.phase == "baseline"


def test_output_is_in_time_order_and_readings_are_valid_vitals() -> None:
    outputs = _quiet().advance(4200)
    times = [o.at_s for o in outputs]
    assert times == sorted(times)
    for reading in (o for o in outputs if isinstance(o, SimReading)):
        for vital, value in reading.values.items():
            assert isinstance(value, int), vital
        if "systolic" in reading.values:
            assert reading.values["diastolic"] < reading.values["systolic"]


@pytest.mark.parametrize("name", list_scenarios())
def test_every_packaged_scenario_plays_to_discharge_within_vigils_ranges(name: str) -> None:
    ranges = {
        "heart_rate": (0, 350),
        "systolic": (0, 350),
        "diastolic": (0, 300),
        "spo2": (0, 100),
        "respiratory_rate": (0, 100),
        "temperature": (25, 45),
    }
    sim = Simulation(load_packaged(name), 99)
    outputs = sim.advance(sim.end_s)
    assert sim.finished
    readings = [o for o in outputs if isinstance(o, SimReading)]
    assert readings
    for reading in readings:
        for vital, value in reading.values.items():
            low, high = ranges[vital]
            assert low <= value <= high
            assert isinstance(value, float if vital == "temperature" else int)


def test_time_cannot_go_back_and_events_cannot_be_in_the_past() -> None:
    sim = _quiet()
    sim.advance(100)
    with pytest.raises(ValueError, match="go back"):
        sim.advance(50)
    with pytest.raises(ValueError, match="cannot trigger at 10 s"):
        sim.trigger(CuffMeasureNow(), at_s=10)
    sim.advance(10_000)
    with pytest.raises(ValueError, match="ended"):
        sim.trigger(CuffMeasureNow())


def _between(outputs: list[SimOutput], start_s: float, end_s: float) -> list[SimOutput]:
    return [o for o in outputs if start_s <= o.at_s < end_s]


def test_hypertensive_surge_scenario_drives_systolic_past_160() -> None:
    sim = Simulation(load_packaged("hypertensive_surge"), 11)
    outputs = sim.advance(55 * 60)
    before = _readings(_between(outputs, 0, 26 * 60), CUFF, "systolic")
    during = _readings(_between(outputs, 33 * 60, 55 * 60), CUFF, "systolic")
    assert max(before) < 160
    assert max(during) > 160


def test_live_surge_raises_pressure_and_it_settles_again() -> None:
    sim = _quiet()
    sim.advance(300)
    sim.trigger(HypertensiveSurge(onset_s=120, duration_s=300, offset_s=120))
    sim.advance(300 + 200)
    assert sim.truth.systolic > 160
    sim.advance(300 + 540 + 600)
    assert sim.truth.systolic < 140


def test_tachycardia_raises_the_pulse_past_120() -> None:
    sim = _quiet()
    outputs = sim.advance(120)
    sim.trigger(Tachycardia())
    outputs += sim.advance(120 + 300)
    assert max(_readings(_between(outputs, 0, 120), OXIMETER, "heart_rate")) < 100
    assert min(_readings(_between(outputs, 240, 420), OXIMETER, "heart_rate")) > 120


def test_desaturation_drives_spo2_below_90_and_slows_breathing() -> None:
    sim = _quiet()
    outputs = sim.advance(120)
    sim.trigger(Desaturation())
    outputs += sim.advance(120 + 400)
    assert min(_readings(_between(outputs, 0, 120), OXIMETER, "spo2")) >= 94
    assert max(_readings(_between(outputs, 300, 420), OXIMETER, "spo2")) < 90
    assert max(_readings(_between(outputs, 300, 420), "capnograph", "respiratory_rate")) <= 9


def test_desaturation_scenario_reaches_below_90() -> None:
    outputs = Simulation(load_packaged("desaturation"), 4).advance(48 * 60)
    assert min(_readings(outputs, OXIMETER, "spo2")) < 90


def test_vasovagal_brings_bradycardia_and_hypotension() -> None:
    sim = _quiet()
    sim.advance(120)
    sim.trigger(Vasovagal())
    sim.trigger(CuffMeasureNow(), at_s=185)
    outputs = sim.advance(120 + 180)
    pulse = _readings(_between(outputs, 180, 250), OXIMETER, "heart_rate")
    assert max(pulse) < 50
    assert _readings(_between(outputs, 185, 300), CUFF, "systolic")[0] < 90


def test_vasovagal_scenario_measures_the_low_pressure() -> None:
    outputs = Simulation(load_packaged("vasovagal"), 8).advance(10 * 60)
    assert min(_readings(outputs, OXIMETER, "heart_rate")) < 50
    assert min(_readings(outputs, CUFF, "systolic")) < 90


def test_sensor_off_stops_oximeter_readings_until_it_is_back() -> None:
    sim = _quiet()
    outputs = sim.advance(100)
    sim.trigger(SensorOff())
    outputs += sim.advance(400)
    sim.trigger(SensorOn())
    outputs += sim.advance(460)
    assert _readings(_between(outputs, 90, 100), OXIMETER, "spo2")
    assert _readings(_between(outputs, 101, 401), OXIMETER, "spo2") == []
    assert _readings(_between(outputs, 401, 460), OXIMETER, "spo2")
    assert _notices(outputs) == ["SpO2 sensor off", "SpO2 sensor attached; searching for pulse"]
    # The rest of the monitor carries on.
    assert _readings(_between(outputs, 101, 401), CUFF, "systolic")


def test_cuff_failure_stops_blood_pressure_readings() -> None:
    sim = _quiet()
    outputs = sim.advance(100)
    sim.trigger(CuffFailure(duration_s=900))
    outputs += sim.advance(1300)
    during = _between(outputs, 101, 1000)
    assert _readings(during, CUFF, "systolic") == []
    assert _notices(during).count("cuff could not measure: check cuff and tubing") == 3
    assert _readings(_between(outputs, 1000, 1300), CUFF, "systolic")


def test_motion_artefact_blocks_the_cuff_and_disturbs_the_oximeter() -> None:
    sim = _quiet()
    sim.advance(299.5)
    sim.trigger(MotionArtefact(duration_s=40))
    outputs = sim.advance(345)
    assert "cuff could not measure: patient movement" in _notices(outputs)
    assert len(_readings(outputs, OXIMETER, "heart_rate")) < 40


def test_steer_reaches_its_target_and_holds_until_released() -> None:
    sim = _quiet()
    sim.advance(200)
    sim.trigger(Steer(vital="systolic", target=185, over_s=60))
    sim.advance(230)
    assert 122 < sim.truth.systolic < 185  # on its way, not jumped
    sim.advance(261)
    assert sim.truth.systolic == pytest.approx(185)
    sim.trigger(CuffMeasureNow())
    outputs = sim.advance(900)
    assert sim.truth.systolic == pytest.approx(185)
    assert all(abs(v - 185) <= 20 for v in _readings(_between(outputs, 262, 900), CUFF, "systolic"))
    sim.trigger(Release(vital="systolic", over_s=60))
    sim.advance(1000)
    assert sim.truth.systolic < 160


def test_steered_spo2_shows_on_the_oximeter() -> None:
    sim = _quiet()
    sim.advance(60)
    sim.trigger(Steer(vital="spo2", target=86, over_s=30))
    outputs = sim.advance(200)
    assert all(abs(v - 86) <= 2 for v in _readings(_between(outputs, 120, 200), OXIMETER, "spo2"))


def test_steering_the_pulse_above_240_defeats_the_cuff() -> None:
    sim = _quiet()
    sim.advance(10)
    sim.trigger(Steer(vital="heart_rate", target=250, over_s=0))
    outputs = sim.advance(60)
    assert _readings(outputs, CUFF, "systolic") == []
    assert "cuff could not measure: pulse out of range" in _notices(outputs)


def test_scheduled_events_from_a_scenario_fire() -> None:
    scenario: Scenario = load_packaged("cuff_failure")
    outputs = Simulation(scenario, 2).advance(56 * 60)
    failures = [o.at_s for o in outputs if isinstance(o, SimNotice) and "check cuff" in o.message]
    assert failures and min(failures) >= 30 * 60
    assert _readings(_between(outputs, 30 * 60 + 60, 55 * 60), CUFF, "systolic") == []


def test_plasma_level_rises_during_the_infusion() -> None:
    sim = _quiet()
    sim.advance(590)
    assert sim.plasma_ng_ml == 0
    sim.advance(3000)
    assert 200 < sim.plasma_ng_ml < 260
