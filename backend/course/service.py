"""Reading a patient's course out of the database, within fixed bounds.

What bounds it: at most MAX_SESSIONS sessions (the latest), and for those
- the peaks, the lowest SpO2, the deepest MOAA/S and the alarm counts are aggregates worked out
  by the database over the sessions' rows (one grouped query each; nothing per reading comes
  back), the ACVPU letters a DISTINCT of at most five per session;
- the baseline is one indexed query per session (the rise alarm's own, baseline_pressure);
- readiness reads per session at most MAX_OBSERVATIONS readings that carry a blood pressure,
  ACVPU or MOAA/S from 15 min before dosing ended (observation rounds and cuff cycles, a few
  dozen in a session; never the monitor's second-by-second stream), and at most
  MAX_HIGH_ALARMS high-priority alarms.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from backend.alerts.lifecycle import AlarmKind
from backend.alerts.limit_profiles import baseline_pressure, session_limits
from backend.alerts.limits import Priority
from backend.alerts.models import Alert
from backend.core.errors import NotFound
from backend.core.timeutil import as_utc
from backend.course.figures import CourseRow, HighAlarm, Observation, SessionFacts, course_row
from backend.patients.models import Patient
from backend.readings.models import Reading
from backend.reports.record import PhaseStep
from backend.sessions.checklists import RECENT_BP_MAX_AGE
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import Phase

# An induction series is 6-8 sessions and a year of maintenance a few dozen: the latest 100
# cover any course a prescriber reads at a glance.
MAX_SESSIONS = 100
MAX_OBSERVATIONS = 500
MAX_HIGH_ALARMS = 200


@dataclass(frozen=True)
class Course:
    patient: Patient
    rows: list[CourseRow]  # oldest first
    total: int  # the patient's real sessions, of which `rows` are the latest MAX_SESSIONS


def real_patient(db: Session, patient_id: int) -> Patient:
    """The patient, if a real one: a drill's patient has no course (its sessions are drills)."""
    patient = db.get(Patient, patient_id)
    if patient is None or patient.simulated:
        raise NotFound(f"no real patient with id {patient_id}")
    return patient


def _valid(*conditions: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [Reading.entered_in_error_at.is_(None), *conditions]


def _peaks(db: Session, ids: list[int]) -> dict[int, tuple[float | None, float | None]]:
    """The highest valid systolic and diastolic after dosing started, per session."""
    started = (
        select(PhaseChange.session_id, func.min(PhaseChange.at).label("at"))
        .where(PhaseChange.session_id.in_(ids), PhaseChange.to_phase == Phase.INFUSING.value)
        .group_by(PhaseChange.session_id)
        .subquery()
    )
    rows = db.execute(
        select(Reading.session_id, func.max(Reading.systolic), func.max(Reading.diastolic))
        .join(started, started.c.session_id == Reading.session_id)
        .where(*_valid(Reading.session_id.in_(ids), Reading.taken_at > started.c.at))
        .group_by(Reading.session_id)
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def _lows(db: Session, ids: list[int]) -> dict[int, tuple[float | None, int | None]]:
    """The lowest valid SpO2 and MOAA/S over the whole session, per session."""
    rows = db.execute(
        select(Reading.session_id, func.min(Reading.spo2), func.min(Reading.sedation))
        .where(*_valid(Reading.session_id.in_(ids)))
        .group_by(Reading.session_id)
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def _letters(db: Session, ids: list[int]) -> dict[int, set[str]]:
    rows = db.execute(
        select(Reading.session_id, Reading.consciousness)
        .where(*_valid(Reading.session_id.in_(ids), Reading.consciousness.is_not(None)))
        .distinct()
    )
    letters: dict[int, set[str]] = {}
    for session_id, letter in rows:
        if letter is not None:  # the query leaves none out; the column's type allows it
            letters.setdefault(session_id, set()).add(letter)
    return letters


def _alarm_counts(db: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Physiological and technical alarms raised (reminders aside), withdrawn ones left out:
    (all, high priority) per session."""
    high = func.sum((Alert.priority >= Priority.HIGH.value).cast(Alert.priority.type))
    rows = db.execute(
        select(Alert.session_id, func.count(), high)
        .where(
            Alert.session_id.in_(ids),
            Alert.withdrawn_reason.is_(None),
            Alert.kind != AlarmKind.ADVISORY.value,
        )
        .group_by(Alert.session_id)
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def _observations(
    db: Session, session_id: int, ended: datetime, until: datetime | None
) -> list[Observation]:
    query = select(
        Reading.taken_at,
        Reading.systolic,
        Reading.diastolic,
        Reading.consciousness,
        Reading.sedation,
    ).where(
        *_valid(
            Reading.session_id == session_id,
            # A BP taken up to 15 min before dosing ended still counts as recent just after.
            Reading.taken_at >= ended - RECENT_BP_MAX_AGE,
            Reading.systolic.is_not(None)
            | Reading.consciousness.is_not(None)
            | Reading.sedation.is_not(None),
        )
    )
    if until is not None:
        query = query.where(Reading.taken_at <= until)
    rows = db.execute(query.order_by(Reading.taken_at, Reading.id).limit(MAX_OBSERVATIONS + 1))
    return [
        Observation(as_utc(r.taken_at), r.systolic, r.diastolic, r.consciousness, r.sedation)
        for r in rows
    ]


def _high_alarms(
    db: Session, session_id: int, ended: datetime, until: datetime | None
) -> list[HighAlarm]:
    query = select(Alert.raised_at, Alert.resolved_at, Alert.message).where(
        Alert.session_id == session_id,
        Alert.priority >= Priority.HIGH.value,
        Alert.withdrawn_reason.is_(None),
        Alert.resolved_at.is_(None) | (Alert.resolved_at > ended),
    )
    if until is not None:
        query = query.where(Alert.raised_at <= until)
    rows = db.execute(query.order_by(Alert.raised_at, Alert.id).limit(MAX_HIGH_ALARMS))
    return [HighAlarm(as_utc(r[0]), as_utc(r[1]) if r[1] is not None else None, r[2]) for r in rows]


def _steps(session: InfusionSession) -> list[PhaseStep]:
    return [
        PhaseStep(
            from_phase=p.from_phase,
            to_phase=p.to_phase,
            at=as_utc(p.at),
            recorded_at=as_utc(p.recorded_at),
            by=p.by,
            note=p.note,
            checklist=None,  # not needed here, and the largest column of the row
        )
        for p in sorted(session.phase_changes, key=lambda p: (p.at, p.id))
    ]


def _phase_at(steps: Sequence[PhaseStep], to_phase: Phase) -> datetime | None:
    return next((s.at for s in steps if s.to_phase == to_phase.value), None)


def load_course(db: Session, patient_id: int) -> Course:
    """The figures of each of a real patient's real sessions (NotFound for any other id)."""
    patient = real_patient(db, patient_id)
    real = (InfusionSession.patient_id == patient.id, InfusionSession.simulated.is_(False))
    total = db.scalar(select(func.count()).select_from(InfusionSession).where(*real)) or 0
    sessions = list(
        db.scalars(
            select(InfusionSession)
            .where(*real)
            .options(selectinload(InfusionSession.phase_changes))
            .order_by(InfusionSession.created_at.desc(), InfusionSession.id.desc())
            .limit(MAX_SESSIONS)
        )
    )
    sessions.reverse()
    ids = [s.id for s in sessions]
    peaks = _peaks(db, ids) if ids else {}
    lows = _lows(db, ids) if ids else {}
    letters = _letters(db, ids) if ids else {}
    counts = _alarm_counts(db, ids) if ids else {}
    rows = []
    for session in sessions:
        steps = _steps(session)
        recovery = _phase_at(steps, Phase.RECOVERY)
        ended_at = as_utc(session.ended_at) if session.ended_at is not None else None
        observations: list[Observation] = []
        alarms: list[HighAlarm] = []
        require_alertness, minimum = True, 60.0
        if recovery is not None:
            observations = _observations(db, session.id, recovery, ended_at)
            alarms = _high_alarms(db, session.id, recovery, ended_at)
            _, _, limits = session_limits(db, session)
            require_alertness = limits.discharge.require_alertness
            minimum = limits.discharge.minimum_for(session.drug)
        peak = peaks.get(session.id, (None, None))
        low = lows.get(session.id, (None, None))
        alarm_count = counts.get(session.id, (0, 0))
        facts = SessionFacts(
            id=session.id,
            created_at=as_utc(session.created_at),
            drug=session.drug,
            route=session.route,
            planned_dose_mg=session.planned_dose_mg,
            weight_kg=session.weight_kg,
            phase=session.phase,
            phases=steps,
            baseline=baseline_pressure(db, session),
            peak_systolic=peak[0],
            peak_diastolic=peak[1],
            lowest_spo2=low[0],
            deepest_sedation=low[1],
            consciousness=frozenset(letters.get(session.id, ())),
            alarms=alarm_count[0],
            high_alarms=alarm_count[1],
            observations=observations[:MAX_OBSERVATIONS],
            high_alarm_spans=alarms,
            require_alertness=require_alertness,
            min_observation_min=minimum,
            observations_capped=len(observations) > MAX_OBSERVATIONS,
        )
        rows.append(course_row(facts))
    return Course(patient, rows, total)
