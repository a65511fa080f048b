"""alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:00:20.396447
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "limit_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("updated_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_limit_profiles_name")),
    )
    op.create_table(
        "alert_conditions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=40), nullable=False),
        sa.Column("last_value", sa.Double(), nullable=True),
        sa.Column("medium_since", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("high_since", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("present", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_alert_conditions_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "condition", name=op.f("pk_alert_conditions")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("raised_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "acknowledged_at", backend.core.database.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_alerts_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_alerts_open_condition",
            ["session_id", "condition"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )

    op.create_table(
        "limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["limit_profiles.id"],
            name=op.f("fk_limit_changes_profile_id_limit_profiles"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_limit_changes_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_changes")),
    )
    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_limit_changes_profile_id"), ["profile_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_limit_changes_session_id"), ["session_id"], unique=False
        )

    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("limit_profile_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("limit_overrides", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("gate_override_by", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column(
                "gate_override_at", backend.core.database.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_infusion_sessions_limit_profile_id_limit_profiles"),
            "limit_profiles",
            ["limit_profile_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_infusion_sessions_limit_profile_id_limit_profiles"), type_="foreignkey"
        )
        batch_op.drop_column("gate_override_at")
        batch_op.drop_column("gate_override_by")
        batch_op.drop_column("limit_overrides")
        batch_op.drop_column("limit_profile_id")

    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_limit_changes_session_id"))
        batch_op.drop_index(batch_op.f("ix_limit_changes_profile_id"))

    op.drop_table("limit_changes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alerts_open_condition",
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_alerts_session_id"))

    op.drop_table("alerts")
    op.drop_table("alert_conditions")
    op.drop_table("limit_profiles")
