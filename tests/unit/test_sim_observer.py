"""The simulated nurse's observation round: a full NEWS2 set; sedation follows the drug."""

import random

import pytest

from simulators import Simulation, load_packaged
from simulators.observer import ObservationRound, acvpu_for, moaas_for
from simulators.outputs import SimObservation
from simulators.physiology import Vitals

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


def test_the_routine_infusion_sedates_most_near_the_end_of_dosing() -> None:
    simulation = Simulation(load_packaged("routine_infusion"), seed=3)
    rounds = {
        round(o.at_s / 60): int(o.values["sedation"])
        for o in simulation.advance(100 * 60)
        if isinstance(o, SimObservation)
    }
    assert rounds[0] == 5  # before the drug
    assert min(rounds.values()) < 5  # the drug shows
    assert rounds[90] == 5  # and wears off in recovery
