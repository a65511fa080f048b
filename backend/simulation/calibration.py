"""The simulator against the published figures: a table for trainers, reviewers and the README.

    python -m backend.simulation.calibration [--patients 200]

For each drug and dose, the same seeded patients the engine would draw (seed 0, 1, 2…) receive
the regimen; their body (simulators.physiology) and the simulated nurse's observation rounds
(simulators.observer) are stepped every 5 simulated minutes from the start of dosing with the
engine's own random streams, so the figures are those of the scenarios, without device noise.
The published figure of each row is cited where the model is fitted (simulators/effects.py,
simulators/regimen.py) and repeated here in short.

It lives beside the simulation service rather than in simulators/ because NEWS2 is scored with
Vigil's own rules (backend/scores/news2.py), which the simulator itself must not depend on.
"""

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from backend.scores.news2 import (
    consciousness_points,
    oxygen_points,
    pulse_points,
    respiration_points,
    spo2_scale1_points,
    systolic_points,
    temperature_points,
)
from simulators.engine import random_stream
from simulators.observer import ObservationRound
from simulators.outputs import SimObservation
from simulators.patient import sample_patient
from simulators.physiology import Physiology
from simulators.regimen import EsketamineNasal, KetamineInfusion, Regimen

STEP_MIN = 5
SPAN_MIN = 240  # the label's "lasts approximately 4 hours"
RISE_WITHIN_MIN = 90  # the label counts rises of 40/25 mmHg or more within 1.5 h


@dataclass(frozen=True)
class Row:
    """One regimen to simulate: what it is called, and the window judged as 'during dosing'."""

    label: str
    regimen: Regimen
    window_min: int  # IV: the infusion; nasal: the first hour, when the effects peak


ROWS = (
    Row("ketamine 0.5 mg/kg IV over 40 min", KetamineInfusion(dose_mg_per_kg=0.5), 40),
    Row("ketamine 0.05 mg/kg IV over 40 min", KetamineInfusion(dose_mg_per_kg=0.05), 40),
    Row("esketamine 56 mg nasal", EsketamineNasal(dose_mg=56), 60),
    Row("esketamine 84 mg nasal", EsketamineNasal(dose_mg=84), 60),
)

# What the literature says for each row (see simulators/effects.py and regimen.py for sources).
PUBLISHED: dict[str, dict[str, str]] = {
    ROWS[0].label: {
        "alert": "most (dissociation, not drowsiness, in ≥ half: Acevedo-Diaz 2020)",
        "moaas_below_4": "uncommon",
        "rise_40": "+16.0/+11.0 (Yale, 2,342 infusions)",
        "peak": "40 min (Yale); 30–40 (741 infusions)",
        "rise_40_25": "rare: SD of the rise 11.2/8.45; severe hypertension in 0.98% (Yale)",
        "sedated_90": "gone within 2 h (Acevedo-Diaz 2020)",
        "sedated_120": "gone within 2 h",
    },
    ROWS[1].label: {
        "alert": "all (effects scale with dose: Fava 2020)",
        "moaas_below_4": "none",
        "rise_40": "next to none",
        "peak": "—",
        "rise_40_25": "none",
        "sedated_90": "none",
        "sedated_120": "none",
    },
    ROWS[2].label: {
        "alert": "sedation in 34.7% of sessions (REMS data 2019–24, J&J Medical Information)",
        "moaas_below_4": "uncommon: mostly MOAA/S 4 (J&J Medical Information)",
        "rise_40": "timing only: peaks ~40 min, lasts ~4 h (label 5.6)",
        "peak": "~40 min (label 5.6)",
        "rise_40_25": "8–19% of patients, any session over 4 weeks (label 5.6)",
        "sedated_90": "generally resolved by 1–1.5 h (J&J Medical Information)",
        "sedated_120": "most ready to leave at 2 h (label: monitor ≥ 2 h)",
    },
    ROWS[3].label: {
        "alert": "sedation in 48–61% of patients over 4 weeks (label 5.1); dose-related",
        "moaas_below_4": "uncommon: mostly MOAA/S 4; LOC 0.3–0.4% (label 5.1)",
        "rise_40": "timing only: peaks ~40 min, lasts ~4 h (label 5.6)",
        "peak": "~40 min (label 5.6)",
        "rise_40_25": "8–19% of patients, any session over 4 weeks (label 5.6)",
        "sedated_90": "generally resolved by 1–1.5 h (J&J Medical Information)",
        "sedated_120": "most ready to leave at 2 h",
    },
}


@dataclass(frozen=True)
class Figures:
    """A cohort's simulated figures for one row."""

    label: str
    patients: int
    alert_throughout: float  # share scored ACVPU A at every round within the window
    moaas_below_4: float  # share scored MOAA/S 3 or less at any round
    systolic_rise_40: float  # mean change from baseline 40 min after the start of dosing
    diastolic_rise_40: float
    peak_min: int  # when the drug's mean systolic effect is highest
    rise_40_25: float  # share with a rise of ≥ 40 systolic or ≥ 25 diastolic within 1.5 h
    sedated_90: float  # share with MOAA/S below 5 at 90 min
    sedated_120: float
    news2_peak: tuple[int, ...]  # each patient's highest NEWS2 within the window


def _news2(values: dict[str, float | str | bool]) -> int:
    return (
        respiration_points(float(values["respiratory_rate"]))
        + spo2_scale1_points(float(values["spo2"]))
        + oxygen_points(bool(values["on_oxygen"]))
        + systolic_points(float(values["systolic"]))
        + pulse_points(float(values["heart_rate"]))
        + consciousness_points(str(values["consciousness"]))
        + temperature_points(float(values["temperature"]))
    )


@dataclass(frozen=True)
class _Course:
    alert: bool
    deep: bool
    systolic: list[float]  # change from baseline at each step
    diastolic: list[float]
    drug_systolic: list[float]  # the drug's part of it, without the patient's own drift
    sedated_90: bool
    sedated_120: bool
    news2_peak: int


def _course(row: Row, seed: int) -> _Course:
    patient = sample_patient(random_stream(seed, "patient"))
    body = Physiology(patient, row.regimen, 0.0, random_stream(seed, "physiology"))
    observer = ObservationRound(random_stream(seed, "observer"), STEP_MIN * 60)
    systolic, diastolic, drug, moaas, letters, news2 = [], [], [], {}, [], []
    for minute in range(0, SPAN_MIN + 1, STEP_MIN):
        vitals = body.step(minute * 60.0)
        systolic.append(vitals.systolic - patient.systolic)
        drug.append(body.effect.systolic)
        diastolic.append(vitals.diastolic - patient.diastolic)
        (made,) = observer.tick(minute * 60.0, vitals, body.effect.sedation)
        assert isinstance(made, SimObservation)
        moaas[minute] = int(made.values["sedation"])
        if minute <= row.window_min:
            letters.append(made.values["consciousness"])
            # The round's counted breaths, temperature and ACVPU beside the monitor's values.
            shown = {"heart_rate": round(vitals.heart_rate), "systolic": round(vitals.systolic)}
            news2.append(_news2({**made.values, **shown, "spo2": round(vitals.spo2)}))
    return _Course(
        alert=all(letter == "A" for letter in letters),
        deep=min(moaas.values()) < 4,
        systolic=systolic,
        diastolic=diastolic,
        drug_systolic=drug,
        sedated_90=moaas[90] < 5,
        sedated_120=moaas[120] < 5,
        news2_peak=max(news2),
    )


def simulate(row: Row, seeds: Sequence[int]) -> Figures:
    """The figures of `row` over the patients of `seeds`."""
    courses = [_course(row, seed) for seed in seeds]
    n = len(courses)
    # The peak of the drug's mean effect: the drift would move a flat-topped mean by minutes.
    steps = range(len(courses[0].drug_systolic))
    mean_drug = [statistics.fmean(c.drug_systolic[i] for c in courses) for i in steps]
    at_40 = 40 // STEP_MIN
    within = RISE_WITHIN_MIN // STEP_MIN + 1

    def share(flags: list[bool]) -> float:
        return sum(flags) / n

    return Figures(
        label=row.label,
        patients=n,
        alert_throughout=share([c.alert for c in courses]),
        moaas_below_4=share([c.deep for c in courses]),
        systolic_rise_40=statistics.fmean(c.systolic[at_40] for c in courses),
        diastolic_rise_40=statistics.fmean(c.diastolic[at_40] for c in courses),
        peak_min=STEP_MIN * max(steps, key=mean_drug.__getitem__),
        rise_40_25=share(
            [max(c.systolic[:within]) >= 40 or max(c.diastolic[:within]) >= 25 for c in courses]
        ),
        sedated_90=share([c.sedated_90 for c in courses]),
        sedated_120=share([c.sedated_120 for c in courses]),
        news2_peak=tuple(c.news2_peak for c in courses),
    )


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _news2_text(peaks: Sequence[int]) -> str:
    n = len(peaks)
    low = sum(p <= 2 for p in peaks) / n
    mid = sum(3 <= p <= 4 for p in peaks) / n
    high = sum(p >= 5 for p in peaks) / n
    return f"0–2: {_pct(low)}, 3–4: {_pct(mid)}, ≥5: {_pct(high)}"


def table(figures: Sequence[Figures]) -> str:
    """A Markdown table: each simulated figure beside the published one."""
    lines = [
        "| regimen | figure | simulated | published |",
        "| --- | --- | --- | --- |",
    ]
    for f in figures:
        published = PUBLISHED[f.label]
        rows = [
            (
                "ACVPU A at every round (IV: infusion; nasal: 1st hour)",
                _pct(f.alert_throughout),
                published["alert"],
            ),
            ("MOAA/S below 4 at any round", _pct(f.moaas_below_4), published["moaas_below_4"]),
            (
                "BP change at 40 min (mean, mmHg)",
                f"{f.systolic_rise_40:+.1f}/{f.diastolic_rise_40:+.1f}",
                published["rise_40"],
            ),
            ("mean systolic peak, min after dosing starts", f"{f.peak_min}", published["peak"]),
            ("rise ≥ 40/25 mmHg within 1.5 h", _pct(f.rise_40_25), published["rise_40_25"]),
            ("sedated (MOAA/S < 5) at 90 min", _pct(f.sedated_90), published["sedated_90"]),
            ("sedated at 120 min", _pct(f.sedated_120), published["sedated_120"]),
            ("highest NEWS2 in the window", _news2_text(f.news2_peak), "—"),
        ]
        for i, (name, simulated, source) in enumerate(rows):
            head = f"{f.label} (n={f.patients})" if i == 0 else ""
            lines.append(f"| {head} | {name} | {simulated} | {source} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200, help="seeded patients per regimen")
    args = parser.parse_args(argv)
    if not 1 <= args.patients <= 5000:
        parser.error("--patients must be between 1 and 5000")
    seeds = range(args.patients)
    print(table([simulate(row, seeds) for row in ROWS]))


if __name__ == "__main__":
    main()
