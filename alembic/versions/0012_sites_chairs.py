"""sites, rooms and chairs: sessions start on a configured chair; today's chair names become chairs

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06 19:30:00

Each distinct chair name of the existing sessions becomes one chair, spellings that differ only
in capitals and spaces ("chair 7 " and "Chair 7") being one chair under its first-seen spelling,
tidied, in one site and room ("Clinic" / "Main room") that an admin renames or splits later.
Every session is set on its chair; its own `chair` text stays as the record's copy.

Two things the new rules forbid cannot be settled by a migration, because each is a patient in
a chair: two open sessions on what is now one chair, and a patient with two open real sessions.
The upgrade stops, naming them, so someone ends the stale one first.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

import backend.core.database
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SITE, ROOM = "Clinic", "Main room"


# Frozen copies of backend/sites/rules.py as they were when this ran: a migration must not
# change meaning when the application's code does.
def _tidy(name: str) -> str:
    return " ".join(name.split())


def _key(name: str) -> str:
    return _tidy(name).casefold()


def _natural(name: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|\D+", _key(name))]


def _refuse_conflicts(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT id, patient_id, chair, simulated FROM infusion_sessions "
            "WHERE ended_at IS NULL ORDER BY id"
        )
    ).all()
    by_chair: dict[str, list[str]] = {}
    by_patient: dict[int, list[str]] = {}
    for session_id, patient_id, chair, simulated in rows:
        by_chair.setdefault(_key(chair), []).append(f"#{session_id} {chair!r}")
        if not simulated:
            by_patient.setdefault(patient_id, []).append(f"#{session_id} on {chair!r}")
    problems = [
        f"open sessions {', '.join(s)} would share one chair"
        for s in by_chair.values()
        if len(s) > 1
    ] + [
        f"patient {patient_id} has open sessions {', '.join(s)}"
        for patient_id, s in by_patient.items()
        if len(s) > 1
    ]
    if problems:
        raise RuntimeError(
            "cannot move sessions onto configured chairs: "
            + "; ".join(problems)
            + ". End (stop) the stale session of each, then upgrade again."
        )


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_conflicts(conn)
    utc = backend.core.database.UTCDateTime(timezone=True)
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name_key", name=op.f("uq_sites_name_key")),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_rooms_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("site_id", "name_key", name=op.f("uq_rooms_site_id")),
    )
    op.create_index(op.f("ix_rooms_site_id"), "rooms", ["site_id"], unique=False)
    op.create_table(
        "chairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("name_key", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_chairs_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chairs")),
        sa.UniqueConstraint("room_id", "name_key", name=op.f("uq_chairs_room_id")),
    )
    op.create_index(op.f("ix_chairs_room_id"), "chairs", ["room_id"], unique=False)

    with op.batch_alter_table("infusion_sessions") as batch:
        batch.add_column(sa.Column("chair_id", sa.Integer(), nullable=True))

    _chairs_from_names(conn)

    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_index("uq_infusion_sessions_open_chair")
        batch.alter_column("chair_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_infusion_sessions_chair_id_chairs"), "chairs", ["chair_id"], ["id"]
        )
        batch.create_index(op.f("ix_infusion_sessions_chair_id"), ["chair_id"], unique=False)
    # One open session per chair; one real open session per patient.
    op.create_index(
        "uq_infusion_sessions_open_chair",
        "infusion_sessions",
        ["chair_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "uq_infusion_sessions_open_patient",
        "infusion_sessions",
        ["patient_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL AND NOT simulated"),
        postgresql_where=sa.text("ended_at IS NULL AND NOT simulated"),
    )


def _chairs_from_names(conn: sa.Connection) -> None:
    """One chair per distinct name (first-seen spelling), every session set on its chair."""
    sessions = conn.execute(sa.text("SELECT id, chair FROM infusion_sessions ORDER BY id")).all()
    if not sessions:
        return
    first_seen: dict[str, str] = {}
    for _, chair in sessions:
        first_seen.setdefault(_key(chair), _tidy(chair) or "Chair")
    now = datetime.now(UTC)
    meta = sa.MetaData()
    sites = sa.Table("sites", meta, autoload_with=conn)
    rooms = sa.Table("rooms", meta, autoload_with=conn)
    chairs = sa.Table("chairs", meta, autoload_with=conn)
    site_id = conn.execute(
        sites.insert().values(name=SITE, name_key=_key(SITE), active=True, created_at=now)
    ).inserted_primary_key[0]
    room_id = conn.execute(
        rooms.insert().values(
            site_id=site_id, name=ROOM, name_key=_key(ROOM), active=True, created_at=now
        )
    ).inserted_primary_key[0]
    ids: dict[str, int] = {}
    for position, (key, name) in enumerate(
        sorted(first_seen.items(), key=lambda kv: _natural(kv[1]))
    ):
        ids[key] = conn.execute(
            chairs.insert().values(
                room_id=room_id,
                name=name[:32],
                name_key=key[:32],
                position=position,
                active=True,
                created_at=now,
            )
        ).inserted_primary_key[0]
    table = sa.table("infusion_sessions", sa.column("id"), sa.column("chair_id"))
    for session_id, chair in sessions:
        conn.execute(
            table.update().where(table.c.id == session_id).values(chair_id=ids[_key(chair)])
        )


def downgrade() -> None:
    op.drop_index("uq_infusion_sessions_open_patient", table_name="infusion_sessions")
    op.drop_index("uq_infusion_sessions_open_chair", table_name="infusion_sessions")
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_index(op.f("ix_infusion_sessions_chair_id"))
        batch.drop_constraint(op.f("fk_infusion_sessions_chair_id_chairs"), type_="foreignkey")
        batch.drop_column("chair_id")
        batch.create_index(
            "uq_infusion_sessions_open_chair",
            ["chair"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
    op.drop_index(op.f("ix_chairs_room_id"), table_name="chairs")
    op.drop_table("chairs")
    op.drop_index(op.f("ix_rooms_site_id"), table_name="rooms")
    op.drop_table("rooms")
    op.drop_table("sites")
