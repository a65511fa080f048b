"""Ketamine pharmacokinetics: a three-compartment model with effect sites and a nasal depot.

Disposition follows Domino et al. (1982, 1984), as quoted in clinical.md
section 8: V1 0.063 L/kg and rate constants per minute k10 0.4381, k12 0.5921, k13 0.5900,
k21 0.2470, k31 0.0146 (so V2 = V1·k12/k21 and V3 = V1·k13/k31). With these numbers
0.5 mg/kg over 40 min peaks at about 240 ng/ml in plasma at the end of the infusion
(clinical.md quotes "near 185 ng/ml"), and the terminal half-life is 1.9 h (clinical.md: about
2.5 h). Both differences are the published model's, kept as is.

Effect sites are massless compartments that follow plasma with their own ke0
(dCe/dt = ke0·(Cp − Ce)); a model may carry several, one per kind of effect
(see effects.py for the values chosen and why).

A depot empties into the central compartment with first-order rate ka: it models nasal
absorption. Only the bioavailable fraction F of a depot dose enters it; the rest (swallowed,
first-pass metabolised) never reaches plasma.

The system is linear with piecewise-constant input, so each step is solved exactly with a
matrix exponential: results do not depend on the step size, only on the dosing history.
Units: minutes, mg, litres; concentrations are reported in ng/ml.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

Matrix = list[list[float]]

# Indices into the state vector; effect sites follow from _FIRST_SITE on.
_CENTRAL, _PERIPHERAL_FAST, _PERIPHERAL_SLOW, _DEPOT, _ELIMINATED = range(5)
_FIRST_SITE = 5
_MG_PER_L_TO_NG_PER_ML = 1000.0


@dataclass(frozen=True)
class Disposition:
    """A three-compartment mammillary model; rate constants per minute, V1 per kg."""

    v1_l_per_kg: float
    k10: float
    k12: float
    k13: float
    k21: float
    k31: float


DOMINO_KETAMINE = Disposition(
    v1_l_per_kg=0.063, k10=0.4381, k12=0.5921, k13=0.5900, k21=0.2470, k31=0.0146
)


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    columns = list(zip(*b, strict=True))
    return [
        [math.fsum(x * y for x, y in zip(row, col, strict=True)) for col in columns] for row in a
    ]


def expm(a: Matrix) -> Matrix:
    """Matrix exponential by scaling and squaring a Taylor series (fine for small matrices)."""
    n = len(a)
    norm = max(sum(abs(x) for x in row) for row in a)
    # Scale until the norm is at most 1/2, where 20 Taylor terms are exact to double precision.
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0 else 0
    scale = 2.0**squarings
    scaled = [[x / scale for x in row] for row in a]
    result = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    term = [row[:] for row in result]
    for k in range(1, 21):
        term = [[x / k for x in row] for row in _matmul(term, scaled)]
        result = [
            [r + t for r, t in zip(rr, tr, strict=True)]
            for rr, tr in zip(result, term, strict=True)
        ]
    for _ in range(squarings):
        result = _matmul(result, result)
    return result


class PkModel:
    """The drug amounts in one patient, advanced exactly under constant-rate input."""

    def __init__(
        self,
        weight_kg: float,
        ke0_per_min: Sequence[float],
        ka_per_min: float = 0.0,
        disposition: Disposition = DOMINO_KETAMINE,
    ) -> None:
        if weight_kg <= 0:
            raise ValueError("weight_kg must be positive")
        self.weight_kg = weight_kg
        self.v1_l = disposition.v1_l_per_kg * weight_kg
        self.ke0_per_min = tuple(ke0_per_min)
        self.ka_per_min = ka_per_min
        self.disposition = disposition
        self._state = [0.0] * (_FIRST_SITE + len(self.ke0_per_min))
        self._system = self._augmented_system()
        # Transition matrices by step length: a session uses very few distinct steps.
        self._transitions: dict[float, Matrix] = {}

    def _augmented_system(self) -> Matrix:
        """dx/dt = M·x + e_central·rate, written as one homogeneous system with rate as a state."""
        d = self.disposition
        n = len(self._state)
        m = [[0.0] * (n + 1) for _ in range(n + 1)]
        m[_CENTRAL][_CENTRAL] = -(d.k10 + d.k12 + d.k13)
        m[_CENTRAL][_PERIPHERAL_FAST] = d.k21
        m[_CENTRAL][_PERIPHERAL_SLOW] = d.k31
        m[_CENTRAL][_DEPOT] = self.ka_per_min
        m[_CENTRAL][n] = 1.0  # the infusion rate, mg/min
        m[_PERIPHERAL_FAST][_CENTRAL] = d.k12
        m[_PERIPHERAL_FAST][_PERIPHERAL_FAST] = -d.k21
        m[_PERIPHERAL_SLOW][_CENTRAL] = d.k13
        m[_PERIPHERAL_SLOW][_PERIPHERAL_SLOW] = -d.k31
        m[_DEPOT][_DEPOT] = -self.ka_per_min
        m[_ELIMINATED][_CENTRAL] = d.k10
        for i, ke0 in enumerate(self.ke0_per_min):
            site = _FIRST_SITE + i
            # Effect sites hold concentrations (mg/L), not amounts: they take no mass from plasma.
            m[site][_CENTRAL] = ke0 / self.v1_l
            m[site][site] = -ke0
        return m

    def _transition(self, dt_min: float) -> Matrix:
        # Steps equal up to float noise (k/60 − (k−1)/60) share one matrix; rounding at 1e-12 min
        # shifts a step by under a nanosecond, far below anything the model resolves.
        key = round(dt_min, 12)
        found = self._transitions.get(key)
        if found is None:
            found = expm([[x * key for x in row] for row in self._system])
            self._transitions[key] = found
        return found

    def advance(self, dt_min: float, rate_mg_per_min: float = 0.0) -> None:
        """Move `dt_min` minutes on, with a constant IV infusion of `rate_mg_per_min`."""
        if dt_min < 0:
            raise ValueError("cannot go back in time")
        if dt_min == 0:
            return
        phi = self._transition(dt_min)
        x = [*self._state, rate_mg_per_min]
        self._state = [
            math.fsum(p * v for p, v in zip(row, x, strict=True)) for row in phi[: len(self._state)]
        ]

    def bolus(self, mg: float) -> None:
        """An IV bolus: all of it in the central compartment at once."""
        self._state[_CENTRAL] += mg

    def depot_dose(self, mg: float, bioavailability: float) -> None:
        """A dose into the absorption depot, of which only the bioavailable part ever arrives."""
        if not 0 < bioavailability <= 1:
            raise ValueError("bioavailability must be in (0, 1]")
        self._state[_DEPOT] += mg * bioavailability

    @property
    def plasma_ng_ml(self) -> float:
        return self._state[_CENTRAL] / self.v1_l * _MG_PER_L_TO_NG_PER_ML

    @property
    def effect_site_ng_ml(self) -> tuple[float, ...]:
        """Effect-site concentrations, in the order of `ke0_per_min`."""
        return tuple(c * _MG_PER_L_TO_NG_PER_ML for c in self._state[_FIRST_SITE:])

    @property
    def amounts_mg(self) -> dict[str, float]:
        """Where the drug is: compartments, depot and the total eliminated so far."""
        names = ("central", "peripheral_fast", "peripheral_slow", "depot", "eliminated")
        return dict(zip(names, self._state[:_FIRST_SITE], strict=True))


@dataclass(frozen=True)
class Infusion:
    start_min: float
    duration_min: float
    rate_mg_per_min: float

    @property
    def end_min(self) -> float:
        return self.start_min + self.duration_min


@dataclass(frozen=True)
class DepotDose:
    at_min: float
    mg: float
    bioavailability: float


@dataclass(frozen=True)
class DosingPlan:
    """Everything given to the patient, in time: the input to a `PkCourse`."""

    infusions: tuple[Infusion, ...] = ()
    depot_doses: tuple[DepotDose, ...] = ()

    def rate_at(self, t_min: float) -> float:
        """The total IV rate in force from `t_min` on (up to the next breakpoint)."""
        return sum(i.rate_mg_per_min for i in self.infusions if i.start_min <= t_min < i.end_min)

    def breakpoints(self) -> list[float]:
        times = {t for i in self.infusions for t in (i.start_min, i.end_min)}
        times.update(d.at_min for d in self.depot_doses)
        return sorted(times)


class PkCourse:
    """A model following a dosing plan: concentrations at any later time, stepped exactly."""

    def __init__(self, model: PkModel, plan: DosingPlan) -> None:
        self.model = model
        self.plan = plan
        self.t_min = 0.0
        self._pending = [t for t in plan.breakpoints() if t >= 0]
        self._apply_doses_at(0.0)

    def _apply_doses_at(self, t_min: float) -> None:
        for dose in self.plan.depot_doses:
            if dose.at_min == t_min:
                self.model.depot_dose(dose.mg, dose.bioavailability)
        if self._pending and self._pending[0] == t_min:
            self._pending.pop(0)

    def advance_to(self, t_min: float) -> None:
        """Move to `t_min`, splitting the step wherever the dosing changes."""
        if t_min < self.t_min:
            raise ValueError("cannot go back in time")
        while self._pending and self._pending[0] <= t_min:
            breakpoint_min = self._pending[0]
            self.model.advance(breakpoint_min - self.t_min, self.plan.rate_at(self.t_min))
            self.t_min = breakpoint_min
            self._apply_doses_at(breakpoint_min)
        self.model.advance(t_min - self.t_min, self.plan.rate_at(self.t_min))
        self.t_min = t_min
