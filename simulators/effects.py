"""Drug effects: from effect-site concentration to changes in heart rate, pressure and breathing.

No published model links ketamine concentration to heart rate or blood pressure (clinical.md
section 8), so the pressor response is an Emax model calibrated to clinical.md section 2:
- Yale, 2,342 infusions of 0.5 mg/kg over 40 min: systolic and diastolic peak 40 min after the
  start, by +16.0 (SD 11.2) / +11.0 (SD 8.45) mmHg;
- 741 infusions: larger rises with age ≥ 50 and with hypertension; pulse only +1.9 bpm;
- back to baseline within about 1.5 h after the infusion (Szarmach 2020).

Two effect sites, each with its own ke0:
- CNS (sedation, breathing): ke0 0.652/min, the opentiva value (clinical.md section 8).
- Sympathetic (pressure, heart rate): ke0 0.07/min, chosen here. With Domino's disposition
  plasma falls by two thirds within 5 minutes of the end of an infusion; a pressor response
  following that fast would be gone 10 minutes after the end, whereas published series see it
  fade over the following hour. A half-time of about 10 min keeps the IV peak at 40 min, leaves
  the pressure still clearly raised 20 min after the end, brings it back to within ~1–2 mmHg of
  baseline 1.5 h after the end, and puts the nasal esketamine peak about 40 min after the first
  device, as the Spravato label has it (prescribing information, section 5.6: "increases in
  blood pressure peak approximately 40 minutes after administration and last approximately
  4 hours"). 0.05/min (14 min) put that peak at 70+ min.

Sedation is not dissociation. At 0.5 mg/kg over 40 min nearly every patient dissociates (CADSS;
plasma 100–250 ng/ml, clinical.md section 8) while staying rousable: in the NIMH series of 163
patients (Acevedo-Diaz et al., J Affect Disord 2020;263:568–575) the effects seen in at least
half were all perceptual or dissociative (feeling strange, spacey, floating, numb), drowsiness
not among them, and they peaked within the hour and were gone within 2 h. Effects rise with
dose from 0.1 to 1.0 mg/kg (Fava et al., Mol Psychiatry 2020;25:1592–1603). So the MOAA/S of
the observation rounds follows a separate sedation curve (a Hill curve, gamma 1.5, EC50
520 ng/ml racemic-equivalent, times each patient's sedation_sensitivity), fitted to:
- ketamine 0.5 mg/kg/40 min: most patients stay MOAA/S 5 (ACVPU A) through the infusion, about
  a third reach MOAA/S 4 at some round, MOAA/S 3 or below in about 5%; 0.05 mg/kg: none.
- esketamine nasal (Spravato prescribing information 5.1: sedation on the MOAA/S in 48–61% of
  patients over the trials' weeks of sessions, loss of consciousness 0.3–0.4%; J&J Medical
  Information "Adverse event of SPRAVATO: sedation and somnolence" (2025): onset about 15 min
  after the first device, peak 30–45 min, generally resolved (MOAA/S 5) by 1–1.5 h, mostly mild
  (MOAA/S 4), dose-related; REMS data 2019–2024: sedation in 34.7% of sessions). Per session the
  simulation sedates about a quarter at 56 mg and over half at 84 mg, resolved in most by 90 min
  and in about nine in ten by 120 min. Nasal esketamine counts 1.4 times its racemic-equivalent
  concentration for sedation (regimen.py, a fitted factor: with one factor the published sedation
  of the nasal sessions and the alertness of the IV ones cannot both hold).
backend/simulation/calibration.py prints the simulated figures beside these.

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
SYMPATHETIC_KE0_PER_MIN = 0.07
# The order of effect sites in the PK model.
EFFECT_SITE_KE0_PER_MIN = (CNS_KE0_PER_MIN, SYMPATHETIC_KE0_PER_MIN)

SYMPATHETIC_EC50_NG_ML = 200.0
SYMPATHETIC_HILL = 2.0
SYSTOLIC_MAX_RISE = 27.8
DIASTOLIC_MAX_RISE = 19.2
HEART_RATE_MAX_RISE = 8.0

CNS_EC50_NG_ML = 250.0  # the top of the range where dissociation is seen (100–250 ng/ml)
SEDATION_EC50_NG_ML = 520.0
SEDATION_HILL = 1.5
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
    sedation: float = 0.0  # depth of sedation (0–1), for the MOAA/S of observation rounds


def sympathetic_drive(ce_ng_ml: float) -> float:
    """Fraction (0–1) of the maximal pressor response at a racemic-equivalent concentration."""
    c = math.pow(max(ce_ng_ml, 0.0), SYMPATHETIC_HILL)
    return c / (math.pow(SYMPATHETIC_EC50_NG_ML, SYMPATHETIC_HILL) + c)


def cns_effect(ce_ng_ml: float) -> float:
    """Fraction (0–1) of the maximal CNS effect on breathing at a racemic-equivalent
    concentration (half at the top of the dissociative range)."""
    c = max(ce_ng_ml, 0.0)
    return c / (CNS_EC50_NG_ML + c)


def sedation(ce_ng_ml: float, sensitivity: float = 1.0) -> float:
    """Depth of sedation (0–1) at a racemic-equivalent concentration: observation.moaas_for
    turns it into MOAA/S (0.30 and over: 4, lethargic; 0.45 and over: 3)."""
    x = math.pow(max(ce_ng_ml, 0.0) * sensitivity / SEDATION_EC50_NG_ML, SEDATION_HILL)
    return x / (1 + x)


def pressor_gain(patient: Patient) -> float:
    """How strongly this patient's pressure responds, relative to the calibrated average."""
    gain = patient.pressor_sensitivity
    if patient.age >= OLDER_AGE:
        gain *= OLDER_FACTOR
    if patient.systolic >= HYPERTENSIVE_SYSTOLIC:
        gain *= HYPERTENSIVE_FACTOR
    return gain


def drug_effect(
    patient: Patient,
    cns_ng_ml: float,
    sympathetic_ng_ml: float,
    sedating_ng_ml: float | None = None,
) -> DrugEffect:
    """The drug's effect given racemic-equivalent effect-site concentrations; `sedating_ng_ml`
    is the CNS concentration as it counts for sedation (the same unless the drug's route
    sedates more for its level, see regimen.py)."""
    drive = sympathetic_drive(sympathetic_ng_ml)
    gain = pressor_gain(patient)
    breathing = cns_effect(cns_ng_ml) * patient.respiratory_sensitivity
    sedating = cns_ng_ml if sedating_ng_ml is None else sedating_ng_ml
    return DrugEffect(
        heart_rate=HEART_RATE_MAX_RISE * drive * patient.heart_rate_sensitivity,
        systolic=SYSTOLIC_MAX_RISE * drive * gain,
        diastolic=DIASTOLIC_MAX_RISE * drive * gain,
        spo2=-SPO2_MAX_FALL * breathing,
        respiratory_rate=-RESPIRATORY_RATE_MAX_FALL * breathing,
        # The patient's own breathing sensitivity shapes RR and SpO2, not how rousable they are.
        sedation=sedation(sedating, patient.sedation_sensitivity),
    )
