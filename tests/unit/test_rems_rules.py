"""The REMS form's pure rules: which reading answers each blood-pressure question, what the
record says of sedation, breathing and readiness, when the form is due, and what completes it."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.core.timeutil import clinic_day
from backend.rems import rules
from backend.rems.rules import BpReading, Context, Source
from backend.reports.record import AlarmRow, PhaseStep, ReadingRow, SessionRecord

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def bp(minutes: float, systolic: int = 120, diastolic: int = 80) -> BpReading:
    return BpReading(at(minutes), systolic, diastolic, f"r{minutes}")


def reading(minutes: float, **values: Any) -> ReadingRow:
    return ReadingRow(
        id=f"r{minutes}-{sorted(values)}",
        taken_at=at(minutes),
        received_at=at(minutes),
        source="manual",
        entered_by="nurse",
        values=values,
    )


def alarm(minutes: float, condition: str, *, withdrawn: str | None = None) -> AlarmRow:
    return AlarmRow(
        id=1,
        condition=condition,
        kind="limit",
        priority="high",
        status="resolved",
        message="SpO2 85 % below 89",
        value=85,
        raised_at=at(minutes),
        acknowledged_at=None,
        acknowledged_by=None,
        note=None,
        resolved_at=None,
        escalated_at=None,
        withdrawn_reason=withdrawn,
        reading_id=None,
    )


def record(
    readings: list[ReadingRow],
    *,
    ended: float | None = 130,
    dosed: bool = True,
    alarms: tuple[AlarmRow, ...] = (),
    dose: float | None = 84,
    by: str = "Jo Nurse",
) -> SessionRecord:
    phases = [PhaseStep(None, "baseline", at(-30), at(-30), "Jo Nurse", None, None)]
    if dosed:
        phases.append(PhaseStep("baseline", "infusing", at(0), at(0), by, None, None))
        phases.append(PhaseStep("infusing", "recovery", at(10), at(10), by, None, None))
    if ended is not None:
        phases.append(PhaseStep("recovery", "discharged", at(ended), at(ended), by, None, None))
    return SessionRecord(
        id=7,
        simulated=False,
        patient_name="Ada Lovelace",
        patient_clinic_id="MRN 7",
        chair="Chair 3",
        drug="esketamine",
        route="intranasal",
        planned_dose_mg=dose,
        weight_kg=None,
        planned_duration_min=None,
        created_at=at(-30),
        created_by="Jo Nurse",
        ended_at=at(ended) if ended is not None else None,
        phase="discharged" if ended is not None else "recovery",
        notes=None,
        gate_override_by=None,
        gate_override_at=None,
        spo2_scale=1,
        news2_max_age=timedelta(minutes=30),
        generated_at=at(200),
        phases=phases,
        readings=readings,
        alarms=alarms,
    )


CONTEXT = Context(zone=LONDON, setting="Riverside · Main room", earlier_treatments=())


# --- choosing a blood pressure ---


def test_the_nearest_reading_in_the_window_wins_and_a_tie_goes_to_the_earlier() -> None:
    readings = [bp(30), bp(36), bp(44), bp(52)]
    chosen = rules.nearest_reading(readings, at(40), at(30), at(50))
    assert chosen is not None and chosen.taken_at == at(36)  # 4 min off, as is 44: earlier wins


def test_a_reading_outside_the_window_is_never_chosen_however_near() -> None:
    assert rules.nearest_reading([bp(29.9), bp(50.1)], at(40), at(30), at(50)) is None
    edge = rules.nearest_reading([bp(30), bp(50)], at(40), at(30), at(50))
    assert edge is not None and edge.taken_at == at(30)  # both edges count; a tie: the earlier


def test_the_three_blood_pressures_of_the_form() -> None:
    readings = [bp(-70), bp(-12, 131, 84), bp(-3, 128, 82), bp(20), bp(41, 150, 95), bp(47)]
    readings += [bp(100), bp(118, 132, 85), bp(131)]
    before, at_40, before_end = rules.choose_bp_readings(readings, START, at(130))
    assert before is not None and (before.systolic, before.diastolic) == (128, 82)
    assert at_40 is not None and (at_40.systolic, at_40.diastolic) == (150, 95)
    assert before_end is not None and (before_end.systolic, before_end.diastolic) == (132, 85)


def test_no_reading_is_before_the_end_while_the_session_goes_on_nor_after_it() -> None:
    readings = [bp(-5), bp(40), bp(125)]
    assert rules.choose_bp_readings(readings, START, None)[2] is None
    # A session stopped at 45 min: its 40-min reading may also be the last one, none after 45.
    _, at_40, before_end = rules.choose_bp_readings([bp(-5), bp(40), bp(46)], START, at(45))
    assert at_40 is not None and at_40.taken_at == at(40)
    assert before_end is not None and before_end.taken_at == at(40)


def test_a_pre_dose_reading_over_an_hour_old_does_not_answer() -> None:
    assert rules.choose_bp_readings([bp(-61), bp(5)], START, at(130))[0] is None


def test_readings_in_error_and_partial_pressures_are_not_blood_pressures() -> None:
    wrong = ReadingRow(
        "x", at(-5), at(-5), "manual", "n", {"systolic": 200, "diastolic": 120}, error_at=at(-4)
    )
    partial = reading(-4, systolic=130)
    good = reading(-3, systolic=126, diastolic=80)
    found = rules.blood_pressures(record([wrong, partial, good]))
    assert [(b.systolic, b.diastolic) for b in found] == [(126, 80)]


# --- what the record answers ---


def _answers(rec: SessionRecord, context: Context = CONTEXT) -> dict[str, rules.Answer]:
    return rules.record_answers(rec, context)


def test_sedation_is_observed_at_any_unclear_check_after_dosing_and_readiness_follows() -> None:
    checks = [
        reading(-5, consciousness="A", sedation=5),  # before dosing: not counted
        reading(20, consciousness="A", sedation=5),
        reading(45, consciousness="V", sedation=3),
        reading(60, consciousness="A", sedation=4),
        reading(75, consciousness="A"),
        reading(90, sedation=5),
    ]
    answers = _answers(record(checks))
    assert answers["sedation"].value is True
    assert "MOAA/S 3" in answers["sedation"].detail and "2 of 5" in answers["sedation"].detail
    assert answers["minutes_until_ready"].value == 75


def test_no_sedation_when_every_check_after_dosing_is_clear_and_ready_not_before_dosing_ends() -> (
    None
):
    answers = _answers(record([reading(5, consciousness="A", sedation=5)]))
    assert answers["sedation"].value is False
    assert answers["minutes_until_ready"].value == 10  # dosing ended at 10 min


def test_readiness_is_unknown_while_the_last_check_is_not_clear_or_none_was_made() -> None:
    assert _answers(record([reading(100, sedation=4)]))["minutes_until_ready"].value is None
    nothing = _answers(record([]))
    assert nothing["minutes_until_ready"].value is None
    assert nothing["sedation"].value is None  # no check: the record cannot say "no"


def test_respiratory_depression_from_a_standing_low_spo2_alarm_after_dosing() -> None:
    spo2 = [reading(30, spo2=96, respiratory_rate=12), reading(50, spo2=97)]
    low = alarm(40, "spo2.below")
    assert _answers(record(spo2, alarms=(low,)))["respiratory_depression"].value is True
    withdrawn = alarm(40, "spo2.below", withdrawn="probe off")
    before = alarm(-5, "respiratory_rate.below")
    other = alarm(40, "systolic.above")
    quiet = _answers(record(spo2, alarms=(withdrawn, before, other)))["respiratory_depression"]
    assert quiet.value is False
    assert "lowest SpO2 96%" in quiet.detail and "12/min" in quiet.detail
    assert _answers(record([]))["respiratory_depression"].value is None


def test_times_dose_clinician_and_first_treatment() -> None:
    answers = _answers(record([reading(30, spo2=97)]))
    assert answers["monitoring_minutes"].value == 130
    assert answers["pulse_oximetry"].value is True
    assert answers["dose_mg"].value == 84
    assert answers["monitoring_clinician"].value == "Jo Nurse"
    assert answers["treatment_date"].value == "2026-12-01"
    assert answers["first_treatment"].value is None  # earlier ones may predate Vigil: asked
    earlier = Context(LONDON, "x", earlier_treatments=(at(-7 * 24 * 60),))
    assert _answers(record([]), earlier)["first_treatment"].value is False
    assert _answers(record([], dose=28))["dose_mg"].value is None
    assert _answers(record([], by="token:gateway"))["monitoring_clinician"].value is None


def test_the_vital_signs_judgements_are_asked_with_the_records_evidence_beside_them() -> None:
    answers = _answers(record([reading(125, systolic=130, diastolic=84)]))
    assert answers["vitals_ok_before_dosing"].value is None
    assert answers["vitals_ok_before_dosing"].detail == "the pre-dose gate was passed"
    leaving = answers["vitals_ok_before_leaving"]
    assert leaving.value is None and leaving.detail == "discharged at 16:10, last BP 130/84 mmHg"
    assert rules.refused_entry("vitals_ok_before_leaving", answers) is None


def test_before_dosing_the_record_answers_only_who_and_where() -> None:
    answers = _answers(record([], dosed=False, ended=None))
    assert answers["patient_name"].value == "Ada Lovelace"
    assert answers["setting"].value == "Riverside · Main room"
    assert answers["bp_before"].value is None
    assert answers["monitoring_minutes"].detail == "dosing has not started"


def test_a_date_of_birth_on_the_patient_answers_the_form() -> None:
    born = Context(LONDON, "x", (), date_of_birth=date(1971, 3, 9))
    assert _answers(record([]), born)["date_of_birth"].value == "1971-03-09"
    assert _answers(record([]))["date_of_birth"].value is None


# --- due dates, on the clinic's calendar ---


def test_due_seven_days_after_the_treatment_on_the_clinics_calendar() -> None:
    late_evening = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 June in London
    assert clinic_day(late_evening, LONDON) == date(2026, 6, 2)
    assert rules.due_date(late_evening, LONDON) == date(2026, 6, 9)
    assert not rules.is_overdue(late_evening, LONDON, datetime(2026, 6, 9, 22, 59, tzinfo=UTC))
    assert rules.is_overdue(late_evening, LONDON, datetime(2026, 6, 9, 23, 0, tzinfo=UTC))


# --- what a person may enter, and what completes the form ---


def test_the_record_wins_on_facts_and_a_clinician_may_answer_judgements_otherwise() -> None:
    answers = _answers(record([reading(-5, systolic=128, diastolic=82), reading(45, sedation=3)]))
    assert rules.refused_entry("bp_before", answers) is not None
    assert "128/82" in (rules.refused_entry("bp_before", answers) or "")
    assert rules.refused_entry("bp_40min", answers) is None  # the record has none: asked
    assert rules.refused_entry("sedation", answers) is None  # a judgement: may differ
    states = {s.question.key: s for s in rules.field_states(answers, {"sedation": False})}
    assert (states["sedation"].value, states["sedation"].source) == (False, Source.ENTERED)
    assert states["sedation"].record_value is True
    assert states["bp_before"].source is Source.RECORD and not states["bp_before"].editable
    # An entry for a fact the record later came to hold gives way to the record.
    stale = rules.field_states(answers, {"bp_before": {"systolic": 1, "diastolic": 0}})
    bp_before = next(s for s in stale if s.question.key == "bp_before")
    assert bp_before.value == {"systolic": 128, "diastolic": 82}


def test_the_form_is_whole_only_with_every_required_answer_and_an_sae_described() -> None:
    answers = _answers(record([reading(40, systolic=140, diastolic=90)]))
    states = rules.field_states(answers, {})
    gaps = {q.key for q in rules.missing(states)}
    assert {"date_of_birth", "sex", "device_lot", "bp_before", "dissociation"} <= gaps
    assert "sae_description" not in gaps
    everything = {q.key: _sample(q) for q in rules.QUESTIONS if q.key != "sae_description"}
    whole = rules.field_states(answers, everything)
    assert rules.missing(whole) == []
    sae = rules.field_states(answers, everything | {"serious_adverse_event": True})
    assert [q.key for q in rules.missing(sae)] == ["sae_description"]


def _sample(q: rules.Question) -> Any:
    return {
        rules.Kind.TEXT: "x",
        rules.Kind.DATE: "2026-01-01",
        rules.Kind.CHOICE: "female",
        rules.Kind.MULTI: ["none"],
        rules.Kind.YES_NO: False,
        rules.Kind.BP: {"systolic": 120, "diastolic": 80},
        rules.Kind.MINUTES: 90,
        rules.Kind.DOSE: 56,
    }[q.kind]


def test_answers_print_as_the_form_shows_them() -> None:
    q = rules.QUESTION_BY_KEY
    assert rules.shown(q["bp_40min"], {"systolic": 150, "diastolic": 95}) == "150/95 mmHg"
    assert rules.shown(q["sedation"], False) == "No"
    assert rules.shown(q["concomitant_medicines"], ["maois", "opioids"]) == (
        "Monoamine oxidase inhibitors (MAOIs), Opioids"
    )
    assert rules.shown(q["date_of_birth"], "1971-03-09") == "09 Mar 1971"
    assert rules.shown(q["dose_mg"], None) == "—"
