"""The simulated nurse's observation round: a full NEWS2 set; sedation follows the drug."""

import random

import pytest

from simulators import Simulation, load_packaged
from simulators.engine import random_stream
from simulators.observer import ObservationRound, acvpu_for, moaas_for
from simulators.outputs import SimObservation
from simulators.patient import sample_patient
from simulators.physiology import Physiology, Vitals

VITALS = Vitals(
    heart_rate=80, systolic=120, diastolic=80, spo2=97, respiratory_rate=15, temperature=36.8
)


@pytest.mark.parametrize(
    ("sedation", "moaas", "acvpu"),
    [(0.0, 5, "A"), (0.35, 4, "V"), (0.5, 3, "V"), (0.65, 2, "V"), (0.8, 1, "P"), (0.95, 0, "U")],
)
def test_sedation_maps_to_moaas_and_acvpu(sedation: float, moaas: int, acvpu: str) -> None:
    assert moaas_for(sedation) == moaas
    assert acvpu_for(moaas) == acvpu


def test_a_round_is_due_every_interval_and_carries_a_full_set() -> None:
    observer = ObservationRound(random.Random(1), 900)
    times = [t for t in range(0, 3600) if observer.tick(t, VITALS, 0.0)]
    assert times == [0, 900, 1800, 2700]
    (reading,) = ObservationRound(random.Random(1), 900).tick(0, VITALS, 0.0)
    assert isinstance(reading, SimObservation)
    values = reading.values
    assert set(values) == {
        "respiratory_rate",
        "temperature",
        "sedation",
        "consciousness",
        "on_oxygen",
    }
    assert values["respiratory_rate"] in (12, 14, 16, 18) and values["respiratory_rate"] % 2 == 0
    assert (values["sedation"], values["consciousness"], values["on_oxygen"]) == (5, "A", False)


def _rounds(name: str, seed: int, until_min: int) -> dict[int, int]:
    """MOAA/S at each of the engine's observation rounds: its patient, body and observer from
    the seed, stepped from round to round (sedation follows the drug's concentrations, solved
    exactly whatever the step, and the observer has its own stream: the engine's rounds)."""
    scenario = load_packaged(name)
    interval_s = scenario.devices.observation_round_min * 60
    patient = sample_patient(random_stream(seed, "patient"), **scenario.patient.given())
    body = Physiology(
        patient, scenario.regimen, scenario.dosing_start_s / 60, random_stream(seed, "physiology")
    )
    observer = ObservationRound(random_stream(seed, "observer"), interval_s)
    rounds = {}
    at_s = 0.0
    while at_s <= until_min * 60:
        (made,) = observer.tick(at_s, body.step(at_s), body.effect.sedation)
        assert isinstance(made, SimObservation)
        rounds[round(at_s / 60)] = int(made.values["sedation"])
        at_s += interval_s
    return rounds


def test_the_rounds_stepped_alone_are_the_engines() -> None:
    engine = {
        round(o.at_s / 60): int(o.values["sedation"])
        for o in Simulation(load_packaged("routine_infusion"), seed=3).advance(50 * 60)
        if isinstance(o, SimObservation)
    }
    assert _rounds("routine_infusion", 3, 50) == engine


def test_the_routine_infusion_leaves_most_alert_and_sedation_wears_off() -> None:
    # Dissociation is not reduced consciousness: through 0.5 mg/kg over 40 min most patients
    # answer readily (MOAA/S 5, ACVPU A) at every round; some are drowsy for a while; nobody
    # still is by the 90-minute round.
    scenario = load_packaged("routine_infusion")
    end_of_dosing_min = round(scenario.dosing_end_s / 60)
    drowsy_during = 0
    for seed in range(24):
        rounds = _rounds("routine_infusion", seed, 90)
        assert rounds[0] == 5  # before the drug
        drowsy_during += min(v for m, v in rounds.items() if m <= end_of_dosing_min) < 5
        assert rounds[90] == 5, f"seed {seed}: still sedated at 90 min"
    assert 0 < drowsy_during < 12, f"{drowsy_during} of 24 drowsy during the infusion"
