"""The simulated body: events start and end smoothly, steering hands back without a jump."""

import itertools
import random

import pytest

from simulators.events import HypertensiveSurge, Release, Steer, Vasovagal
from simulators.patient import Patient
from simulators.physiology import Episode, Physiology, smooth_ramp
from simulators.regimen import KetamineInfusion

PATIENT = Patient(
    age=40,
    weight_kg=70,
    heart_rate=70,
    systolic=120,
    diastolic=75,
    spo2=98,
    respiratory_rate=14,
    temperature=36.7,
    variability=0.0,  # no drift: only the events move the vitals
)


def _body() -> Physiology:
    # Dosing far in the future: no drug effect during these tests.
    return Physiology(PATIENT, KetamineInfusion(), 600.0, random.Random(1))


def _trace(body: Physiology, start: int, end: int, vital: str) -> list[float]:
    return [getattr(body.step(float(t)), vital) for t in range(start, end)]


def test_smooth_ramp_has_no_corners() -> None:
    assert smooth_ramp(-1) == 0 and smooth_ramp(0) == 0
    assert smooth_ramp(0.5) == pytest.approx(0.5)
    assert smooth_ramp(1) == 1 and smooth_ramp(2) == 1
    assert smooth_ramp(0.01) < 0.001  # starts flat


def test_episode_weight_rises_holds_and_falls() -> None:
    episode = Episode(start_s=100, onset_s=60, plateau_s=120, offset_s=60)
    weights = [episode.weight(t) for t in (99, 100, 130, 160, 280, 310, 340, 400)]
    assert weights == pytest.approx([0, 0, 0.5, 1, 1, 0.5, 0, 0])


def test_surge_onset_and_offset_are_gradual() -> None:
    body = _body()
    body.step(10.0)
    body.apply(HypertensiveSurge(onset_s=180, duration_s=300, offset_s=300), 10.0)
    trace = _trace(body, 11, 900, "systolic")
    steps = [abs(b - a) for a, b in itertools.pairwise(trace)]
    assert max(steps) < 0.6  # mmHg per second
    assert max(trace) > 170
    assert trace[-1] < 121


def test_vasovagal_pulls_to_its_levels_whatever_the_start() -> None:
    body = _body()
    body.apply(Vasovagal(heart_rate=45, systolic=80, diastolic=45), 0.0)
    _trace(body, 1, 60, "systolic")
    vitals = body.step(60.0)
    assert (round(vitals.systolic), round(vitals.diastolic)) == (80, 45)
    assert abs(vitals.heart_rate - 45) < 5  # beat-to-beat variability stays


def test_release_hands_back_without_a_jump() -> None:
    body = _body()
    body.apply(Steer(vital="systolic", target=170, over_s=30), 0.0)
    _trace(body, 1, 100, "systolic")
    body.apply(Release(vital="systolic", over_s=60), 100.0)
    trace = _trace(body, 100, 200, "systolic")
    assert abs(trace[0] - 170) < 0.5
    assert max(abs(b - a) for a, b in itertools.pairwise(trace)) < 2
    assert abs(trace[-1] - 120) < 1


def test_resteering_starts_from_where_the_vital_is() -> None:
    body = _body()
    body.apply(Steer(vital="heart_rate", target=130, over_s=60), 0.0)
    _trace(body, 1, 30, "heart_rate")
    body.apply(Steer(vital="heart_rate", target=50, over_s=60), 30.0)
    trace = _trace(body, 30, 100, "heart_rate")
    assert max(abs(b - a) for a, b in itertools.pairwise(trace)) < 5
    assert abs(trace[-1] - 50) < 5


def test_diastolic_stays_below_systolic_when_systolic_is_steered_low() -> None:
    body = _body()
    body.apply(Steer(vital="systolic", target=60, over_s=0), 0.0)
    vitals = body.step(1.0)
    assert vitals.diastolic <= vitals.systolic - 10
