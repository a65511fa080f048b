"""Registering and finding patients."""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.core.database import add_unique
from backend.core.errors import NotFound
from backend.core.timeutil import utcnow
from backend.patients.models import Patient
from backend.patients.schemas import PatientCreate


def create_patient(db: Session, body: PatientCreate) -> Patient:
    patient = Patient(clinic_id=body.clinic_id, display_name=body.display_name, created_at=utcnow())
    add_unique(db, patient, f"a patient with clinic id {body.clinic_id!r} already exists")
    return patient


def get_patient(db: Session, patient_id: int) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"no patient with id {patient_id}")
    return patient


def search_patients(db: Session, text: str | None, limit: int) -> list[Patient]:
    query = select(Patient)
    if text:
        pattern = f"%{text.strip()}%"
        query = query.where(
            or_(Patient.clinic_id.ilike(pattern), Patient.display_name.ilike(pattern))
        )
    return list(db.scalars(query.order_by(Patient.display_name).limit(limit)))
