"""Registering, finding, editing and importing patients."""

from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.roles import Role
from backend.core.timeutil import clinic_day, utcnow
from backend.patients import csv_import
from backend.patients.age import BirthDateError, check_birth_date
from backend.patients.identity import (
    LIKE_ESCAPE,
    TextError,
    check_real_clinic_id,
    clinic_key,
    like_pattern,
    name_key,
    text_key,
)
from backend.patients.models import Patient, PatientChange
from backend.patients.schemas import (
    ImportCreated,
    ImportPresent,
    ImportRejected,
    ImportReport,
    PatientCreate,
    PatientUpdate,
)


def _holder(db: Session, clinic_id: str, other_than: int | None = None) -> Patient | None:
    """The patient already registered under `clinic_id` (however spelled), if any."""
    query = select(Patient).where(Patient.clinic_key == clinic_key(clinic_id))
    if other_than is not None:
        query = query.where(Patient.id != other_than)
    return db.scalar(query)


def _taken(holder: Patient, clinic_id: str, actor: Actor | None) -> Conflict:
    # A trainer registering a drill's patient is not told who the real one is.
    if actor is not None and actor.role is Role.TRAINER and not holder.simulated:
        return Conflict(f"the clinic id {clinic_id!r} is already registered to another patient")
    return Conflict(
        f"the clinic id {clinic_id!r} is already registered to patient #{holder.id}, "
        f"{holder.display_name} ({holder.clinic_id})"
    )


def _check_real(clinic_id: str) -> None:
    try:
        check_real_clinic_id(clinic_id)
    except TextError as exc:
        raise InvalidInput(("body", "clinic_id"), exc.reason, clinic_id) from None


def clinic_today(zone: tzinfo) -> date:
    """Today's date in the clinic: what a date of birth may not be after, and ages count to."""
    return clinic_day(utcnow(), zone)


def _checked_birth(born: date | None, zone: tzinfo) -> date | None:
    if born is None:
        return None
    try:
        return check_birth_date(born, clinic_today(zone))
    except BirthDateError as exc:
        raise InvalidInput(("body", "date_of_birth"), exc.reason, born.isoformat()) from None


def create_patient(
    db: Session, body: PatientCreate, actor: Actor | None = None, *, zone: tzinfo = UTC
) -> Patient:
    """Register a patient; a trainer's patient is always simulated (a drill's). Without an
    actor (set-up scripts, benchmarks) nobody is named as having registered them. `zone` is the
    clinic's: a date of birth after its today is refused."""
    simulated = body.simulated or (actor is not None and actor.role is Role.TRAINER)
    if not simulated:
        _check_real(body.clinic_id)
    born = _checked_birth(body.date_of_birth, zone)
    if (holder := _holder(db, body.clinic_id)) is not None:
        raise _taken(holder, body.clinic_id, actor)
    return _add(db, body.clinic_id, body.display_name, actor, simulated=simulated, born=born)


def _new_patient(
    clinic_id: str,
    display_name: str,
    actor: Actor | None,
    *,
    simulated: bool,
    born: date | None = None,
) -> Patient:
    return Patient(
        clinic_id=clinic_id,
        display_name=display_name,
        simulated=simulated,
        created_at=utcnow(),
        created_by=actor.label if actor else None,
        date_of_birth=born,
    )


def _add(
    db: Session,
    clinic_id: str,
    display_name: str,
    actor: Actor | None,
    *,
    simulated: bool,
    born: date | None,
) -> Patient:
    patient = _new_patient(clinic_id, display_name, actor, simulated=simulated, born=born)
    # Two people registering the same identifier at the same moment: the index decides.
    add_unique(db, patient, f"the clinic id {clinic_id!r} is already registered")
    return patient


def _holders(db: Session, keys: list[str]) -> dict[str, Patient]:
    """The patients registered under any of `keys`, by key (in chunks: one query per 500)."""
    found: dict[str, Patient] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found |= {
            p.clinic_key: p
            for p in db.scalars(select(Patient).where(Patient.clinic_key.in_(chunk)))
        }
    return found


def get_patient(db: Session, patient_id: int, *, for_update: bool = False) -> Patient:
    query = select(Patient).where(Patient.id == patient_id)
    if for_update:
        query = query.with_for_update()
    patient = db.scalar(query)
    if patient is None:
        raise NotFound(f"no patient with id {patient_id}")
    return patient


def _as_text(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def update_patient(
    db: Session, patient_id: int, body: PatientUpdate, actor: Actor, *, zone: tzinfo = UTC
) -> Patient:
    """Change a patient's identifier, name or date of birth, keeping each change (who, when,
    old and new). A date of birth sent as null is removed; the others are never emptied."""
    patient = get_patient(db, patient_id, for_update=True)
    if patient.simulated:
        raise Conflict(
            f"patient #{patient.id} is simulated: a drill's patient is not edited, "
            "so it can never pass for a real one"
        )
    wanted: dict[str, str | date | None] = {
        "clinic_id": body.clinic_id,
        "display_name": body.display_name,
    }
    changed: dict[str, str | date | None] = {
        field: value
        for field, value in wanted.items()
        if value is not None and value != getattr(patient, field)
    }
    if "date_of_birth" in body.model_fields_set:
        born = _checked_birth(body.date_of_birth, zone)
        if born != patient.date_of_birth:
            changed["date_of_birth"] = born
    new_id = changed.get("clinic_id")
    if isinstance(new_id, str) and clinic_key(new_id) != patient.clinic_key:
        _check_real(new_id)
        if (holder := _holder(db, new_id, other_than=patient.id)) is not None:
            raise _taken(holder, new_id, actor)
    now = utcnow()
    for field, value in changed.items():
        db.add(
            PatientChange(
                patient_id=patient.id,
                field=field,
                old_value=_as_text(getattr(patient, field)),
                new_value=_as_text(value),
                changed_by=actor.label,
                changed_at=now,
            )
        )
        setattr(patient, field, value)  # the model keeps clinic_key and name_key in step
    add_unique(db, patient, f"the clinic id {patient.clinic_id!r} is already registered")
    return patient


def patient_changes(db: Session, patient_id: int) -> list[PatientChange]:
    """A patient's edits, newest first."""
    get_patient(db, patient_id)
    query = (
        select(PatientChange)
        .where(PatientChange.patient_id == patient_id)
        .order_by(PatientChange.changed_at.desc(), PatientChange.id.desc())
    )
    return list(db.scalars(query))


@dataclass(frozen=True)
class Found:
    patients: list[Patient]
    total: int


def search_patients(
    db: Session, text: str | None, *, page: int = 1, limit: int = 50, simulated: bool = False
) -> Found:
    """Real (or simulated) patients whose identifier or name holds `text`, in name order.

    Both sides are compared in their folded form (identity.text_key), so the search ignores
    case on PostgreSQL as on SQLite, and "%" or "_" typed in the box are characters to find.
    """
    condition = Patient.simulated == simulated
    order: list[ColumnElement[Any]] = [Patient.name_key.expression, Patient.id.expression]
    folded = text_key(text or "")
    if folded:
        # An exact identifier first: typing an MRN finds that patient on top.
        order.insert(0, Patient.clinic_key != folded)
        pattern = like_pattern(folded)
        condition = condition & or_(
            Patient.clinic_key.like(pattern, escape=LIKE_ESCAPE),
            Patient.name_key.like(pattern, escape=LIKE_ESCAPE),
        )
    total = db.scalar(select(func.count()).select_from(Patient).where(condition)) or 0
    query = (
        select(Patient).where(condition).order_by(*order).offset((page - 1) * limit).limit(limit)
    )
    return Found(list(db.scalars(query)), total)


# New patients are written this many at a time: a savepoint and a flush per row would hold
# SQLite's one write lock for ~13 s over 10,000 rows, and readings would wait behind it.
IMPORT_CHUNK = 500


def import_patients(
    db: Session, data: bytes, actor: Actor, *, dry_run: bool, zone: tzinfo = UTC
) -> ImportReport:
    """Register each valid row of a clinic's CSV list that is not registered yet.

    A row whose identifier is registered already is reported with that patient, never
    registered twice or changed (its date of birth neither), so importing the same file again
    changes nothing. A row is stored or refused whole, never in part; a dry run stores nothing.
    """
    try:
        parsed = csv_import.parse(data, clinic_today(zone))
    except csv_import.FileError as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise InvalidInput(("body",), f"{where}{exc.reason}") from None
    report = ImportReport(
        dry_run=dry_run,
        delimiter=parsed.delimiter,
        rows=len(parsed.rows),
        created=[],
        present=[],
        rejected=[],
        ignored_columns=parsed.ignored_columns,
    )
    in_file: dict[str, int] = {}
    registered = _holders(
        db, [clinic_key(r.clinic_id) for r in parsed.rows if isinstance(r, csv_import.Row)]
    )
    new: list[csv_import.Row] = []
    for row in parsed.rows:
        if isinstance(row, csv_import.Rejection):
            report.rejected.append(
                ImportRejected(line=row.line, field=row.field, reason=row.reason, value=row.value)
            )
            continue
        key = clinic_key(row.clinic_id)
        if key in in_file:
            report.rejected.append(
                ImportRejected(
                    line=row.line,
                    field="clinic_id",
                    reason=f"repeats the identifier of line {in_file[key]}",
                    value=row.clinic_id,
                )
            )
            continue
        in_file[key] = row.line
        holder = registered.get(key)
        if holder is not None:
            report.present.append(
                ImportPresent(
                    line=row.line,
                    clinic_id=row.clinic_id,
                    id=holder.id,
                    registered_clinic_id=holder.clinic_id,
                    display_name=holder.display_name,
                    same_name=holder.name_key == name_key(row.display_name),
                    same_date_of_birth=None
                    if row.date_of_birth is None or holder.date_of_birth is None
                    else row.date_of_birth == holder.date_of_birth,
                )
            )
            continue
        new.append(row)
    for start in range(0, len(new), IMPORT_CHUNK):
        _register_rows(db, new[start : start + IMPORT_CHUNK], actor, report)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _row_patient(row: csv_import.Row, actor: Actor) -> Patient:
    return _new_patient(
        row.clinic_id, row.display_name, actor, simulated=False, born=row.date_of_birth
    )


def _register_rows(
    db: Session, rows: list[csv_import.Row], actor: Actor, report: ImportReport
) -> None:
    """Register `rows` together; should one of them have been registered by someone else since
    the look-up (PostgreSQL, where imports and sign-ups run side by side), row by row."""
    if report.dry_run:
        report.created.extend(
            ImportCreated(
                line=r.line,
                clinic_id=r.clinic_id,
                display_name=r.display_name,
                date_of_birth=r.date_of_birth,
                id=None,
            )
            for r in rows
        )
        return
    patients = [_row_patient(row, actor) for row in rows]
    try:
        with db.begin_nested():
            db.add_all(patients)
            db.flush()
    except IntegrityError:
        patients = []
        for row in rows:
            patient = _row_patient(row, actor)
            try:
                # Added inside the savepoint, so a refused row leaves with it.
                with db.begin_nested():
                    db.add(patient)
                    db.flush()
            except IntegrityError:
                report.rejected.append(
                    ImportRejected(
                        line=row.line,
                        field="clinic_id",
                        reason="was registered by someone else during the import",
                        value=row.clinic_id,
                    )
                )
                continue
            patients.append(patient)
    ids = {stored.clinic_key: stored.id for stored in patients}
    for row in rows:
        if (new_id := ids.get(clinic_key(row.clinic_id))) is not None:
            report.created.append(
                ImportCreated(
                    line=row.line,
                    clinic_id=row.clinic_id,
                    display_name=row.display_name,
                    date_of_birth=row.date_of_birth,
                    id=new_id,
                )
            )
