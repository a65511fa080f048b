"""patients: date of birth (optional), for the age on the record and the pre-dose gate's age bands

A plain calendar date (no time, no zone): the day the patient was born. Patients registered
before this have none, and keep none until a nurse enters it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("date_of_birth")
