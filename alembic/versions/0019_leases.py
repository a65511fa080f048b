"""leases: which one process of a cluster runs each singleton (the alarm clock), until when

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.database import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("holder", sa.String(120), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
