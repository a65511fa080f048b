"""devices and their messages: each device by its EUI-64 with its chair, counters and last
values; each message once per sender and control id, kept whole, with the session it went to

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.database import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("eui64", sa.String(16), nullable=False),
        sa.Column("label", sa.String(120), nullable=True),
        sa.Column("chair_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("bound_by", sa.String(80), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sender", sa.String(255), nullable=False),
        sa.Column("last_values", sa.JSON(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("routed_chair_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["chair_id"], ["chairs.id"], name="fk_devices_chair_id_chairs"),
        sa.ForeignKeyConstraint(
            ["routed_chair_id"], ["chairs.id"], name="fk_devices_routed_chair_id_chairs"
        ),
        sa.PrimaryKeyConstraint("eui64", name="pk_devices"),
    )
    op.create_index("ix_devices_chair_id", "devices", ["chair_id"])
    op.create_index("ix_devices_last_seen_at", "devices", ["last_seen_at"])
    op.create_table(
        "device_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=False),
        sa.Column("device_eui", sa.String(16), nullable=True),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("bed", sa.String(250), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("taken_to", UTCDateTime(timezone=True), nullable=True),
        sa.Column("observations", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("attached_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_eui"], ["devices.eui64"], name="fk_device_messages_device_eui_devices"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name="fk_device_messages_session_id_infusion_sessions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_device_messages"),
        sa.UniqueConstraint("sender", "control_id", name="uq_device_messages_sender_control_id"),
    )
    op.create_index(
        "ix_device_messages_device_kept",
        "device_messages",
        ["device_eui", "session_id", "taken_to"],
    )
    op.create_index("ix_device_messages_received_at", "device_messages", ["received_at"])
    op.create_index("ix_device_messages_session_id", "device_messages", ["session_id"])


def downgrade() -> None:
    op.drop_table("device_messages")
    op.drop_table("devices")
