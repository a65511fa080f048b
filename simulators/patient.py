"""Simulated patients: who is in the chair, and how strongly they respond.

Baselines are drawn to look like the adults treated in ketamine clinics (clinical.md section 3
gives the resting normal ranges): systolic pressure rises with age, diastolic follows systolic.
The sensitivity multipliers carry the patient-to-patient spread of the drug response
(clinical.md section 2: +16.0 mmHg systolic with SD 11.2 across 2,342 Yale infusions); they are
log-normal with mean 1 so the population average stays where effects.py calibrates it.
"""

import math
import random
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Patient:
    age: int
    weight_kg: float
    # Resting values before any drug: the pre-dose baseline.
    heart_rate: float
    systolic: float
    diastolic: float
    spo2: float
    respiratory_rate: float
    temperature: float
    # Multipliers on the drug response: 1 is the population average.
    pressor_sensitivity: float = 1.0
    heart_rate_sensitivity: float = 1.0
    respiratory_sensitivity: float = 1.0
    # Scales the slow drift and beat-to-beat variability of the vitals.
    variability: float = 1.0
    # Multiplies the drug's sedating effect (how drowsy, not how dissociated): 1 is average.
    sedation_sensitivity: float = 1.0

    def __post_init__(self) -> None:
        problem = patient_error(self)
        if problem is not None:
            raise ValueError(problem)


# Plausible simulated adults; wider than normal so trainers can set up an unwell patient.
LIMITS: dict[str, tuple[float, float]] = {
    "age": (18, 100),
    "weight_kg": (35, 250),
    "heart_rate": (35, 150),
    "systolic": (70, 220),
    "diastolic": (40, 130),
    "spo2": (80, 100),
    "respiratory_rate": (6, 35),
    "temperature": (34.0, 40.0),
    "pressor_sensitivity": (0, 5),
    "heart_rate_sensitivity": (0, 5),
    "respiratory_sensitivity": (0, 5),
    "variability": (0, 5),
    "sedation_sensitivity": (0, 5),
}


def patient_error(patient: Patient) -> str | None:
    """Why this patient cannot be simulated, or None."""
    for name, (low, high) in LIMITS.items():
        value = getattr(patient, name)
        if not low <= value <= high:
            return f"{name} {value:g} is outside {low:g}–{high:g}"
    if patient.diastolic >= patient.systolic - 10:
        return "diastolic must be at least 10 mmHg below systolic"
    return None


# The spread of sedation between patients (log-normal sigma), fitted with effects.SEDATION_EC50
# so that the share of patients sedated and deeply sedated match the figures cited there.
SEDATION_SPREAD = 0.4


def _clip(value: float, name: str) -> float:
    low, high = LIMITS[name]
    return min(max(value, low), high)


def _lognormal_mean_one(rng: random.Random, sigma: float) -> float:
    # exp(N(−σ²/2, σ)) has mean 1; the rare draw beyond 4× is capped (it shifts the mean <0.1%).
    return min(math.exp(rng.gauss(-sigma * sigma / 2, sigma)), 4.0)


def sample_patient(rng: random.Random, **overrides: float) -> Patient:
    """A plausible adult drawn from `rng`; any field may be fixed by keyword.

    Every random number is drawn whatever is overridden, so fixing one field leaves the others
    as they would have been for the same seed.
    """
    known = {f.name for f in fields(Patient)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown patient field(s): {', '.join(unknown)}")

    age_draw = rng.uniform(20, 70)
    weight_draw = rng.gauss(78, 15)
    hr_draw = rng.gauss(74, 9)
    sbp_noise = rng.gauss(0, 9)
    dbp_noise = rng.gauss(0, 5)
    spo2_draw = rng.choice((96, 97, 97, 98, 98, 98, 99, 99))
    rr_draw = rng.uniform(12, 18)
    temp_draw = rng.gauss(36.7, 0.25)
    sensitivities = [_lognormal_mean_one(rng, 0.55) for _ in range(3)]
    variability = _lognormal_mean_one(rng, 0.3)
    # Drawn last so that adding it left every earlier draw (and so every seed's patient) as it was.
    sedation_sensitivity = _lognormal_mean_one(rng, SEDATION_SPREAD)

    age = int(overrides.get("age", round(age_draw)))
    systolic = overrides.get("systolic", _clip(108 + 0.3 * (age - 20) + sbp_noise, "systolic"))
    # Diastolic tracks systolic (pulse pressure ~40 mmHg) but never closer than 25 mmHg.
    diastolic = min(0.55 * systolic + 10 + dbp_noise, systolic - 25)
    values: dict[str, float] = {
        "weight_kg": round(_clip(weight_draw, "weight_kg"), 1),
        "heart_rate": _clip(hr_draw, "heart_rate"),
        "systolic": systolic,
        "diastolic": _clip(diastolic, "diastolic"),
        "spo2": spo2_draw,
        "respiratory_rate": rr_draw,
        "temperature": round(temp_draw, 1),
        "pressor_sensitivity": sensitivities[0],
        "heart_rate_sensitivity": sensitivities[1],
        "respiratory_sensitivity": sensitivities[2],
        "variability": variability,
        "sedation_sensitivity": sedation_sensitivity,
    }
    values.update((k, v) for k, v in overrides.items() if k != "age")
    return Patient(age=age, **values)
