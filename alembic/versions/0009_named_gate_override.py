"""named gate override: who decided (an account on a real session), why, and who entered it

Starting an infusion although the baseline is above the pre-dose gate now names a clinician
and a reason. Overrides stored before this kept only the signed-in user who made the change,
which stays their decider; the reason and the account are unknown for them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        # A display name is up to 120 characters.
        batch_op.alter_column(
            "gate_override_by",
            existing_type=sa.String(length=80),
            type_=sa.String(length=120),
            existing_nullable=True,
        )
        batch_op.add_column(
            sa.Column("gate_override_username", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("gate_override_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("gate_override_entered_by", sa.String(length=80), nullable=True)
        )
    # Before this the one who made the change was the one who decided.
    op.execute(
        "UPDATE infusion_sessions SET gate_override_entered_by = gate_override_by "
        "WHERE gate_override_by IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE infusion_sessions SET gate_override_by = SUBSTR(gate_override_by, 1, 80) "
        "WHERE LENGTH(gate_override_by) > 80"
    )
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.drop_column("gate_override_entered_by")
        batch_op.drop_column("gate_override_reason")
        batch_op.drop_column("gate_override_username")
        batch_op.alter_column(
            "gate_override_by",
            existing_type=sa.String(length=120),
            type_=sa.String(length=80),
            existing_nullable=True,
        )
