"""esketamine observation floor: stored limits never ask for less than 120 minutes

The REMS programme observes an esketamine patient for at least 2 hours; profiles and session
overrides now refuse less (422). Values stored before that rule are raised to the floor, so
every stored limit set still loads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 12:45:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLOOR_MIN = 120
FIELD = "esketamine_min_observation_min"


def _raised(limits: Any) -> Any:
    """`limits` with the esketamine minimum raised to the floor, or None when it needs nothing."""
    if not isinstance(limits, dict):
        return None
    discharge = limits.get("discharge")
    if not isinstance(discharge, dict):
        return None
    value = discharge.get(FIELD)
    if not isinstance(value, int | float) or value >= FLOOR_MIN:
        return None
    return {**limits, "discharge": {**discharge, FIELD: FLOOR_MIN}}


def _raise_floor(table: str, column: str) -> None:
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.JSON))
    conn = op.get_bind()
    for row_id, limits in conn.execute(sa.select(rows.c.id, rows.c[column])).all():
        raised = _raised(limits)
        if raised is not None:
            conn.execute(rows.update().where(rows.c.id == row_id).values({column: raised}))


def upgrade() -> None:
    _raise_floor("limit_profiles", "limits")
    _raise_floor("infusion_sessions", "limit_overrides")


def downgrade() -> None:
    pass  # the raised values are valid under the old rule too
