"""patients: identifiers unique case- and space-insensitively, simulated patients marked, edits kept

Every stored identifier is trimmed with its runs of spaces made one (as new ones are on write)
and keyed (backend/patients/identity.py). Old data may hold the same identifier spelled twice
("MRN 1" and "mrn 1 "): the earliest registered keeps it, and each later one is renamed
"<identifier> [dup <its id>]", so no patient or session is lost or merged by a machine; the
rename is in the patient's change history (by "migration 0014"), for the clinic to sort out.

A patient is marked simulated when its identifier is the simulator's "SIM-…" and none of its
sessions is real: a real session proves a real patient, whatever their identifier.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

import backend.core.database
from alembic import op
from backend.patients.identity import (
    CLINIC_ID_MAX,
    CLINIC_KEY_MAX,
    NAME_KEY_MAX,
    clinic_key,
    name_key,
    normalize_spaces,
)

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATION = "migration 0014"


def upgrade() -> None:
    op.create_table(
        "patient_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=120), nullable=True),
        sa.Column("new_value", sa.String(length=120), nullable=True),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("changed_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_changes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_changes")),
    )
    op.create_index(
        op.f("ix_patient_changes_patient_id"), "patient_changes", ["patient_id"], unique=False
    )
    # Plain ADD COLUMN and CREATE INDEX, no batch copy: on SQLite a copy of the patients table
    # means dropping the old one, which foreign keys forbid while sessions refer to it (and
    # they cannot be switched off inside the migration's transaction). A NOT NULL column added
    # to existing rows needs a default; it is dropped once the rows are filled, except on SQLite,
    # which cannot drop one in place (harmless: every write sets both keys).
    op.add_column(
        "patients",
        sa.Column(
            "clinic_key", sa.String(length=CLINIC_KEY_MAX), nullable=False, server_default=""
        ),
    )
    op.add_column(
        "patients",
        sa.Column("name_key", sa.String(length=NAME_KEY_MAX), nullable=False, server_default=""),
    )
    op.add_column(
        "patients",
        sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("patients", sa.Column("created_by", sa.String(length=80), nullable=True))
    _fill_keys()
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("patients", "clinic_key", server_default=None)
        op.alter_column("patients", "name_key", server_default=None)
    op.create_index("uq_patients_clinic_key", "patients", ["clinic_key"], unique=True)
    op.create_index("ix_patients_listing", "patients", ["simulated", "name_key", "id"])


def _fill_keys() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    patients = sa.Table("patients", meta, autoload_with=conn)
    sessions = sa.Table("infusion_sessions", meta, autoload_with=conn)
    changes = sa.Table("patient_changes", meta, autoload_with=conn)
    now = datetime.now(UTC)
    real_session = (
        sa.select(sessions.c.id)
        .where(sessions.c.patient_id == patients.c.id, sessions.c.simulated == sa.false())
        .exists()
    )
    rows = conn.execute(
        sa.select(
            patients.c.id,
            patients.c.clinic_id,
            patients.c.display_name,
            real_session.label("has_real_session"),
        ).order_by(patients.c.id)
    ).all()
    taken = {clinic_key(row.clinic_id) for row in rows}
    seen: set[str] = set()
    final: dict[int, str] = {}
    for row in rows:
        clinic_id = normalize_spaces(row.clinic_id) or f"[blank {row.id}]"
        if clinic_key(clinic_id) in seen:
            clinic_id = _renamed(clinic_id, row.id, taken)
        seen.add(clinic_key(clinic_id))
        taken.add(clinic_key(clinic_id))
        final[row.id] = clinic_id
    # Identifiers that change are first set aside under unique placeholders: " A-1" (older)
    # becoming "A-1" while a later "A-1" still holds that exact text would break the old
    # exact-match uniqueness midway.
    for row in rows:
        if final[row.id] != row.clinic_id:
            placeholder = f"__0014_{row.id}__"
            conn.execute(
                patients.update().where(patients.c.id == row.id).values(clinic_id=placeholder)
            )
    for row in rows:
        clinic_id = final[row.id]
        key = clinic_key(clinic_id)
        conn.execute(
            patients.update()
            .where(patients.c.id == row.id)
            .values(
                clinic_id=clinic_id,
                clinic_key=key,
                name_key=name_key(row.display_name),
                simulated=key.startswith("sim-") and not row.has_real_session,
            )
        )
        if clinic_id != row.clinic_id:
            conn.execute(
                changes.insert().values(
                    patient_id=row.id,
                    field="clinic_id",
                    old_value=row.clinic_id,
                    new_value=clinic_id,
                    changed_by=MIGRATION,
                    changed_at=now,
                )
            )


def _renamed(clinic_id: str, patient_id: int, taken: set[str]) -> str:
    """The identifier with a suffix naming the patient's row, shortened to fit if need be."""
    attempt = 0
    while True:
        suffix = f" [dup {patient_id}{'-' + str(attempt) if attempt else ''}]"
        renamed = clinic_id[: CLINIC_ID_MAX - len(suffix)] + suffix
        if clinic_key(renamed) not in taken:
            return renamed
        attempt += 1


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_changes_patient_id"), table_name="patient_changes")
    op.drop_table("patient_changes")
    op.drop_index("ix_patients_listing", table_name="patients")
    op.drop_index("uq_patients_clinic_key", table_name="patients")
    for column in ("created_by", "simulated", "name_key", "clinic_key"):
        op.drop_column("patients", column)
