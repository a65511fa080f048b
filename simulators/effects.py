"""Drug effects: from effect-site concentration to changes in heart rate, pressure and breathing.

No published model links ketamine concentration to heart rate or blood pressure (clinical.md
section 8), so the pressor response is an Emax model calibrated to clinical.md section 2:
- Yale, 2,342 infusions of 0.5 mg/kg over 40 min: systolic and diastolic peak 40 min after the
  start, by +16.0 (SD 11.2) / +11.0 (SD 8.45) mmHg;
- 741 infusions: larger rises with age ≥ 50 and with hypertension; pulse only +1.9 bpm;
- back to baseline within about 1.5 h after the infusion (Szarmach 2020).

Two effect sites, each with its own ke0:
- CNS (sedation, breathing): ke0 0.652/min, the opentiva value (clinical.md section 8).
- Sympathetic (pressure, heart rate): ke0 0.05/min, chosen here. With Domino's disposition
  plasma falls by two thirds within 5 minutes of the end of an infusion; a pressor response
  following that fast would be gone 10 minutes after the end, whereas published series see it
  fade over the following hour. A half-time of about 14 min keeps the peak at 40 min and brings
  the pressure back to within ~1–2 mmHg of baseline 1.5 h after the end.

The sympathetic drive is a Hill curve (γ = 2, EC50 200 ng/ml racemic-equivalent), scaled by
each patient's sensitivity and by the age and hypertension factors above. The maxima are set so
the population sampled by patient.py averages +16/+11 mmHg at the peak of 0.5 mg/kg over 40 min
(tests/unit/test_sim_calibration.py holds the figures). The breathing effect is mild, as at
these doses: a slight fall in respiratory rate and SpO2 with sedation.
"""

import math
from dataclasses import dataclass

from simulators.patient import Patient

CNS_KE0_PER_MIN = 0.652
SYMPATHETIC_KE0_PER_MIN = 0.05
# The order of effect sites in the PK model.
EFFECT_SITE_KE0_PER_MIN = (CNS_KE0_PER_MIN, SYMPATHETIC_KE0_PER_MIN)

SYMPATHETIC_EC50_NG_ML = 200.0
SYMPATHETIC_HILL = 2.0
SYSTOLIC_MAX_RISE = 32.5
DIASTOLIC_MAX_RISE = 22.4
HEART_RATE_MAX_RISE = 8.0

CNS_EC50_NG_ML = 250.0  # the top of the range where dissociation is seen (100–250 ng/ml)
RESPIRATORY_RATE_MAX_FALL = 2.5
SPO2_MAX_FALL = 1.5

OLDER_AGE = 50
OLDER_FACTOR = 1.25
HYPERTENSIVE_SYSTOLIC = 140
HYPERTENSIVE_FACTOR = 1.2


@dataclass(frozen=True)
class DrugEffect:
    """Changes from the patient's baseline caused by the drug at one instant."""

    heart_rate: float = 0.0
    systolic: float = 0.0
    diastolic: float = 0.0
    spo2: float = 0.0
    respiratory_rate: float = 0.0
    sedation: float = 0.0  # fraction (0–1) of the maximal CNS effect, for observation rounds


def sympathetic_drive(ce_ng_ml: float) -> float:
    """Fraction (0–1) of the maximal pressor response at a racemic-equivalent concentration."""
    c = math.pow(max(ce_ng_ml, 0.0), SYMPATHETIC_HILL)
    return c / (math.pow(SYMPATHETIC_EC50_NG_ML, SYMPATHETIC_HILL) + c)


def sedation(ce_ng_ml: float) -> float:
    """Fraction (0–1) of the maximal CNS effect at a racemic-equivalent concentration."""
    c = max(ce_ng_ml, 0.0)
    return c / (CNS_EC50_NG_ML + c)


def pressor_gain(patient: Patient) -> float:
    """How strongly this patient's pressure responds, relative to the calibrated average."""
    gain = patient.pressor_sensitivity
    if patient.age >= OLDER_AGE:
        gain *= OLDER_FACTOR
    if patient.systolic >= HYPERTENSIVE_SYSTOLIC:
        gain *= HYPERTENSIVE_FACTOR
    return gain


def drug_effect(patient: Patient, cns_ng_ml: float, sympathetic_ng_ml: float) -> DrugEffect:
    """The drug's effect given racemic-equivalent effect-site concentrations."""
    drive = sympathetic_drive(sympathetic_ng_ml)
    gain = pressor_gain(patient)
    sedated = sedation(cns_ng_ml) * patient.respiratory_sensitivity
    return DrugEffect(
        heart_rate=HEART_RATE_MAX_RISE * drive * patient.heart_rate_sensitivity,
        systolic=SYSTOLIC_MAX_RISE * drive * gain,
        diastolic=DIASTOLIC_MAX_RISE * drive * gain,
        spo2=-SPO2_MAX_FALL * sedated,
        respiratory_rate=-RESPIRATORY_RATE_MAX_FALL * sedated,
        # The patient's own breathing sensitivity shapes RR and SpO2, not how rousable they are.
        sedation=sedation(cns_ng_ml),
    )
