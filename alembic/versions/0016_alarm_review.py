"""alarm review: when an alarm first demanded attention and was first acknowledged, the
acknowledging nurse's optional "actionable?" answer, and the indexes the review's period needs

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("first_acknowledged_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("actionable", sa.Boolean(), nullable=True))
        batch.create_index("ix_alerts_raised_at", ["raised_at"])
    # Before this revision only the latest acknowledgement was kept, and an alarm's first
    # announcement is closest to when it was raised: the best the stored rows can tell.
    op.execute("UPDATE alerts SET announced_at = raised_at")
    op.execute("UPDATE alerts SET first_acknowledged_at = acknowledged_at")
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.create_index("ix_infusion_sessions_created_at", ["created_at"])
        batch.create_index("ix_infusion_sessions_ended_at", ["ended_at"])
    with op.batch_alter_table("limit_changes") as batch:
        batch.create_index("ix_limit_changes_changed_at", ["changed_at"])


def downgrade() -> None:
    with op.batch_alter_table("limit_changes") as batch:
        batch.drop_index("ix_limit_changes_changed_at")
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_index("ix_infusion_sessions_ended_at")
        batch.drop_index("ix_infusion_sessions_created_at")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_raised_at")
        batch.drop_column("actionable")
        batch.drop_column("first_acknowledged_at")
        batch.drop_column("announced_at")
