"""alert condition timing: delays on the readings' clock, and the reading a breach began with

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_conditions") as batch:
        batch.add_column(
            sa.Column(
                "last_taken_at", backend.core.database.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "last_received_at", backend.core.database.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("since_reading_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_conditions") as batch:
        batch.drop_column("since_reading_id")
        batch.drop_column("last_received_at")
        batch.drop_column("last_taken_at")
