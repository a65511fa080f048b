"""escalation pages: an escalation's webhook page kept until the paging gateway answers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 15:00:00

A page was posted once, from memory, after the escalation committed: a process killed between
the two, or a gateway down for that one request, lost it. It is now a row written in the
escalation's own transaction and sent, with retries, by the holder of the alarm clock's lease.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.database import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name="fk_escalation_pages_alert_id_alerts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_escalation_pages"),
        sa.UniqueConstraint("alert_id", "escalation", name="uq_escalation_pages_alert_id"),
    )
    op.create_index(
        "ix_escalation_pages_due",
        "escalation_pages",
        ["sent_at", "failed_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_pages_due", table_name="escalation_pages")
    op.drop_table("escalation_pages")
