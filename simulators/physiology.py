"""The simulated body: its true vitals from second to second.

A vital is the patient's baseline plus
- slow drift (Ornstein–Uhlenbeck processes: pressure wanders a few mmHg over ~15 minutes),
- the drug effect (pk.py concentrations through effects.py),
- event episodes (events.py), which either add to the value or pull it towards a level,
- a trainer's steering, which overrides everything else until released,
and, for heart rate, beat-to-beat variability and respiratory sinus arrhythmia on top.
What a monitor shows is decided separately (devices.py): these are the values it measures.
"""

import math
import random
from dataclasses import dataclass, field

from simulators.effects import EFFECT_SITE_KE0_PER_MIN, DrugEffect, drug_effect
from simulators.events import (
    PHYSIOLOGICAL_RANGE,
    Desaturation,
    HypertensiveSurge,
    PhysiologicalEvent,
    Release,
    Steer,
    Tachycardia,
    Vasovagal,
)
from simulators.noise import Wander
from simulators.patient import Patient
from simulators.pk import PkCourse, PkModel
from simulators.regimen import Regimen

VITAL_NAMES = ("heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature")
MIN_PULSE_PRESSURE = 10.0


@dataclass(frozen=True)
class Vitals:
    heart_rate: float
    systolic: float
    diastolic: float
    spo2: float
    respiratory_rate: float
    temperature: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in VITAL_NAMES}


def smooth_ramp(x: float) -> float:
    """0 before 0, 1 after 1, a half-cosine between: no corner at either end."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    return 0.5 - 0.5 * math.cos(math.pi * x)


@dataclass(frozen=True)
class Episode:
    """A physiological event in progress: how strongly it acts at each instant."""

    start_s: float
    onset_s: float
    plateau_s: float
    offset_s: float
    deltas: dict[str, float] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)

    @property
    def end_s(self) -> float:
        return self.start_s + self.onset_s + self.plateau_s + self.offset_s

    def weight(self, t_s: float) -> float:
        elapsed = t_s - self.start_s
        if elapsed < 0 or t_s >= self.end_s:
            return 0.0
        if elapsed < self.onset_s:
            return smooth_ramp(elapsed / self.onset_s)
        falling = elapsed - self.onset_s - self.plateau_s
        if falling <= 0:
            return 1.0
        return 1.0 - smooth_ramp(falling / self.offset_s)


def episode_for(event: PhysiologicalEvent, start_s: float) -> Episode:
    timing = (start_s, event.onset_s, event.duration_s, event.offset_s)
    match event:
        case HypertensiveSurge() | Tachycardia():
            deltas = {
                "systolic": event.systolic_rise,
                "diastolic": event.diastolic_rise,
                "heart_rate": event.heart_rate_rise,
            }
            return Episode(*timing, deltas=deltas)
        case Desaturation():
            targets = {"spo2": event.spo2, "respiratory_rate": event.respiratory_rate}
            return Episode(*timing, deltas={"heart_rate": event.heart_rate_rise}, targets=targets)
        case Vasovagal():
            targets = {
                "heart_rate": event.heart_rate,
                "systolic": event.systolic,
                "diastolic": event.diastolic,
            }
            return Episode(*timing, targets=targets)


@dataclass(frozen=True)
class _Steering:
    """A vital under a trainer's hand: from `anchor` to `target`, or back to the body."""

    anchor: float
    target: float | None  # None: releasing back to the physiological value
    start_s: float
    over_s: float

    def progress(self, t_s: float) -> float:
        if self.over_s <= 0:
            return 1.0
        return smooth_ramp((t_s - self.start_s) / self.over_s)

    def value(self, t_s: float, physiological: float) -> float:
        goal = physiological if self.target is None else self.target
        return self.anchor + (goal - self.anchor) * self.progress(t_s)


class Physiology:
    """One patient's body over a session; `step` moves it to a later time."""

    def __init__(
        self,
        patient: Patient,
        regimen: Regimen,
        dosing_start_min: float,
        rng: random.Random,
    ) -> None:
        self.patient = patient
        self._rng = rng
        self._potency = regimen.potency
        self._sedation_potency = regimen.sedation_potency
        model = PkModel(
            patient.weight_kg,
            EFFECT_SITE_KE0_PER_MIN,
            ka_per_min=regimen.absorption_ka_per_min,
        )
        self.pk = PkCourse(model, regimen.plan(patient.weight_kg, dosing_start_min))
        v = patient.variability
        # Spread and memory of each vital's wander: pressure moves a few mmHg over a quarter
        # of an hour, SpO2 a fraction of a percent over minutes, temperature barely.
        self._drifts = {
            "heart_rate": Wander(rng, 3.0 * v, 600),
            "systolic": Wander(rng, 4.0 * v, 900),
            "diastolic": Wander(rng, 2.0 * v, 900),
            "spo2": Wander(rng, 0.4 * v, 120),
            "respiratory_rate": Wander(rng, 1.0 * v, 300),
            "temperature": Wander(rng, 0.1 * v, 1800),
        }
        self._beat_to_beat = Wander(rng, 1.5 * v, 3)
        self._sinus_arrhythmia_bpm = 1.5 * v
        self._breath_phase = rng.uniform(0, 2 * math.pi)
        self._episodes: list[Episode] = []
        self._steering: dict[str, _Steering] = {}
        self.t_s = 0.0
        self.effect = DrugEffect()
        self._mean = self._baseline()
        self.vitals = self._compose(0.0)

    def _baseline(self) -> dict[str, float]:
        return {name: getattr(self.patient, name) for name in VITAL_NAMES}

    @property
    def plasma_ng_ml(self) -> float:
        return self.pk.model.plasma_ng_ml

    def apply(self, event: PhysiologicalEvent | Steer | Release, t_s: float) -> None:
        """Start an event at `t_s` (the current time)."""
        match event:
            case Steer():
                self._steering[event.vital] = _Steering(
                    self._mean[event.vital], event.target, t_s, event.over_s
                )
            case Release():
                if event.vital in self._steering:
                    self._steering[event.vital] = _Steering(
                        self._mean[event.vital], None, t_s, event.over_s
                    )
            case _:
                self._episodes.append(episode_for(event, t_s))

    def step(self, t_s: float) -> Vitals:
        """Advance to `t_s` and return the true vitals there."""
        dt_s = t_s - self.t_s
        if dt_s < 0:
            raise ValueError("cannot go back in time")
        self.pk.advance_to(t_s / 60)
        for drift in self._drifts.values():
            drift.step(self._rng, dt_s)
        self._beat_to_beat.step(self._rng, dt_s)
        breaths_per_s = max(self.vitals.respiratory_rate, 1.0) / 60
        self._breath_phase = (self._breath_phase + 2 * math.pi * breaths_per_s * dt_s) % (
            2 * math.pi
        )
        self.t_s = t_s
        self.vitals = self._compose(t_s)
        return self.vitals

    def _compose(self, t_s: float) -> Vitals:
        cns, sympathetic = self.pk.model.effect_site_ng_ml
        self.effect = drug_effect(
            self.patient,
            cns * self._potency,
            sympathetic * self._potency,
            sedating_ng_ml=cns * self._sedation_potency,
        )
        mean = self._baseline()
        for name, drift in self._drifts.items():
            mean[name] += drift.value + getattr(self.effect, name, 0.0)  # none on temperature
        # Diastolic wanders partly with systolic, as the two do in a real arm.
        mean["diastolic"] += 0.5 * self._drifts["systolic"].value
        self._episodes = [e for e in self._episodes if t_s < e.end_s]
        for episode in self._episodes:
            weight = episode.weight(t_s)
            for name, delta in episode.deltas.items():
                mean[name] += weight * delta
        for episode in self._episodes:
            weight = episode.weight(t_s)
            for name, target in episode.targets.items():
                mean[name] += weight * (target - mean[name])
        for name, steering in list(self._steering.items()):
            mean[name] = steering.value(t_s, mean[name])
            if steering.target is None and steering.progress(t_s) >= 1:
                del self._steering[name]
        self._mean = mean

        true = dict(mean)
        true["heart_rate"] += self._beat_to_beat.value + self._sinus_arrhythmia_bpm * math.sin(
            self._breath_phase
        )
        for name, (low, high) in PHYSIOLOGICAL_RANGE.items():
            true[name] = min(max(true[name], low), high)
        true["diastolic"] = min(true["diastolic"], true["systolic"] - MIN_PULSE_PRESSURE)
        return Vitals(**true)
