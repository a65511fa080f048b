"""readings: sedation, oxygen, entered in error; sessions: SpO2 scale; phase checklists;
alerts: the reading that set their value, and withdrawal

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.add_column(sa.Column("sedation", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("on_oxygen", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column(
                "entered_in_error_at",
                backend.core.database.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("entered_in_error_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("entered_in_error_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.add_column(
            sa.Column("spo2_scale", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    with op.batch_alter_table("phase_changes") as batch:
        batch.add_column(sa.Column("checklist", sa.JSON(), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("reading_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch.create_index("ix_alerts_reading_id", ["reading_id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_reading_id")
        batch.drop_column("withdrawn_reason")
        batch.drop_column("reading_id")
    with op.batch_alter_table("phase_changes") as batch:
        batch.drop_column("checklist")
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_column("spo2_scale")
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("entered_in_error_reason")
        batch.drop_column("entered_in_error_by")
        batch.drop_column("entered_in_error_at")
        batch.drop_column("on_oxygen")
        batch.drop_column("sedation")
