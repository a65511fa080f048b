"""simulation runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 07:37:35.655496
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulation_runs",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("scenario_name", sa.String(length=120), nullable=False),
        sa.Column("scenario_text", sa.Text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("patient", sa.JSON(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_at_s", sa.Float(), nullable=False),
        sa.Column("position_s", sa.Float(), nullable=False),
        sa.Column("readings_sent", sa.Integer(), nullable=False),
        sa.Column("live_events", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_simulation_runs_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_simulation_runs")),
    )
    with op.batch_alter_table("simulation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_simulation_runs_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("simulation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_simulation_runs_status"))

    op.drop_table("simulation_runs")
