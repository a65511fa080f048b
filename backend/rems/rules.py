"""The Spravato REMS Patient Monitoring Form: its questions, and what the session record answers.

Pure: plain functions over the session record (backend/reports/record.py) and a few facts the
service adds (site, earlier treatments, date of birth). The service stores what people enter;
this module decides, for each question, whether the record answers it, with what evidence, and
whether a form is complete. Questions and their order follow ../shared/clinical.md section 11.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from backend.core.timeutil import clinic_day
from backend.reports.record import AlarmRow, ReadingRow, SessionRecord, timeline

# The form is due within this many days of the treatment, counted on the clinic's calendar.
DUE_DAYS = 7

# How far from its target a blood pressure may be and still answer the form's question. The
# pre-dose reading: the last one before dosing, within an hour (the start checklist asks for one
# within 30 minutes; an hour leaves room for a start that was overridden). The ~40-minute reading:
# the one nearest 40 minutes after dosing started, within 10 minutes either way (the label's
# "about 40 minutes"; charts are taken every 10 minutes during dosing). Before the end: the last
# one within 30 minutes before the session ended (discharge asks for one within 15).
BEFORE_DOSING_WINDOW = timedelta(minutes=60)
AT_40_TARGET = timedelta(minutes=40)
AT_40_TOLERANCE = timedelta(minutes=10)
BEFORE_END_WINDOW = timedelta(minutes=30)

# Alarms that mean the patient's breathing was depressed: low SpO2 or a low respiratory rate, at
# the limits the clinic set for the session.
RESPIRATORY_CONDITIONS = frozenset({"spo2.below", "respiratory_rate.below"})

SPRAVATO_DOSES_MG = (56, 84)
CONCOMITANT_MEDICINES: dict[str, str] = {
    "benzodiazepines": "Benzodiazepines",
    "sedative_hypnotics": "Non-benzodiazepine sedative hypnotics",
    "psychostimulants": "Psychostimulants",
    "maois": "Monoamine oxidase inhibitors (MAOIs)",
    "opioids": "Opioids",
    "none": "None of these",
}
SEXES: dict[str, str] = {"female": "Female", "male": "Male"}


class Kind(StrEnum):
    """How a question is answered, on the wire and on the page."""

    TEXT = "text"
    DATE = "date"  # ISO date, the clinic's calendar
    CHOICE = "choice"  # one of `choices`
    MULTI = "multi"  # some of `choices`
    YES_NO = "yes_no"  # true / false
    BP = "bp"  # {"systolic": int, "diastolic": int}
    MINUTES = "minutes"  # a whole number of minutes
    DOSE = "dose"  # 56 or 84 (mg)


class Source(StrEnum):
    RECORD = "record"  # answered by the session record
    ENTERED = "entered"  # answered by a person on the form page
    MISSING = "missing"  # not answered yet


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    section: str
    kind: Kind
    choices: Mapping[str, str] = field(default_factory=dict)
    # A person may answer differently from the record (a judgement the record only suggests);
    # otherwise the record's answer stands and is corrected in the record itself.
    overridable: bool = False
    # The record never answers it (no such fact is kept): always entered.
    entered_only: bool = False
    required: bool = True


SECTIONS = (
    "Patient",
    "Healthcare setting",
    "Treatment",
    "Vital signs",
    "Assessments",
    "Monitoring time",
    "Serious adverse events",
)

QUESTIONS: tuple[Question, ...] = (
    Question("patient_name", "Patient name", "Patient", Kind.TEXT),
    Question("date_of_birth", "Date of birth", "Patient", Kind.DATE),
    Question("sex", "Sex", "Patient", Kind.CHOICE, SEXES, entered_only=True),
    Question("first_treatment", "First esketamine treatment", "Patient", Kind.YES_NO),
    Question(
        "concomitant_medicines",
        "Concomitant sedating or stimulant medicines",
        "Patient",
        Kind.MULTI,
        CONCOMITANT_MEDICINES,
        entered_only=True,
    ),
    Question("setting", "Healthcare setting", "Healthcare setting", Kind.TEXT),
    Question(
        "monitoring_clinician",
        "Monitoring healthcare provider",
        "Healthcare setting",
        Kind.TEXT,
        overridable=True,
    ),
    Question("treatment_date", "Date of treatment", "Treatment", Kind.DATE),
    Question("dose_mg", "Dose", "Treatment", Kind.DOSE),
    Question("device_lot", "Device lot number", "Treatment", Kind.TEXT, entered_only=True),
    Question("bp_before", "Blood pressure before dosing", "Vital signs", Kind.BP),
    Question("bp_40min", "Blood pressure about 40 minutes after dosing", "Vital signs", Kind.BP),
    Question("bp_end", "Blood pressure before the end of monitoring", "Vital signs", Kind.BP),
    Question(
        "vitals_ok_before_dosing",
        "Vital signs acceptable before dosing",
        "Vital signs",
        Kind.YES_NO,
        entered_only=True,
    ),
    Question(
        "vitals_ok_before_leaving",
        "Vital signs acceptable before leaving",
        "Vital signs",
        Kind.YES_NO,
        entered_only=True,
    ),
    Question("pulse_oximetry", "Pulse oximetry used", "Vital signs", Kind.YES_NO),
    Question("sedation", "Sedation observed", "Assessments", Kind.YES_NO, overridable=True),
    Question(
        "dissociation", "Dissociation observed", "Assessments", Kind.YES_NO, entered_only=True
    ),
    Question(
        "respiratory_depression",
        "Respiratory depression observed",
        "Assessments",
        Kind.YES_NO,
        overridable=True,
    ),
    Question(
        "monitoring_minutes", "Total monitoring time (minutes)", "Monitoring time", Kind.MINUTES
    ),
    Question(
        "minutes_until_ready",
        "Minutes until the patient would have been ready to leave (without the 2-hour rule)",
        "Monitoring time",
        Kind.MINUTES,
        overridable=True,
    ),
    Question(
        "serious_adverse_event",
        "Serious adverse event",
        "Serious adverse events",
        Kind.YES_NO,
        entered_only=True,
    ),
    Question(
        "sae_description",
        "Description of the serious adverse event",
        "Serious adverse events",
        Kind.TEXT,
        entered_only=True,
        required=False,  # required only when a serious adverse event is reported (`missing`)
    ),
)
QUESTION_BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}


@dataclass(frozen=True)
class Answer:
    """The record's answer to one question: the value (None: the record cannot say) and the
    evidence a person checks it against, in the clinic's time."""

    value: Any
    detail: str


@dataclass(frozen=True)
class Context:
    """What the form needs beyond the session record."""

    zone: tzinfo
    setting: str  # site · room of the chair
    earlier_treatments: Sequence[datetime]  # dosing starts of the patient's earlier real sessions
    date_of_birth: date | None = None


@dataclass(frozen=True)
class BpReading:
    taken_at: datetime
    systolic: int
    diastolic: int
    reading_id: str


def blood_pressures(record: SessionRecord) -> list[BpReading]:
    """Valid readings carrying a whole blood pressure, oldest first."""
    found: list[BpReading] = []
    for r in record.valid_readings:
        systolic, diastolic = r.values.get("systolic"), r.values.get("diastolic")
        if isinstance(systolic, int | float) and isinstance(diastolic, int | float):
            found.append(BpReading(r.taken_at, int(systolic), int(diastolic), r.id))
    return found


def nearest_reading(
    readings: Iterable[BpReading], target: datetime, earliest: datetime, latest: datetime
) -> BpReading | None:
    """The reading taken nearest `target` within [earliest, latest]; of two equally near, the
    earlier (the one the clinician saw first). None when no reading lies in the window."""
    best: BpReading | None = None
    for reading in readings:
        if not earliest <= reading.taken_at <= latest:
            continue
        distance = abs(reading.taken_at - target)
        if best is None or distance < abs(best.taken_at - target):
            best = reading
    return best


def choose_bp_readings(
    readings: Sequence[BpReading], dosing_start: datetime, end: datetime | None
) -> tuple[BpReading | None, BpReading | None, BpReading | None]:
    """The form's three blood pressures: before dosing, about 40 minutes after, before the end.
    `end` None: the session goes on, and no reading is "before the end" yet."""
    before = nearest_reading(
        readings, dosing_start, dosing_start - BEFORE_DOSING_WINDOW, dosing_start
    )
    target = dosing_start + AT_40_TARGET
    latest_40 = target + AT_40_TOLERANCE
    if end is not None:
        latest_40 = min(latest_40, end)
    at_40 = nearest_reading(readings, target, target - AT_40_TOLERANCE, latest_40)
    before_end = None
    if end is not None:
        before_end = nearest_reading(readings, end, max(end - BEFORE_END_WINDOW, dosing_start), end)
    return before, at_40, before_end


def _clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def when(moment: datetime, zone: tzinfo) -> str:
    """A date and time as the form gives them, on the clinic's clock."""
    return moment.astimezone(zone).strftime("%d %b %Y %H:%M")


def _minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)


def _bp_answer(reading: BpReading | None, start: datetime, zone: tzinfo, missing: str) -> Answer:
    if reading is None:
        return Answer(None, missing)
    offset = _minutes(reading.taken_at - start) if reading.taken_at >= start else None
    when = (
        f"{offset} min after dosing started"
        if offset is not None
        else f"{_minutes(start - reading.taken_at)} min before dosing"
    )
    value = {"systolic": reading.systolic, "diastolic": reading.diastolic}
    return Answer(value, f"taken at {_clock(reading.taken_at, zone)}, {when}")


def _assessments(
    readings: Sequence[ReadingRow], start: datetime, end: datetime
) -> list[ReadingRow]:
    return [
        r
        for r in readings
        if start <= r.taken_at <= end and ({"consciousness", "sedation"} & r.values.keys())
    ]


def _clear(reading: ReadingRow) -> bool:
    """Alert and not sedated in this reading's assessment (what it records of either)."""
    consciousness = reading.values.get("consciousness")
    sedation = reading.values.get("sedation")
    return (consciousness is None or consciousness == "A") and (sedation is None or sedation == 5)


def _assessment_text(reading: ReadingRow, zone: tzinfo) -> str:
    parts = []
    if "consciousness" in reading.values:
        parts.append(f"ACVPU {reading.values['consciousness']}")
    if "sedation" in reading.values:
        parts.append(f"MOAA/S {reading.values['sedation']}")
    return f"{', '.join(parts)} at {_clock(reading.taken_at, zone)}"


def sedation_answer(
    readings: Sequence[ReadingRow], start: datetime, end: datetime, zone: tzinfo
) -> Answer:
    """Sedation is observed when any assessment after dosing started is not alert (ACVPU other
    than A) or sedated (MOAA/S below 5); not observed when every one was clear."""
    checks = _assessments(readings, start, end)
    if not checks:
        return Answer(None, "no ACVPU or MOAA/S recorded after dosing started")
    unclear = [r for r in checks if not _clear(r)]
    if unclear:

        def depth(r: ReadingRow) -> int:
            sedation = r.values.get("sedation")
            return int(sedation) if isinstance(sedation, int | float) else 5

        deepest = min(unclear, key=depth)
        return Answer(
            True,
            f"{len(unclear)} of {len(checks)} assessments after dosing not clear; "
            f"deepest {_assessment_text(deepest, zone)}",
        )
    return Answer(False, f"alert and not sedated at all {len(checks)} assessments after dosing")


def ready_answer(
    readings: Sequence[ReadingRow],
    start: datetime,
    dosing_end: datetime | None,
    end: datetime,
    zone: tzinfo,
) -> Answer:
    """When the patient would have been ready to leave, by the record's sedation checks: from the
    first of the last unbroken run of clear assessments (alert, MOAA/S 5), and never before
    dosing ended. None while the last assessment is not clear or none was made."""
    checks = _assessments(readings, start, end)
    if not checks:
        return Answer(None, "no ACVPU or MOAA/S recorded after dosing started")
    if not _clear(checks[-1]):
        return Answer(
            None, f"the last assessment was not clear ({_assessment_text(checks[-1], zone)})"
        )
    first_clear = checks[-1]
    for reading in reversed(checks):
        if not _clear(reading):
            break
        first_clear = reading
    ready = first_clear.taken_at
    if dosing_end is not None and dosing_end > ready:
        ready = dosing_end
    return Answer(
        math.ceil((ready - start).total_seconds() / 60),
        f"alert and not sedated from {_clock(ready, zone)} at every later check "
        f"({_assessment_text(first_clear, zone)}); the record counts sedation only",
    )


def respiratory_answer(
    record: SessionRecord, alarms: Sequence[AlarmRow], start: datetime, end: datetime, zone: tzinfo
) -> Answer:
    """Respiratory depression is observed when a low-SpO2 or low-respiratory-rate alarm stood
    after dosing started (one withdrawn because its reading was entered in error never stood);
    not observed when SpO2 was monitored and no such alarm was raised."""
    raised = [
        a
        for a in alarms
        if a.condition in RESPIRATORY_CONDITIONS
        and a.withdrawn_reason is None
        and start <= a.raised_at <= end
    ]
    if raised:
        first = raised[0]
        more = f" and {len(raised) - 1} more" if len(raised) > 1 else ""
        return Answer(
            True,
            f"{first.priority} alarm at {_clock(first.raised_at, zone)}: {first.message}{more}",
        )
    spo2 = [
        r.values["spo2"]
        for r in record.valid_readings
        if start <= r.taken_at <= end and "spo2" in r.values
    ]
    if not spo2:
        return Answer(None, "no SpO2 recorded after dosing started")
    rates = [
        r.values["respiratory_rate"]
        for r in record.valid_readings
        if start <= r.taken_at <= end and "respiratory_rate" in r.values
    ]
    lowest_rate = f", lowest respiratory rate {min(rates)}/min" if rates else ""
    return Answer(
        False, f"no low SpO2 or respiratory-rate alarm; lowest SpO2 {min(spo2)}%{lowest_rate}"
    )


def oximetry_answer(record: SessionRecord, start: datetime, end: datetime, zone: tzinfo) -> Answer:
    times = [
        r.taken_at
        for r in record.valid_readings
        if start <= r.taken_at <= end and "spo2" in r.values
    ]
    if not times:
        return Answer(None, "no SpO2 recorded after dosing started")
    return Answer(
        True,
        f"{len(times)} SpO2 readings from {_clock(times[0], zone)} to {_clock(times[-1], zone)}",
    )


def dosing_start(record: SessionRecord) -> datetime | None:
    step = timeline(record).infusion_start
    return step.at if step is not None else None


def due_date(start: datetime, zone: tzinfo) -> date:
    """The treatment's date on the clinic's calendar, and the days the form allows."""
    return clinic_day(start, zone) + timedelta(days=DUE_DAYS)


def is_overdue(start: datetime, zone: tzinfo, now: datetime) -> bool:
    """Past the due date: the clinic's today is after it."""
    return clinic_day(now, zone) > due_date(start, zone)


def record_answers(record: SessionRecord, context: Context) -> dict[str, Answer]:
    """What the session record answers, question by question (value None: it cannot)."""
    zone = context.zone
    answers: dict[str, Answer] = {
        "patient_name": Answer(record.patient_name, f"clinic ID {record.patient_clinic_id}"),
        "setting": Answer(context.setting, f"chair {record.chair}"),
    }
    if context.date_of_birth is not None:
        answers["date_of_birth"] = Answer(context.date_of_birth.isoformat(), "the patient's record")
    else:
        answers["date_of_birth"] = Answer(None, "not on the patient's record")
    steps = timeline(record)
    start = steps.infusion_start
    earlier = sorted(t for t in context.earlier_treatments if start is None or t < start.at)
    if earlier:
        answers["first_treatment"] = Answer(
            False,
            f"{len(earlier)} earlier esketamine treatment(s) in Vigil, the last on "
            f"{when(earlier[-1], zone)}",
        )
    else:
        answers["first_treatment"] = Answer(
            None, "no earlier esketamine treatment in Vigil: treatments before it are not known"
        )
    dose = record.planned_dose_mg
    if dose is not None and dose in SPRAVATO_DOSES_MG:
        answers["dose_mg"] = Answer(int(dose), "the session's planned dose")
    else:
        planned = "none" if dose is None else f"{dose:g} mg"
        answers["dose_mg"] = Answer(
            None, f"the session's planned dose is {planned}: the form asks 56 or 84 mg"
        )
    if start is None:
        waiting = "dosing has not started"
        for key in (
            "monitoring_clinician",
            "treatment_date",
            "bp_before",
            "bp_40min",
            "bp_end",
            "pulse_oximetry",
            "sedation",
            "respiratory_depression",
            "monitoring_minutes",
            "minutes_until_ready",
        ):
            answers[key] = Answer(None, waiting)
        return answers
    by = start.by
    answers["monitoring_clinician"] = (
        Answer(None, f"dosing was started by an API client ({by})")
        if by.startswith("token:")
        else Answer(by, f"started dosing at {_clock(start.at, zone)}")
    )
    answers["treatment_date"] = Answer(
        clinic_day(start.at, zone).isoformat(), f"dosing started at {_clock(start.at, zone)}"
    )
    finished = steps.end.at if steps.end is not None else None
    before, at_40, before_end = choose_bp_readings(blood_pressures(record), start.at, finished)
    answers["bp_before"] = _bp_answer(
        before, start.at, zone, "no blood pressure in the hour before dosing"
    )
    answers["bp_40min"] = _bp_answer(
        at_40, start.at, zone, "no blood pressure 30–50 min after dosing started"
    )
    answers["bp_end"] = _bp_answer(
        before_end,
        start.at,
        zone,
        "the session goes on" if finished is None else "no blood pressure in the last 30 min",
    )
    # Evidence for the clinician's own judgement of the vital signs (the record does not judge).
    if record.gate_override_by:
        gate = f"dosing started above the pre-dose gate on {record.gate_override_by}'s decision"
        if record.gate_override_reason:
            gate += f": {record.gate_override_reason[:200]}"
    else:
        gate = "the pre-dose gate was passed"
    answers["vitals_ok_before_dosing"] = Answer(None, gate)
    if steps.end is not None and finished is not None:
        last = f", last BP {shown(QUESTION_BY_KEY['bp_end'], answers['bp_end'].value)}"
        leaving = f"{steps.end.to_phase} at {_clock(finished, zone)}"
        answers["vitals_ok_before_leaving"] = Answer(
            None, leaving + (last if answers["bp_end"].value is not None else "")
        )
    until = finished if finished is not None else record.end
    answers["pulse_oximetry"] = oximetry_answer(record, start.at, until, zone)
    answers["sedation"] = sedation_answer(record.valid_readings, start.at, until, zone)
    answers["respiratory_depression"] = respiratory_answer(
        record, record.alarms, start.at, until, zone
    )
    if finished is None:
        answers["monitoring_minutes"] = Answer(None, "the session goes on")
        answers["minutes_until_ready"] = Answer(None, "the session goes on")
    else:
        ending = steps.end.to_phase if steps.end is not None else "end"
        answers["monitoring_minutes"] = Answer(
            _minutes(finished - start.at),
            f"dosing started {_clock(start.at, zone)}, {ending} {_clock(finished, zone)}",
        )
        dosing_end = steps.infusion_end.at if steps.infusion_end is not None else None
        answers["minutes_until_ready"] = ready_answer(
            record.valid_readings, start.at, dosing_end, finished, zone
        )
    return answers


@dataclass(frozen=True)
class FieldState:
    """One question as the form shows it: the answer in force, where it came from, the record's
    own answer and evidence, and what a person entered (kept even when the record answers)."""

    question: Question
    value: Any
    source: Source
    record_value: Any
    record_detail: str | None
    entered: Any
    editable: bool


def field_states(answers: Mapping[str, Answer], entered: Mapping[str, Any]) -> list[FieldState]:
    """The record answers where it can; a person's entry answers the rest, and overrides the
    record only on the questions that are a clinician's judgement (`overridable`)."""
    states: list[FieldState] = []
    for q in QUESTIONS:
        answer = answers.get(q.key)
        record_value = answer.value if answer is not None else None
        mine = entered.get(q.key)
        editable = q.entered_only or q.overridable or record_value is None
        if mine is not None and editable:
            value, source = mine, Source.ENTERED
        elif record_value is not None:
            value, source = record_value, Source.RECORD
        else:
            value, source = None, Source.MISSING
        states.append(
            FieldState(
                question=q,
                value=value,
                source=source,
                record_value=record_value,
                record_detail=answer.detail if answer is not None else None,
                entered=mine,
                editable=editable,
            )
        )
    return states


def refused_entry(key: str, answers: Mapping[str, Answer]) -> str | None:
    """Why a person may not enter `key` (None: they may): the record's answer stands where the
    question is a fact the record holds."""
    q = QUESTION_BY_KEY[key]
    answer = answers.get(key)
    if q.entered_only or q.overridable or answer is None or answer.value is None:
        return None
    return (
        f"answered by the session record ({shown(q, answer.value)}; {answer.detail}): "
        "correct the record instead"
    )


def missing(states: Sequence[FieldState]) -> list[Question]:
    """The questions still to answer before the form can be completed."""
    values = {s.question.key: s.value for s in states}
    gaps = [s.question for s in states if s.question.required and s.value is None]
    if values.get("serious_adverse_event") is True and not values.get("sae_description"):
        gaps.append(QUESTION_BY_KEY["sae_description"])
    return gaps


def shown(q: Question, value: Any) -> str:
    """A value as the form prints it."""
    if value is None:
        return "—"
    if q.kind is Kind.BP and isinstance(value, Mapping):
        return f"{value.get('systolic')}/{value.get('diastolic')} mmHg"
    if q.kind is Kind.YES_NO:
        return "Yes" if value else "No"
    if q.kind is Kind.DOSE:
        return f"{value} mg"
    if q.kind is Kind.MINUTES:
        return f"{value} min"
    if q.kind is Kind.CHOICE:
        return q.choices.get(str(value), str(value))
    if q.kind is Kind.MULTI and isinstance(value, list | tuple):
        return ", ".join(q.choices.get(str(v), str(v)) for v in value) or "—"
    if q.kind is Kind.DATE:
        try:
            return date.fromisoformat(str(value)).strftime("%d %b %Y")
        except ValueError:
            return str(value)
    return str(value)
