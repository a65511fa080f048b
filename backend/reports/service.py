"""Reading a session's whole record out of the database, once, for the report and the export."""

from dataclasses import fields, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts.limit_profiles import session_limits
from backend.alerts.limits import AlertPhase, Direction, LimitSet, Priority
from backend.alerts.models import Alert
from backend.alerts.schemas import AlertPublic
from backend.core.settings import Settings
from backend.core.timeutil import utcnow
from backend.readings.models import Reading
from backend.reports.record import (
    READING_FIELDS,
    AlarmRow,
    LimitSegment,
    PhaseStep,
    Place,
    ReadingRow,
    SessionRecord,
)
from backend.sessions.models import InfusionSession
from backend.sessions.service import get_session


def _reading(row: Reading) -> ReadingRow:
    values = {name: getattr(row, name) for name in READING_FIELDS}
    return ReadingRow(
        id=row.id,
        taken_at=row.taken_at,
        received_at=row.received_at,
        source=row.source,
        entered_by=row.entered_by,
        values={name: value for name, value in values.items() if value is not None},
        error_at=row.entered_in_error_at,
        error_by=row.entered_in_error_by,
        error_reason=row.entered_in_error_reason,
    )


def _alarm(row: Alert) -> AlarmRow:
    # The API's view of an alarm (priority as a word, the session's chair) is the record's too.
    public = AlertPublic.of(row).model_dump()
    return AlarmRow(**{f.name: public[f.name] for f in fields(AlarmRow)})


def _limit_segments(limits: LimitSet, phases: list[PhaseStep], end: datetime) -> list[LimitSegment]:
    """The first alarm limit on each side of each vital, for each monitored phase's span."""
    segments: list[LimitSegment] = []
    monitored = {p.value for p in AlertPhase}
    for index, step in enumerate(phases):
        if step.to_phase not in monitored:
            continue
        until = phases[index + 1].at if index + 1 < len(phases) else end
        for vital, limit in limits.for_phase(AlertPhase(step.to_phase)).vitals.items():
            for direction in Direction:
                bound = limit.bound(direction)
                value = bound.loosest(direction)
                if value is None:
                    continue
                priority = Priority.MEDIUM if bound.medium is not None else Priority.HIGH
                segments.append(
                    LimitSegment(vital, step.at, until, value, direction.value, priority.label)
                )
    return segments


def load_record(
    db: Session, session_id: int, *, news2_max_age: timedelta, now: datetime
) -> SessionRecord:
    """Everything the report shows about one session (NotFound if there is no such session)."""
    session: InfusionSession = get_session(db, session_id)
    phases = [
        PhaseStep(
            from_phase=p.from_phase,
            to_phase=p.to_phase,
            at=p.at,
            recorded_at=p.recorded_at,
            by=p.by,
            note=p.note,
            checklist=p.checklist,
        )
        for p in sorted(session.phase_changes, key=lambda p: (p.at, p.id))
    ]
    readings = [
        _reading(row)
        for row in db.scalars(
            select(Reading)
            .where(Reading.session_id == session_id)
            .order_by(Reading.taken_at, Reading.id)
        )
    ]
    alarms = [
        _alarm(row)
        for row in db.scalars(
            select(Alert).where(Alert.session_id == session_id).order_by(Alert.raised_at, Alert.id)
        )
    ]
    record = SessionRecord(
        id=session.id,
        simulated=session.simulated,
        patient_id=session.patient_id,
        patient_name=session.patient.display_name,
        patient_clinic_id=session.patient.clinic_id,
        patient_date_of_birth=session.patient.date_of_birth,
        place=Place(
            site_id=session.site_id,
            site=session.site,
            room_id=session.room_id,
            room=session.room,
            chair_id=session.chair_id,
        ),
        chair=session.chair,
        drug=session.drug,
        route=session.route,
        planned_dose_mg=session.planned_dose_mg,
        weight_kg=session.weight_kg,
        planned_duration_min=session.planned_duration_min,
        created_at=session.created_at,
        created_by=session.created_by,
        ended_at=session.ended_at,
        phase=session.phase,
        notes=session.notes,
        gate_override_by=session.gate_override_by,
        gate_override_at=session.gate_override_at,
        gate_override_username=session.gate_override_username,
        gate_override_reason=session.gate_override_reason,
        gate_override_entered_by=session.gate_override_entered_by,
        spo2_scale=session.spo2_scale,
        news2_max_age=news2_max_age,
        generated_at=now,
        phases=phases,
        readings=readings,
        alarms=alarms,
    )
    _, _, limits = session_limits(db, session)
    return replace(record, limits=_limit_segments(limits, phases, record.end))


def current_record(db: Session, session_id: int, settings: Settings) -> SessionRecord:
    """The record as it stands now, NEWS2 judged with the clinic's setting: what every export
    (the report, its PDF, the CSV, FHIR) is made from."""
    max_age = timedelta(minutes=settings.news2_max_age_minutes)
    return load_record(db, session_id, news2_max_age=max_age, now=utcnow())
