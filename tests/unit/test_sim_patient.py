"""Sampled patients are plausible adults, reproducible, and can be pinned by field."""

import random
import statistics

import pytest

from simulators.patient import LIMITS, Patient, sample_patient


def test_sampled_patients_are_plausible_adults() -> None:
    rng = random.Random(1)
    patients = [sample_patient(rng) for _ in range(1000)]
    for patient in patients:
        for name, (low, high) in LIMITS.items():
            assert low <= getattr(patient, name) <= high
        assert patient.diastolic <= patient.systolic - 25
    assert 110 < statistics.fmean(p.systolic for p in patients) < 135
    assert 65 < statistics.fmean(p.heart_rate for p in patients) < 85
    # The sensitivities average 1, so the cohort responds as effects.py is calibrated.
    assert abs(statistics.fmean(p.pressor_sensitivity for p in patients) - 1) < 0.06
    assert statistics.stdev(p.pressor_sensitivity for p in patients) > 0.3


def test_the_same_seed_gives_the_same_patient() -> None:
    assert sample_patient(random.Random(5)) == sample_patient(random.Random(5))
    assert sample_patient(random.Random(5)) != sample_patient(random.Random(6))


def test_overrides_pin_fields_and_leave_the_rest_as_drawn() -> None:
    drawn = sample_patient(random.Random(9))
    pinned = sample_patient(random.Random(9), weight_kg=120, heart_rate=88)
    assert (pinned.weight_kg, pinned.heart_rate) == (120, 88)
    assert pinned.spo2 == drawn.spo2
    assert pinned.pressor_sensitivity == drawn.pressor_sensitivity


def test_an_older_patient_gets_an_age_appropriate_pressure() -> None:
    young = sample_patient(random.Random(3), age=20)
    old = sample_patient(random.Random(3), age=80)
    assert old.systolic > young.systolic
    assert old.diastolic < old.systolic - 10


def test_bad_overrides_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown patient field"):
        sample_patient(random.Random(1), height_cm=180)
    with pytest.raises(ValueError, match="spo2"):
        sample_patient(random.Random(1), spo2=120)
    with pytest.raises(ValueError, match="diastolic"):
        sample_patient(random.Random(1), systolic=100, diastolic=95)


def test_a_patient_with_impossible_values_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="weight_kg"):
        Patient(
            age=40,
            weight_kg=10,
            heart_rate=70,
            systolic=120,
            diastolic=80,
            spo2=98,
            respiratory_rate=14,
            temperature=36.8,
        )
