"""alert escalations: each unanswered episode of an alarm escalates, and the count is kept

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("escalations", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    # An alarm escalated before this column existed escalated once.
    op.execute("UPDATE alerts SET escalations = 1 WHERE escalated_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("escalations")
