"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 05:06:06.773314
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("secret_digest", name=op.f("uq_api_tokens_secret_digest")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("clinic_id", name=op.f("uq_patients_clinic_id")),
    )
    op.create_table(
        "stream_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_counter")),
    )
    # The live stream's sequence starts here; outbox.py takes numbers from this one row.
    op.execute("INSERT INTO stream_counter (id, last_seq) VALUES (1, 0)")
    op.create_table(
        "stream_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stream_events")),
    )
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stream_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "browser_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_browser_logins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_logins")),
        sa.UniqueConstraint("secret_digest", name=op.f("uq_browser_logins_secret_digest")),
    )
    with op.batch_alter_table("browser_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_browser_logins_user_id"), ["user_id"], unique=False)

    op.create_table(
        "infusion_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("chair", sa.String(length=32), nullable=False),
        sa.Column("drug", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("planned_dose_mg", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("planned_duration_min", sa.Integer(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column(
            "phase_changed_at", backend.core.database.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("ended_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_infusion_sessions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_sessions")),
    )
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_infusion_sessions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_infusion_sessions_phase"), ["phase"], unique=False)
        batch_op.create_index(
            "uq_infusion_sessions_open_chair",
            ["chair"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "phase_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("from_phase", sa.String(length=16), nullable=True),
        sa.Column("to_phase", sa.String(length=16), nullable=False),
        sa.Column("at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_phase_changes_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_changes")),
    )
    with op.batch_alter_table("phase_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phase_changes_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "readings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("entered_by", sa.String(length=80), nullable=False),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("respiratory_rate", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("consciousness", sa.String(length=1), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_readings_session_id_infusion_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_readings_session_taken", ["session_id", "taken_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_session_taken")

    op.drop_table("readings")
    with op.batch_alter_table("phase_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phase_changes_session_id"))

    op.drop_table("phase_changes")
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.drop_index("uq_infusion_sessions_open_chair")
        batch_op.drop_index(batch_op.f("ix_infusion_sessions_phase"))
        batch_op.drop_index(batch_op.f("ix_infusion_sessions_patient_id"))

    op.drop_table("infusion_sessions")
    with op.batch_alter_table("browser_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_logins_user_id"))

    op.drop_table("browser_logins")
    op.drop_table("users")
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stream_events_session_id"))

    op.drop_table("stream_events")
    op.drop_table("stream_counter")
    op.drop_table("patients")
    op.drop_table("api_tokens")
