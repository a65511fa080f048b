"""The nurse's observation round in a simulation: a full set for NEWS2 as a person at the chair
records it — respiratory rate counted over 30 s, temperature, consciousness (ACVPU), sedation
(MOAA/S) and whether the patient is on oxygen — every few minutes.

Sedation follows the drug's sedating effect (effects.sedation, 0–1), not its dissociation:
a dissociated patient who answers readily to their name is MOAA/S 5 and Alert. The steps below
are an assumption; effects.py fits the sedation curve through them to the published figures
(most patients alert through 0.5 mg/kg IV, MOAA/S 4 the usual level when sedated, resolved by
1–1.5 h after nasal esketamine).
"""

import random

from simulators.outputs import Observed, SimObservation, SimOutput
from simulators.physiology import Vitals

OBSERVER = "observer"

# (upper bound of the CNS effect, MOAA/S score), most alert first.
_MOAAS_STEPS = ((0.30, 5), (0.45, 4), (0.60, 3), (0.75, 2), (0.90, 1))


def moaas_for(sedation: float) -> int:
    """MOAA/S 5 (responds readily to name) down to 0 (no response to pain)."""
    for upper, score in _MOAAS_STEPS:
        if sedation < upper:
            return score
    return 0


def acvpu_for(moaas: int) -> str:
    """The ACVPU level a nurse would record beside that MOAA/S score: only a patient who
    responds readily is Alert; a lethargic answer to their name is a response to Voice."""
    if moaas == 5:
        return "A"
    if moaas >= 2:
        return "V"
    return "P" if moaas == 1 else "U"


class ObservationRound:
    """Every `interval_s`, from the start; the patient is always on air (no oxygen is given)."""

    def __init__(self, rng: random.Random, interval_s: float) -> None:
        self._rng = rng
        self._interval_s = interval_s
        self._next_s = 0.0

    def tick(self, t_s: float, vitals: Vitals, sedation: float) -> list[SimOutput]:
        if t_s < self._next_s:
            return []
        while self._next_s <= t_s:
            self._next_s += self._interval_s
        # Two nurses rarely score the same patient identically at a boundary.
        judged = min(max(sedation + self._rng.gauss(0, 0.03), 0.0), 1.0)
        moaas = moaas_for(judged)
        # Breaths counted over 30 s and doubled: a counted rate is always even.
        counted = 2 * round(vitals.respiratory_rate / 2 + self._rng.gauss(0, 0.5))
        values: Observed = {
            "respiratory_rate": min(max(counted, 0), 100),
            "temperature": round(
                min(max(vitals.temperature + self._rng.gauss(0, 0.15), 25), 45), 1
            ),
            "sedation": moaas,
            "consciousness": acvpu_for(moaas),
            "on_oxygen": False,
        }
        return [SimObservation(t_s, values, OBSERVER)]
