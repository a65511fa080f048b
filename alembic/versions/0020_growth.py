"""growth: each session's latest values in one row kept by triggers; stream events prunable

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:10:00

The ward list, NEWS2 and the alarm clock's no-data and BP-overdue checks read a session's latest
values. Found by walking its readings, their cost grew with the history stored (a vital a session
never had walked all its readings). `latest_readings` holds them in one row per session, updated
by triggers on `readings` inside the statement that inserts a reading or marks one entered in
error: whatever path writes readings (the API, HL7, the simulator, a bulk load), the row is never
out of step with them, and ingest runs no statement more for it.

SQLite folds each inserted row in (FOR EACH ROW: it updates a row in place, cheaply); PostgreSQL
folds in each INSERT statement's rows at once from its transition table (a batch of a thousand
readings of one session updates the row once, not a thousand times in one transaction).

The rules, the same on both databases:
  * an insert replaces a vital's latest only if it has that vital, is not entered in error, and
    is newer by (taken_at, id), the readings' own order: a backfilled older reading never
    replaces a newer one, and a retried id inserts nothing (ON CONFLICT DO NOTHING), so it
    changes nothing;
  * marking a reading entered in error recomputes, from the readings, only the vitals whose
    latest it was (an indexed walk back from the newest of that session);
  * any other change to a stored reading (none is made by Vigil: a correction in the database)
    recomputes the session's whole row;
  * feed_received_at is the newest received_at of a continuous feed (source device or
    simulator with heart rate or SpO2), struck out or not, as the no-data check always read it.
The upgrade fills the row of every session that has readings from them.
"""

# The SQL below is built from this file's own constants (column names), never from input.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from backend.core.database import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration must not change when the app's list does): readings' vital columns.
VITALS: tuple[tuple[str, sa.types.TypeEngine[object]], ...] = (
    ("heart_rate", sa.Integer()),
    ("systolic", sa.Integer()),
    ("diastolic", sa.Integer()),
    ("spo2", sa.Integer()),
    ("respiratory_rate", sa.Integer()),
    ("temperature", sa.Float()),
    ("consciousness", sa.String(1)),
    ("sedation", sa.Integer()),
    ("on_oxygen", sa.Boolean()),
)
CONTINUOUS = "('device', 'simulator')"
# Columns whose change (other than striking a reading out) recomputes the session's row.
REWRITTEN = ", ".join(("taken_at", "received_at", "source", "session_id", *(v for v, _ in VITALS)))
FEED = f"NEW.source IN {CONTINUOUS} AND (NEW.heart_rate IS NOT NULL OR NEW.spo2 IS NOT NULL)"


def _newer(vital: str, row: str) -> str:
    """Whether NEW is a valid reading of `vital` newer than the one `row` holds."""
    return (
        f"NEW.entered_in_error_at IS NULL AND NEW.{vital} IS NOT NULL AND ({row}.{vital}_at IS NULL"
        f" OR NEW.taken_at > {row}.{vital}_at"
        f" OR (NEW.taken_at = {row}.{vital}_at AND NEW.id > {row}.{vital}_id))"
    )


def _on_insert(row: str) -> str:
    """SET clauses folding NEW into the latest row (every right-hand side sees the old row)."""
    sets = []
    for vital, _ in VITALS:
        newer = _newer(vital, row)
        for column, value in (
            (vital, f"NEW.{vital}"),
            (f"{vital}_at", "NEW.taken_at"),
            (f"{vital}_source", "NEW.source"),
            (f"{vital}_id", "NEW.id"),
        ):
            sets.append(f"{column} = CASE WHEN {newer} THEN {value} ELSE {row}.{column} END")
    sets.append(
        f"feed_received_at = CASE WHEN {FEED} AND ({row}.feed_received_at IS NULL"
        f" OR NEW.received_at > {row}.feed_received_at) THEN NEW.received_at"
        f" ELSE {row}.feed_received_at END"
    )
    return ",\n    ".join(sets)


def _newest(vital: str, column: str, session: str) -> str:
    """The newest valid reading's `column` among the readings of `vital` of `session`: an
    indexed walk back along ix_readings_session_taken."""
    return (
        f"(SELECT r.{column} FROM readings r WHERE r.session_id = {session}"
        f" AND r.{vital} IS NOT NULL AND r.entered_in_error_at IS NULL"
        f" ORDER BY r.taken_at DESC, r.id DESC LIMIT 1)"
    )


def _recompute(vital: str, session: str) -> list[tuple[str, str]]:
    return [
        (vital, _newest(vital, vital, session)),
        (f"{vital}_at", _newest(vital, "taken_at", session)),
        (f"{vital}_source", _newest(vital, "source", session)),
        (f"{vital}_id", _newest(vital, "id", session)),
    ]


def _on_error(row: str) -> str:
    """SET clauses recomputing the vitals whose latest was NEW, now struck out."""
    sets = []
    for vital, _ in VITALS:
        for column, value in _recompute(vital, "NEW.session_id"):
            sets.append(
                f"{column} = CASE WHEN {row}.{vital}_id = NEW.id THEN {value}"
                f" ELSE {row}.{column} END"
            )
    return ",\n    ".join(sets)


def _everything(session: str) -> str:
    """SET clauses computing a session's whole row from its readings."""
    sets = []
    for vital, _ in VITALS:
        sets += [f"{column} = {value}" for column, value in _recompute(vital, session)]
    sets.append(
        "feed_received_at = (SELECT max(r.received_at) FROM readings r"
        f" WHERE r.session_id = {session} AND r.source IN {CONTINUOUS}"
        " AND (r.heart_rate IS NOT NULL OR r.spo2 IS NOT NULL))"
    )
    return ",\n    ".join(sets)


SQLITE = [
    f"""CREATE TRIGGER readings_latest_insert AFTER INSERT ON readings
BEGIN
  INSERT OR IGNORE INTO latest_readings (session_id) VALUES (NEW.session_id);
  UPDATE latest_readings SET
    {_on_insert("latest_readings")}
  WHERE session_id = NEW.session_id;
END""",
    f"""CREATE TRIGGER readings_latest_error AFTER UPDATE OF entered_in_error_at ON readings
WHEN NEW.entered_in_error_at IS NOT NULL AND OLD.entered_in_error_at IS NULL
BEGIN
  UPDATE latest_readings SET
    {_on_error("latest_readings")}
  WHERE session_id = NEW.session_id;
END""",
    # Readings are not changed once stored (only struck out), but one changed all the same (a
    # correction made in the database) must not leave the row behind: recomputed whole.
    f"""CREATE TRIGGER readings_latest_rewrite AFTER UPDATE OF {REWRITTEN} ON readings
BEGIN
  INSERT OR IGNORE INTO latest_readings (session_id) VALUES (NEW.session_id);
  UPDATE latest_readings SET
    {_everything("NEW.session_id")}
  WHERE session_id = NEW.session_id;
END""",
]


def _newest_of_statement() -> str:
    """Per session among a statement's inserted rows (`inserted`): each vital's newest valid
    reading, and the newest feed's arrival."""
    columns = ["s.session_id"]
    joins = []
    for vital, _ in VITALS:
        alias = f"n_{vital}"
        columns += [
            f"{alias}.{vital}",
            f"{alias}.taken_at AS {vital}_at",
            f"{alias}.source AS {vital}_source",
            f"{alias}.id AS {vital}_id",
        ]
        joins.append(
            f"LEFT JOIN LATERAL (SELECT r.{vital}, r.taken_at, r.source, r.id FROM inserted r"
            f" WHERE r.session_id = s.session_id AND r.{vital} IS NOT NULL"
            f" AND r.entered_in_error_at IS NULL ORDER BY r.taken_at DESC, r.id DESC LIMIT 1)"
            f" {alias} ON true"
        )
    columns.append(
        "(SELECT max(r.received_at) FROM inserted r WHERE r.session_id = s.session_id"
        f" AND r.source IN {CONTINUOUS} AND (r.heart_rate IS NOT NULL OR r.spo2 IS NOT NULL))"
        " AS feed_received_at"
    )
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT DISTINCT session_id FROM inserted) s "
        + " ".join(joins)
    )


def _on_statement() -> str:
    """SET clauses folding a statement's newest (n) into the latest row (l)."""
    sets = []
    for vital, _ in VITALS:
        newer = (
            f"n.{vital}_at IS NOT NULL AND (l.{vital}_at IS NULL"
            f" OR (n.{vital}_at, n.{vital}_id) > (l.{vital}_at, l.{vital}_id))"
        )
        for column in (vital, f"{vital}_at", f"{vital}_source", f"{vital}_id"):
            sets.append(f"{column} = CASE WHEN {newer} THEN n.{column} ELSE l.{column} END")
    sets.append(
        "feed_received_at = CASE WHEN n.feed_received_at IS NOT NULL AND"
        " (l.feed_received_at IS NULL OR n.feed_received_at > l.feed_received_at)"
        " THEN n.feed_received_at ELSE l.feed_received_at END"
    )
    return ",\n    ".join(sets)


# On PostgreSQL inserts are folded in once per statement, from its transition table: a batch of
# a thousand readings of one session updates its row once (a row trigger would update it a
# thousand times in one transaction, each update walking the versions the others left).
POSTGRESQL = [
    f"""CREATE FUNCTION readings_latest_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO latest_readings (session_id) SELECT DISTINCT session_id FROM inserted
    ON CONFLICT (session_id) DO NOTHING;
  UPDATE latest_readings AS l SET
    {_on_statement()}
  FROM ({_newest_of_statement()}) AS n
  WHERE l.session_id = n.session_id;
  RETURN NULL;
END
$$""",
    f"""CREATE FUNCTION readings_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'error' THEN
    UPDATE latest_readings AS l SET
    {_on_error("l")}
    WHERE l.session_id = NEW.session_id;
  ELSE
    INSERT INTO latest_readings (session_id) VALUES (NEW.session_id)
      ON CONFLICT (session_id) DO NOTHING;
    UPDATE latest_readings SET
    {_everything("NEW.session_id")}
    WHERE session_id = NEW.session_id;
  END IF;
  RETURN NULL;
END
$$""",
    """CREATE TRIGGER readings_latest_insert AFTER INSERT ON readings
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION readings_latest_inserted()""",
    """CREATE TRIGGER readings_latest_error AFTER UPDATE OF entered_in_error_at ON readings
FOR EACH ROW WHEN (NEW.entered_in_error_at IS NOT NULL AND OLD.entered_in_error_at IS NULL)
EXECUTE FUNCTION readings_latest('error')""",
    f"""CREATE TRIGGER readings_latest_rewrite AFTER UPDATE OF {REWRITTEN} ON readings
FOR EACH ROW EXECUTE FUNCTION readings_latest('rewrite')""",
]


# Every session with readings gets its row, computed from them as the triggers would.
BACKFILL = [
    "INSERT INTO latest_readings (session_id) SELECT DISTINCT session_id FROM readings",
    f"UPDATE latest_readings SET\n    {_everything('latest_readings.session_id')}",
]


def upgrade() -> None:
    columns: list[sa.Column[object]] = []
    for vital, kind in VITALS:
        columns += [
            sa.Column(vital, kind, nullable=True),
            sa.Column(f"{vital}_at", UTCDateTime(timezone=True), nullable=True),
            sa.Column(f"{vital}_source", sa.String(16), nullable=True),
            sa.Column(f"{vital}_id", sa.String(36), nullable=True),
        ]
    op.create_table(
        "latest_readings",
        sa.Column("session_id", sa.Integer(), nullable=False, autoincrement=False),
        *columns,
        sa.Column("feed_received_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name="fk_latest_readings_session_id_infusion_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name="pk_latest_readings"),
    )
    for statement in BACKFILL:
        op.execute(statement)
    # After the backfill: the triggers keep the rows from here on.
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER readings_latest_rewrite ON readings")
        op.execute("DROP TRIGGER readings_latest_error ON readings")
        op.execute("DROP TRIGGER readings_latest_insert ON readings")
        op.execute("DROP FUNCTION readings_latest()")
        op.execute("DROP FUNCTION readings_latest_inserted()")
    else:
        op.execute("DROP TRIGGER readings_latest_rewrite")
        op.execute("DROP TRIGGER readings_latest_error")
        op.execute("DROP TRIGGER readings_latest_insert")
    op.drop_table("latest_readings")
