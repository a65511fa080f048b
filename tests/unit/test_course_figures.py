"""A patient's course: the figures of one session, worked out from what its record holds."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from backend.alerts.baseline import BloodPressure
from backend.course.figures import (
    HighAlarm,
    Observation,
    SessionFacts,
    course_row,
    deepest_consciousness,
    peak_rise,
    readiness,
)
from backend.reports.record import PhaseStep

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def step(from_phase: str | None, to_phase: str, minutes: float) -> PhaseStep:
    return PhaseStep(from_phase, to_phase, at(minutes), at(minutes), "nurse", None, None)


# Baseline from 0, dosing 10-50, recovery from 50, discharged at 150.
DISCHARGED = (
    step(None, "baseline", 0),
    step("baseline", "infusing", 10),
    step("infusing", "recovery", 50),
    step("recovery", "discharged", 150),
)


def facts(**changes: object) -> SessionFacts:
    base = SessionFacts(
        id=7,
        created_at=T0,
        drug="ketamine",
        route="iv",
        planned_dose_mg=35,
        weight_kg=70,
        phase="discharged",
        phases=DISCHARGED,
        baseline=BloodPressure(120, 80),
        peak_systolic=141,
        peak_diastolic=93,
        lowest_spo2=94,
        deepest_sedation=3,
        consciousness=frozenset({"A", "V"}),
        alarms=2,
        high_alarms=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def alert_round(
    minutes: float, *, bp: bool = True, letter: str = "A", moaas: int = 5
) -> Observation:
    return Observation(
        at(minutes),
        systolic=128 if bp else None,
        diastolic=82 if bp else None,
        consciousness=letter,
        sedation=moaas,
    )


def test_peak_rise_is_the_highest_value_after_dosing_minus_the_baseline() -> None:
    row = course_row(facts())
    assert (row.peak_systolic_rise, row.peak_diastolic_rise) == (21, 13)
    assert (row.baseline_systolic, row.baseline_diastolic) == (120, 80)


def test_no_peak_rise_without_a_baseline_or_without_a_reading_after_dosing() -> None:
    assert course_row(facts(baseline=None)).peak_systolic_rise is None
    assert course_row(facts(peak_systolic=None)).peak_systolic_rise is None
    assert course_row(facts(peak_systolic=None)).peak_diastolic_rise == 13
    assert peak_rise(None, 150) is None and peak_rise(130, None) is None


def test_a_pressure_that_never_came_back_up_is_a_negative_rise_not_none() -> None:
    assert peak_rise(130, 118) == -12


def test_a_baseline_with_only_a_systolic_gives_only_a_systolic_rise() -> None:
    row = course_row(facts(baseline=BloodPressure(120, None)))
    assert (row.peak_systolic_rise, row.peak_diastolic_rise) == (21, None)


def test_dose_per_kg_and_the_deepest_consciousness() -> None:
    row = course_row(facts())
    assert row.dose_mg_per_kg == 0.5
    assert row.deepest_consciousness == "V"
    assert course_row(facts(weight_kg=None)).dose_mg_per_kg is None
    assert deepest_consciousness({"A", "C"}) == "C"
    assert deepest_consciousness({"P", "V", "A"}) == "P"
    assert deepest_consciousness(set()) is None
    assert deepest_consciousness({"?"}) is None


def test_ready_at_the_first_round_that_is_alert_with_a_recent_pressure() -> None:
    rounds = (
        alert_round(45, letter="A", moaas=5),  # during dosing: says nothing about leaving
        alert_round(60, letter="V", moaas=3),
        alert_round(75, letter="A", moaas=4),
        alert_round(90, letter="A", moaas=5),
        alert_round(105),
    )
    row = course_row(facts(observations=rounds))
    assert row.dosing_ended_at == at(50)
    assert row.ready_at == at(90)
    assert row.minutes_to_ready == 40
    assert row.ready_note is None


def test_the_minimum_observation_time_is_set_aside() -> None:
    # Alert 5 min after an esketamine dose ended: the 2-hour rule would hold the patient, but
    # the figure is when they would have been ready without it (as the REMS form asks).
    row = course_row(facts(drug="esketamine", observations=(alert_round(55),)))
    assert row.minutes_to_ready == 5


def test_an_alert_patient_without_a_recent_pressure_is_not_ready_until_one_is_taken() -> None:
    rounds = (
        Observation(at(30), systolic=130, diastolic=85),
        alert_round(70, bp=False),  # the last BP is 40 min old
        Observation(at(84), systolic=126, diastolic=80),
    )
    ended, ready, _ = readiness(facts(observations=rounds))
    assert ended == at(50)
    assert ready == at(84)


def test_a_pressure_from_just_before_dosing_ended_counts_as_recent() -> None:
    rounds = (Observation(at(45), systolic=130, diastolic=85), alert_round(55, bp=False))
    assert readiness(facts(observations=rounds))[1] == at(55)


def test_an_open_high_alarm_holds_readiness_until_it_ends() -> None:
    alarm = HighAlarm(at(58), at(97), "SpO2 low: 87 %")
    rounds = (alert_round(60), alert_round(90), Observation(at(100), systolic=125, diastolic=80))
    ready = readiness(facts(observations=rounds, high_alarm_spans=(alarm,)))[1]
    # Resolved at 97 with the BP from 90 still recent: ready then, not at the next reading.
    assert ready == at(97)


def test_an_alarm_still_open_at_discharge_means_never_ready_on_the_record() -> None:
    alarm = HighAlarm(at(58), None, "Systolic high: 190")
    _, ready, note = readiness(facts(observations=(alert_round(60),), high_alarm_spans=(alarm,)))
    assert ready is None
    assert note == "not seen on the record"


def test_a_profile_that_does_not_ask_for_alertness_needs_only_a_pressure() -> None:
    rounds = (alert_round(60, letter="V", moaas=3),)
    assert readiness(facts(observations=rounds))[1] is None
    assert readiness(facts(observations=rounds, require_alertness=False))[1] == at(60)


def test_readings_after_the_session_ended_are_not_readiness() -> None:
    rounds = (alert_round(60, letter="V", moaas=2), alert_round(160))
    assert readiness(facts(observations=rounds))[1:] == (None, "not seen on the record")


def test_no_readiness_for_a_session_that_never_reached_recovery() -> None:
    not_dosed = (step(None, "baseline", 0), step("baseline", "stopped", 20))
    stopped = (*DISCHARGED[:2], step("infusing", "stopped", 30))
    dosing = DISCHARGED[:2]
    assert readiness(facts(phases=not_dosed)) == (None, None, "not dosed")
    assert readiness(facts(phases=stopped)) == (None, None, "stopped during dosing")
    assert readiness(facts(phases=dosing, phase="infusing")) == (None, None, "still dosing")


def test_an_open_session_in_recovery_is_not_ready_yet() -> None:
    row = course_row(facts(phases=DISCHARGED[:3], phase="recovery"))
    assert (row.ready_at, row.ready_note) == (None, "not yet")


def test_capped_observations_say_so_rather_than_claim_never() -> None:
    rounds = (alert_round(60, letter="V", moaas=2),)
    note = readiness(facts(observations=rounds, observations_capped=True))[2]
    assert note == "too many readings to judge"
