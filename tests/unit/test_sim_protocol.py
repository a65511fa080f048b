"""The packaged scenarios and the demo ward against the protocol Vigil holds them to: dosing
starts only within the pre-dose gate or with a scripted, named override, and the simulated
nurse has seen the patient alert (ACVPU A, MOAA/S 5) in recovery before the discharge."""

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from backend.alerts.baseline import BloodPressure, gate_advice
from backend.alerts.limits import AlertPhase, Direction, PreDoseGate, Priority, clinic_defaults
from backend.demo import DEMO_CHAIRS, DemoChair
from backend.sessions.checklists import BloodPressureSeen, Facts, blocking, evaluate
from backend.sessions.phases import Phase
from backend.simulation.service import with_patient
from simulators.engine import Simulation, random_stream
from simulators.observer import ObservationRound
from simulators.outputs import SimObservation, SimOutput, SimReading
from simulators.patient import sample_patient
from simulators.physiology import Physiology
from simulators.regimen import EsketamineNasal
from simulators.scenario import list_scenarios, load_packaged

SEEDS = range(40)


def _last_round_before_discharge(name: str, seed: int) -> SimObservation | None:
    """The simulated nurse's last observation round in recovery, before the discharge: the
    engine's own patient, body and observer from the same seed, stepped from round to round
    only (sedation follows the drug's concentrations, solved exactly whatever the step, and
    the observer draws from its own stream, so the rounds are the engine's; and quick)."""
    scenario = load_packaged(name)
    interval_s = scenario.devices.observation_round_min * 60
    if not interval_s:
        return None
    patient = sample_patient(random_stream(seed, "patient"), **scenario.patient.given())
    body = Physiology(
        patient,
        scenario.regimen,
        scenario.dosing_start_s / 60,
        random_stream(seed, "physiology"),
    )
    observer = ObservationRound(random_stream(seed, "observer"), interval_s)
    last = None
    at_s = 0.0
    while at_s < scenario.end_s:
        (made,) = observer.tick(at_s, body.step(at_s), body.effect.sedation)
        assert isinstance(made, SimObservation)
        if at_s >= scenario.dosing_end_s:
            last = made
        at_s += interval_s
    return last


@pytest.mark.parametrize("name", list_scenarios())
def test_routine_runs_are_seen_alert_in_recovery_before_they_are_discharged(name: str) -> None:
    # Discharge needs ACVPU A and MOAA/S 5 recorded since dosing ended: the scenarios' rounds
    # record them. Esketamine: at least 90% ready at the 2 h discharge (pooled phase 3 data:
    # 3.5% or fewer not ready at 2 h); ketamine's sedation is gone within the hour.
    ready = 0
    for seed in SEEDS:
        last = _last_round_before_discharge(name, seed)
        assert last is not None, f"{name} records no ACVPU or MOAA/S in recovery"
        ready += (last.values["consciousness"], last.values["sedation"]) == ("A", 5)
    scenario = load_packaged(name)
    needed = 0.9 if isinstance(scenario.regimen, EsketamineNasal) else 1.0
    assert ready >= needed * len(SEEDS), f"{name}: {ready} of {len(SEEDS)} alert at discharge"


def _baseline_before_dosing(demo: DemoChair) -> BloodPressure:
    scenario = with_patient(load_packaged(demo.scenario), {"weight_kg": demo.weight_kg})
    outputs = Simulation(scenario, demo.seed).advance(scenario.dosing_start_s)
    cuff = [o for o in outputs if isinstance(o, SimReading) and "systolic" in o.values]
    assert cuff, f"{demo.chair}: no blood pressure before dosing"
    return BloodPressure(cuff[-1].values["systolic"], cuff[-1].values["diastolic"])


@pytest.mark.parametrize("demo", DEMO_CHAIRS, ids=lambda demo: demo.chair)
def test_every_demo_chair_starts_dosing_as_a_nurse_would(demo: DemoChair) -> None:
    # The demo ward runs live: each chair's baseline is within the gate, or its scenario
    # scripts who decided to go ahead and why (nothing overrides the gate on its own).
    advice = gate_advice(PreDoseGate(), _baseline_before_dosing(demo))
    scripted = load_packaged(demo.scenario).timeline.gate_override
    assert advice is None or scripted is not None, f"{demo.chair}: {advice}"


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BODY_STEP_S = 300


def _discharge_refusal(name: str, seed: int, dose_mg: Literal[56, 84] | None = None) -> list[str]:
    """What would stop the scenario's own discharge of this seed's patient (empty: discharged),
    judged by the rules the server holds it to: the pre-dose gate on the engine's own baseline
    cuff reading, then the discharge checklist (backend/sessions/checklists.py) on the engine's
    observation rounds, its cuff times and its simulated observation minutes, with a
    high-priority alarm of the clinic defaults (nobody acknowledges one in a simulation) for
    any high breach of the true vitals. The true vitals are stepped every 5 minutes, not every
    second as the engine does: the same body and drug, drawn in coarser steps (fast)."""
    scenario = load_packaged(name)
    if dose_mg is not None:
        scenario = scenario.model_copy(update={"regimen": EsketamineNasal(dose_mg=dose_mg)})
    if scenario.timeline.gate_override is None:
        outputs = Simulation(scenario, seed).advance(scenario.dosing_start_s)
        cuff = [o for o in outputs if isinstance(o, SimReading) and "systolic" in o.values]
        last = cuff[-1].values
        advice = gate_advice(PreDoseGate(), BloodPressure(last["systolic"], last["diastolic"]))
        if advice is not None:
            return [advice]
    patient = sample_patient(random_stream(seed, "patient"), **scenario.patient.given())
    body = Physiology(
        patient, scenario.regimen, scenario.dosing_start_s / 60, random_stream(seed, "physiology")
    )
    observer = ObservationRound(
        random_stream(seed, "observer"), scenario.devices.observation_round_min * 60
    )
    limits = clinic_defaults().phases
    cuff_every_s = scenario.devices.cuff_interval_min * 60
    high: list[str] = []
    last_bp: BloodPressureSeen | None = None
    last_round: SimOutput | None = None
    at_s = 0.0
    while at_s < scenario.end_s:
        vitals = body.step(at_s)
        rounds = observer.tick(at_s, vitals, body.effect.sedation)  # every 15 min
        measured = vitals.as_dict()
        if at_s % cuff_every_s == 0:
            last_bp = BloodPressureSeen(
                round(vitals.systolic), round(vitals.diastolic), T0 + timedelta(seconds=at_s)
            )
        else:
            measured.pop("systolic"), measured.pop("diastolic")
        if rounds and at_s >= scenario.dosing_end_s:
            (last_round,) = rounds
        if at_s >= scenario.dosing_start_s:
            phase = AlertPhase.RECOVERY if at_s >= scenario.dosing_end_s else AlertPhase.INFUSING
            for vital, limit in limits[phase].vitals.items():
                if vital in measured:
                    for direction in Direction:
                        priority = limit.bound(direction).priority_of(measured[vital], direction)
                        if priority is Priority.HIGH:
                            high.append(f"{vital} {measured[vital]:.0f} at {at_s / 60:g} min")
        at_s += BODY_STEP_S
    assert last_bp is not None and isinstance(last_round, SimObservation)
    facts = Facts(
        current=Phase.RECOVERY,
        target=Phase.DISCHARGED,
        at=T0 + timedelta(seconds=scenario.end_s),
        drug=scenario.regimen.drug,
        route="iv" if scenario.regimen.drug == "ketamine" else "intranasal",
        infusion_ended_at=T0 + timedelta(seconds=scenario.dosing_end_s),
        last_bp=last_bp,
        last_consciousness=str(last_round.values["consciousness"]),
        last_sedation=int(last_round.values["sedation"]),
        simulated_observation_min=(scenario.end_s - scenario.dosing_end_s) / 60,
        open_high_alarms=tuple(high),
    )
    unmet = blocking(evaluate(facts, UTC), manual=False)
    return [f"{item.label}: {item.detail}" for item in unmet]


@pytest.mark.parametrize("name", ["esketamine_nasal", "routine_infusion"])
def test_the_routine_scenarios_reach_discharge_in_at_least_nine_of_ten_seeds(name: str) -> None:
    # Issue 16: the esketamine scenario reached discharge in 5 of 10 runs. Its observation is
    # judged on simulated minutes (backend/simulation/service.py), so this holds at any speed.
    refused = {seed: why for seed in range(10) if (why := _discharge_refusal(name, seed))}
    assert len(refused) <= 1, refused


def test_the_esketamine_scenario_at_84_mg_reaches_discharge_in_at_least_nine_of_ten() -> None:
    # The higher dose sedates more, but nearly all are alert again by the end of 2 h.
    refused = {
        seed: why for seed in range(10) if (why := _discharge_refusal("esketamine_nasal", seed, 84))
    }
    assert len(refused) <= 1, refused
