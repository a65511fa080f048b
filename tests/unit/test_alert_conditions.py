"""Breach, condition delay and hysteresis at their boundaries, without a server."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from backend.alerts.conditions import ConditionState, elapse, observe
from backend.alerts.limits import (
    AlertPhase,
    Bound,
    Direction,
    Priority,
    VitalLimit,
    clinic_defaults,
)

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
HR = VitalLimit(Bound(120, 140), Bound(50, 40), delay_s=10, hysteresis=3)
BP = VitalLimit(Bound(160, 180), Bound(90, 80), delay_s=0, hysteresis=5)
SPO2 = VitalLimit(Bound(), Bound(92, 89), delay_s=15, high_delay_s=10, hysteresis=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(
    limit: VitalLimit, direction: Direction, samples: Sequence[tuple[float, float]]
) -> ConditionState:
    state = ConditionState()
    for seconds, value in samples:
        state = observe(state, limit, direction, value, at(seconds))
    return state


def test_a_value_on_the_limit_is_not_a_breach_and_one_beyond_is() -> None:
    assert feed(BP, Direction.ABOVE, [(0, 160)]).present is None
    assert feed(BP, Direction.ABOVE, [(0, 161)]).present is Priority.MEDIUM
    assert feed(BP, Direction.ABOVE, [(0, 180)]).present is Priority.MEDIUM
    assert feed(BP, Direction.ABOVE, [(0, 181)]).present is Priority.HIGH
    assert feed(BP, Direction.BELOW, [(0, 90)]).present is None
    assert feed(BP, Direction.BELOW, [(0, 79)]).present is Priority.HIGH


def test_a_breach_alarms_only_once_it_has_lasted_the_condition_delay() -> None:
    samples = [(s, 130.0) for s in range(0, 10)]
    assert feed(HR, Direction.ABOVE, samples).present is None  # 9 s
    assert feed(HR, Direction.ABOVE, [*samples, (10, 130)]).present is Priority.MEDIUM


def test_a_breach_interrupted_before_the_delay_starts_its_clock_again() -> None:
    samples = [(0, 130.0), (5, 130.0), (6, 110.0), (7, 130.0), (16, 130.0)]
    assert feed(HR, Direction.ABOVE, samples).present is None
    assert feed(HR, Direction.ABOVE, [*samples, (17, 130)]).present is Priority.MEDIUM


def test_the_delay_completes_with_time_alone_when_no_new_value_comes() -> None:
    state = feed(HR, Direction.ABOVE, [(0, 150)])
    assert elapse(state, HR, Direction.ABOVE, at(9.9)).present is None
    assert elapse(state, HR, Direction.ABOVE, at(10)).present is Priority.HIGH


def test_spo2_reaches_high_priority_on_its_shorter_delay() -> None:
    state = feed(SPO2, Direction.BELOW, [(s, 88.0) for s in range(0, 11)])
    assert state.present is Priority.HIGH
    state = feed(SPO2, Direction.BELOW, [(s, 91.0) for s in range(0, 11)])
    assert state.present is None
    state = feed(SPO2, Direction.BELOW, [(s, 91.0) for s in range(0, 16)])
    assert state.present is Priority.MEDIUM


def test_a_value_hovering_just_inside_the_limit_keeps_the_condition_until_clearly_back() -> None:
    breached = feed(BP, Direction.ABOVE, [(0, 165)])
    held = observe(breached, BP, Direction.ABOVE, 156, at(60))  # inside, but by less than 5
    assert held.present is Priority.MEDIUM
    cleared = observe(held, BP, Direction.ABOVE, 155, at(120))  # back by the full margin
    assert cleared.present is None


def test_hysteresis_holds_at_the_first_limits_priority_after_a_high_breach() -> None:
    state = feed(BP, Direction.ABOVE, [(0, 190)])
    assert state.present is Priority.HIGH
    assert observe(state, BP, Direction.ABOVE, 170, at(5)).present is Priority.MEDIUM
    assert observe(state, BP, Direction.ABOVE, 158, at(5)).present is Priority.MEDIUM
    assert observe(state, BP, Direction.ABOVE, 150, at(5)).present is None


def test_the_clinic_defaults_follow_the_clinical_reference() -> None:
    infusing = clinic_defaults().for_phase(AlertPhase.INFUSING)
    assert infusing.vitals["heart_rate"].above == Bound(120, 140)
    assert infusing.vitals["spo2"].below == Bound(92, 89)  # < 92 medium, ≤ 88 high
    assert infusing.vitals["respiratory_rate"].below == Bound(10, 9)  # < 10 medium, ≤ 8 high
    assert infusing.baseline_rise is not None
    assert (infusing.baseline_rise.systolic, infusing.baseline_rise.diastolic) == (40, 25)
    assert infusing.bp_due_every_s == 600
    assert clinic_defaults().for_phase(AlertPhase.RECOVERY).bp_due_every_s == 900
    assert clinic_defaults().for_phase(AlertPhase.BASELINE).no_data_after_s is None
