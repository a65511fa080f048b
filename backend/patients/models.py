"""The patient record and the history of its edits."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, validates

from backend.core.database import Base
from backend.patients.identity import CLINIC_KEY_MAX, NAME_KEY_MAX, clinic_key, name_key


class Patient(Base):
    __tablename__ = "patients"
    # The list is real (or simulated) patients in name order; a search scans at most the
    # clinic's register, in that order, and stops at the page it needs.
    __table_args__ = (
        Index("ix_patients_listing", "simulated", "name_key", "id"),
        # An index rather than a constraint: SQLite adds one to a table in place (0014).
        Index("uq_patients_clinic_key", "clinic_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    # The identifier as compared (identity.clinic_key): "mrn 0042" and "MRN  0042" are one.
    clinic_key: Mapped[str] = mapped_column(String(CLINIC_KEY_MAX))
    # The name as searched and ordered, folded the same way on every database.
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_MAX))
    # A drill's patient (made by the simulator or a trainer): never edited into a real one.
    simulated: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(80))
    # A calendar date, no time or zone; none until someone enters it (patients registered before
    # migration 0015, a drill's). Age is derived from it (backend/patients/age.py), never stored.
    date_of_birth: Mapped[date | None] = mapped_column(Date)

    # The keys follow the text wherever a patient is made or changed (the simulator makes its
    # own), so no path can store an identifier that escapes the uniqueness check.
    @validates("clinic_id")
    def _key_clinic_id(self, _: str, value: str) -> str:
        self.clinic_key = clinic_key(value)
        return value

    @validates("display_name")
    def _key_display_name(self, _: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class PatientChange(Base):
    """One field of one edit: who changed it, when, from what to what. Never updated."""

    __tablename__ = "patient_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(120))
    new_value: Mapped[str | None] = mapped_column(String(120))
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[datetime]
