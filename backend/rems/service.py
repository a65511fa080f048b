"""Reading, saving and completing a session's REMS form, and the list of forms still due."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, InvalidInput
from backend.patients.models import Patient
from backend.rems import rules
from backend.rems.models import RemsForm
from backend.reports.record import SessionRecord
from backend.reports.service import load_record
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.service import get_session

ESKETAMINE = "esketamine"
# The earlier treatments a form looks at (to say "not the first"): the latest few are enough.
EARLIER_TREATMENTS_LIMIT = 50
# The due list's length: a clinic with more than this many forms outstanding sees the oldest
# first, and is told the list is cut.
DUE_LIST_LIMIT = 500


def date_of_birth_of(patient: Patient) -> date | None:
    """The patient's date of birth, for the form's prefill: the one place it is read. None when
    the register has none, and the form asks for it."""
    return patient.date_of_birth


@dataclass(frozen=True)
class FormView:
    session_id: int
    patient_id: int
    phase: str
    session_ended: bool
    dosing_started_at: datetime | None
    due_date: date | None
    overdue: bool
    states: list[rules.FieldState]
    missing: list[rules.Question]
    version: int  # 0: nothing saved yet
    updated_at: datetime | None
    updated_by: str | None
    completed_at: datetime | None
    completed_by: str | None
    generated_at: datetime

    @property
    def completable(self) -> bool:
        return (
            self.completed_at is None
            and self.session_ended
            and self.dosing_started_at is not None
            and not self.missing
        )


def _check_applies(session: InfusionSession) -> None:
    if session.simulated:
        raise Conflict("a simulated session has no REMS form: it is not a patient's treatment")
    if session.drug != ESKETAMINE:
        raise Conflict(
            f"session {session.id} is {session.drug}: only esketamine sessions have a REMS form"
        )


def _earlier_treatments(db: Session, session: InfusionSession) -> list[datetime]:
    rows = db.scalars(
        select(PhaseChange.at)
        .join(InfusionSession, InfusionSession.id == PhaseChange.session_id)
        .where(
            InfusionSession.patient_id == session.patient_id,
            InfusionSession.id != session.id,
            InfusionSession.drug == ESKETAMINE,
            InfusionSession.simulated.is_(False),
            PhaseChange.to_phase == "infusing",
        )
        .order_by(PhaseChange.at.desc())
        .limit(EARLIER_TREATMENTS_LIMIT)
    )
    return list(rows)


def _form_row(db: Session, session_id: int, *, for_update: bool = False) -> RemsForm | None:
    query = select(RemsForm).where(RemsForm.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    return db.scalar(query)


@dataclass(frozen=True)
class _Loaded:
    session: InfusionSession
    record: SessionRecord
    answers: dict[str, rules.Answer]
    row: RemsForm | None


def _load(
    db: Session,
    session_id: int,
    *,
    zone: tzinfo,
    now: datetime,
    news2_max_age: timedelta,
    for_update: bool = False,
) -> _Loaded:
    # A save locks the session's row: two first saves of one form at the same moment queue here,
    # and the second then finds the first's form and its version (409), not a duplicate row.
    session = get_session(db, session_id, for_update=for_update)
    _check_applies(session)
    record = load_record(db, session_id, news2_max_age=news2_max_age, now=now)
    room = session.chair_ref.room
    context = rules.Context(
        zone=zone,
        setting=f"{room.site.name} · {room.name}",
        earlier_treatments=_earlier_treatments(db, session),
        date_of_birth=date_of_birth_of(session.patient),
    )
    answers = rules.record_answers(record, context)
    return _Loaded(session, record, answers, _form_row(db, session_id, for_update=for_update))


def _frozen_states(submitted: list[dict[str, Any]]) -> list[rules.FieldState]:
    """The form as it was completed, from its snapshot."""
    kept = {item["key"]: item for item in submitted}
    states = []
    for q in rules.QUESTIONS:
        item = kept.get(q.key, {})
        states.append(
            rules.FieldState(
                question=q,
                value=item.get("value"),
                source=rules.Source(item.get("source", rules.Source.MISSING.value)),
                record_value=item.get("record_value"),
                record_detail=item.get("record_detail"),
                entered=item.get("entered"),
                editable=False,
            )
        )
    return states


def _view(loaded: _Loaded, zone: tzinfo, now: datetime) -> FormView:
    row = loaded.row
    start = rules.dosing_start(loaded.record)
    if row is not None and row.submitted is not None:
        states = _frozen_states(row.submitted)
    else:
        states = rules.field_states(loaded.answers, row.entries if row is not None else {})
    completed = row is not None and row.completed_at is not None
    return FormView(
        session_id=loaded.session.id,
        patient_id=loaded.session.patient_id,
        phase=loaded.session.phase,
        session_ended=loaded.session.ended_at is not None,
        dosing_started_at=start,
        due_date=rules.due_date(start, zone) if start is not None else None,
        overdue=start is not None and not completed and rules.is_overdue(start, zone, now),
        states=states,
        missing=[] if completed else rules.missing(states),
        version=row.version if row is not None else 0,
        updated_at=row.updated_at if row is not None else None,
        updated_by=row.updated_by if row is not None else None,
        completed_at=row.completed_at if row is not None else None,
        completed_by=row.completed_by if row is not None else None,
        generated_at=now,
    )


def read_form(
    db: Session, session_id: int, *, zone: tzinfo, now: datetime, news2_max_age: timedelta
) -> FormView:
    """The form of an esketamine session: the record's answers and what people entered."""
    loaded = _load(db, session_id, zone=zone, now=now, news2_max_age=news2_max_age)
    return _view(loaded, zone, now)


def _check_version(row: RemsForm | None, version: int) -> None:
    current = row.version if row is not None else 0
    if version != current:
        raise Conflict(
            f"the form was saved by {row.updated_by if row else 'someone'} since you opened it "
            f"(version {current}, yours {version}): reload it to see their answers"
        )


def save_entries(
    db: Session,
    session_id: int,
    changes: Mapping[str, Any],
    version: int,
    by: str,
    *,
    zone: tzinfo,
    now: datetime,
    news2_max_age: timedelta,
) -> tuple[FormView, list[str]]:
    """Store the answers in `changes` (None clears one); answers the form and the keys whose
    value changed. Refused: a completed form, an out-of-date copy, an answer to a question the
    record answers (422 naming it)."""
    loaded = _load(db, session_id, zone=zone, now=now, news2_max_age=news2_max_age, for_update=True)
    row = loaded.row
    if row is not None and row.completed_at is not None:
        raise Conflict(
            f"the form was completed by {row.completed_by}: a completed form is not changed"
        )
    _check_version(row, version)
    for key, value in changes.items():
        if value is not None and (why := rules.refused_entry(key, loaded.answers)) is not None:
            raise InvalidInput(("body", "entries", key), why, value)
    entries = dict(row.entries) if row is not None else {}
    changed = []
    for key, value in changes.items():
        if entries.get(key) == value:
            continue
        changed.append(key)
        if value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    if row is None:
        row = RemsForm(
            session_id=session_id,
            entries=entries,
            version=1,
            created_at=now,
            updated_at=now,
            updated_by=by,
        )
        db.add(row)
    else:
        row.entries = entries
        row.version += 1
        row.updated_at, row.updated_by = now, by
    db.flush()
    return _view(_Loaded(loaded.session, loaded.record, loaded.answers, row), zone, now), changed


def complete_form(
    db: Session,
    session_id: int,
    version: int,
    by: str,
    *,
    zone: tzinfo,
    now: datetime,
    news2_max_age: timedelta,
) -> FormView:
    """Mark the form complete (submitted), keeping every answer as it stands. Refused (409) while
    dosing has not started or the session goes on, or while a required answer is missing."""
    loaded = _load(db, session_id, zone=zone, now=now, news2_max_age=news2_max_age, for_update=True)
    row = loaded.row
    if row is not None and row.completed_at is not None:
        raise Conflict(f"the form was already completed by {row.completed_by}")
    _check_version(row, version)
    view = _view(loaded, zone, now)
    if view.dosing_started_at is None:
        raise Conflict("dosing has not started: there is no treatment to report yet")
    if not view.session_ended:
        raise Conflict("the session goes on: complete the form once it has ended")
    if view.missing:
        names = "; ".join(q.label for q in view.missing)
        raise Conflict(f"the form cannot be completed until these are answered: {names}")
    snapshot = [
        {
            "key": s.question.key,
            "value": s.value,
            "source": s.source.value,
            "record_value": s.record_value,
            "record_detail": s.record_detail,
            "entered": s.entered,
        }
        for s in view.states
    ]
    if row is None:
        row = RemsForm(
            session_id=session_id,
            entries={},
            version=0,
            created_at=now,
            updated_at=now,
            updated_by=by,
        )
        db.add(row)
    row.version += 1
    row.updated_at, row.updated_by = now, by
    row.completed_at, row.completed_by, row.submitted = now, by, snapshot
    db.flush()
    return _view(_Loaded(loaded.session, loaded.record, loaded.answers, row), zone, now)


@dataclass(frozen=True)
class DueForm:
    session_id: int
    patient_id: int
    patient_name: str
    clinic_id: str
    chair: str
    dosing_started_at: datetime
    due_date: date
    overdue: bool
    session_ended: bool
    started: bool  # someone has saved answers on it
    updated_at: datetime | None


def due_forms(
    db: Session, *, zone: tzinfo, now: datetime, limit: int = DUE_LIST_LIMIT
) -> tuple[list[DueForm], bool]:
    """Real esketamine sessions whose dosing started and whose form is not complete, oldest
    treatment first; and whether the list was cut at `limit`."""
    rows = db.execute(
        select(
            InfusionSession.id,
            InfusionSession.patient_id,
            InfusionSession.chair,
            InfusionSession.ended_at,
            Patient.display_name,
            Patient.clinic_id,
            PhaseChange.at,
            RemsForm.id.label("form_id"),
            RemsForm.updated_at,
        )
        .join(Patient, Patient.id == InfusionSession.patient_id)
        .join(
            PhaseChange,
            (PhaseChange.session_id == InfusionSession.id) & (PhaseChange.to_phase == "infusing"),
        )
        .outerjoin(RemsForm, RemsForm.session_id == InfusionSession.id)
        .where(
            InfusionSession.drug == ESKETAMINE,
            InfusionSession.simulated.is_(False),
            RemsForm.completed_at.is_(None),
        )
        .order_by(PhaseChange.at, InfusionSession.id)
        .limit(limit + 1)
    ).all()
    items = [
        DueForm(
            session_id=r.id,
            patient_id=r.patient_id,
            patient_name=r.display_name,
            clinic_id=r.clinic_id,
            chair=r.chair,
            dosing_started_at=r.at,
            due_date=rules.due_date(r.at, zone),
            overdue=rules.is_overdue(r.at, zone, now),
            session_ended=r.ended_at is not None,
            started=r.form_id is not None,
            updated_at=r.updated_at,
        )
        for r in rows[:limit]
    ]
    return items, len(rows) > limit
