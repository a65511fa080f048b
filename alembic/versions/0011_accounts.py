"""accounts: a reset's must-change-password flag, the last sign-in, token expiry, and the
sign-in failures the throttle counts (kept across restarts)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.database import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("last_login_at", UTCDateTime(), nullable=True))
    # The last sign-in of an account that signed in before this column existed is known.
    op.execute(
        "UPDATE users SET last_login_at = (SELECT max(browser_logins.created_at) "
        "FROM browser_logins WHERE browser_logins.user_id = users.id)"
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    for column in ("username", "address", "failed_at"):
        op.create_index(
            op.f(f"ix_sign_in_failures_{column}"), "sign_in_failures", [column], unique=False
        )


def downgrade() -> None:
    for column in ("username", "address", "failed_at"):
        op.drop_index(op.f(f"ix_sign_in_failures_{column}"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("must_change_password")
