"""rems forms: the Spravato REMS Patient Monitoring Form of each esketamine session

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rems_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("completed_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=80), nullable=True),
        sa.Column("submitted", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_rems_forms_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_forms")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_forms_session_id")),
    )
    op.create_index(op.f("ix_rems_forms_completed_at"), "rems_forms", ["completed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rems_forms_completed_at"), table_name="rems_forms")
    op.drop_table("rems_forms")
