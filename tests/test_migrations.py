"""Migrations are the schema: they build it, they match the models, and they run both ways."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import TypeAdapter
from sqlalchemy import Connection, MetaData, Table, create_engine, inspect, select

from backend.alerts.limits import Discharge
from backend.migrations import downgrade, upgrade
from backend.models import Base
from tests.conftest import empty_database


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url)
        downgrade(url, "base")
        engine = create_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()
        upgrade(url)
        engine = create_engine(url)
        try:
            assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()


def test_stored_esketamine_observation_below_the_floor_is_raised_and_still_loads(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url, "0006")
        engine = create_engine(url)
        profiles = Table("limit_profiles", MetaData(), autoload_with=engine)
        limits = {"discharge": {"min_observation_min": 45, "esketamine_min_observation_min": 60}}
        try:
            with engine.begin() as conn:
                conn.execute(
                    profiles.insert().values(
                        name="brief",
                        is_default=False,
                        limits=limits,
                        updated_at=datetime.now(UTC),
                        updated_by="test",
                    )
                )
            upgrade(url)
            with engine.connect() as conn:
                stored = conn.execute(select(profiles.c.limits)).scalar_one()
        finally:
            engine.dispose()
        assert stored["discharge"] == {
            "min_observation_min": 45,
            "esketamine_min_observation_min": 120,
        }
        # The stored value loads under today's rule (below 120 it is refused).
        assert (
            TypeAdapter(Discharge).validate_python(stored["discharge"]).minimum_for("esketamine")
            == 120
        )


def _session_row(patient_id: int, chair: str, ended: bool) -> dict[str, object]:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return {
        "patient_id": patient_id,
        "chair": chair,
        "drug": "ketamine",
        "route": "iv",
        "simulated": False,
        "phase": "discharged" if ended else "baseline",
        "phase_changed_at": at,
        "created_at": at,
        "created_by": "test",
        "ended_at": at if ended else None,
    }


def _insert(conn: Connection, table: Table, **values: object) -> int:
    """Insert a row the way a migration's predecessor stored it; its primary key."""
    key = conn.execute(table.insert().values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _a_chair(conn: Connection, tables: dict[str, Table], at: datetime) -> tuple[int, int]:
    """A patient and a configured chair (site Main, room A, chair C1), as of `at`."""
    place = {"active": True, "created_at": at}
    patient = _insert(
        conn,
        tables["patients"],
        clinic_id="P1",
        clinic_key="p1",
        name_key="p 1",
        display_name="P 1",
        created_at=at,
    )
    site = _insert(conn, tables["sites"], name="Main", name_key="main", **place)
    room = _insert(conn, tables["rooms"], site_id=site, name="A", name_key="a", **place)
    chair = _insert(
        conn, tables["chairs"], room_id=room, name="C1", name_key="c1", position=0, **place
    )
    return patient, chair


def test_todays_chair_names_become_one_chair_each_whatever_their_spelling(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url, "0010")
        engine = create_engine(url)
        meta = MetaData()
        patients = Table("patients", meta, autoload_with=engine)
        sessions = Table("infusion_sessions", meta, autoload_with=engine)
        try:
            with engine.begin() as conn:
                for n in range(4):
                    conn.execute(
                        patients.insert().values(
                            clinic_id=f"P{n}", display_name=f"P {n}", created_at=datetime.now(UTC)
                        )
                    )
                pids = list(conn.execute(select(patients.c.id).order_by(patients.c.id)).scalars())
                conn.execute(sessions.insert().values(_session_row(pids[0], "chair 7 ", True)))
                conn.execute(sessions.insert().values(_session_row(pids[1], "Chair 7", False)))
                conn.execute(sessions.insert().values(_session_row(pids[2], "Chair  10", True)))
                conn.execute(sessions.insert().values(_session_row(pids[3], "Chair 2", False)))
            upgrade(url, "0012")
            meta = MetaData()
            chairs = Table("chairs", meta, autoload_with=engine)
            rooms = Table("rooms", meta, autoload_with=engine)
            sites = Table("sites", meta, autoload_with=engine)
            sessions = Table("infusion_sessions", meta, autoload_with=engine)
            with engine.connect() as conn:
                made = conn.execute(
                    select(chairs.c.id, chairs.c.name).order_by(chairs.c.position)
                ).all()
                places = conn.execute(select(sites.c.name, rooms.c.name).join(rooms)).all()
                on = dict(
                    conn.execute(
                        select(sessions.c.chair, sessions.c.chair_id).order_by(sessions.c.id)
                    ).all()
                )
        finally:
            engine.dispose()
        # One chair per name however spelt, under its first-seen spelling tidied, in order.
        assert [name for _, name in made] == ["Chair 2", "chair 7", "Chair 10"]
        assert places == [("Clinic", "Main room")]
        ids = {name: chair_id for chair_id, name in made}
        # Every session is on its chair; its own text stays as the record's copy.
        assert on == {
            "chair 7 ": ids["chair 7"],
            "Chair 7": ids["chair 7"],
            "Chair  10": ids["Chair 10"],
            "Chair 2": ids["Chair 2"],
        }


def test_two_open_sessions_that_would_share_a_chair_stop_the_upgrade_naming_them(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url, "0010")
        engine = create_engine(url)
        meta = MetaData()
        patients = Table("patients", meta, autoload_with=engine)
        sessions = Table("infusion_sessions", meta, autoload_with=engine)
        try:
            with engine.begin() as conn:
                for n in range(2):
                    conn.execute(
                        patients.insert().values(
                            clinic_id=f"P{n}", display_name=f"P {n}", created_at=datetime.now(UTC)
                        )
                    )
                pids = list(conn.execute(select(patients.c.id).order_by(patients.c.id)).scalars())
                conn.execute(sessions.insert().values(_session_row(pids[0], "chair 7 ", False)))
                conn.execute(sessions.insert().values(_session_row(pids[1], "Chair 7", False)))
            with pytest.raises(RuntimeError, match="would share one chair"):
                upgrade(url, "0012")
        finally:
            engine.dispose()


def test_alarms_stored_before_the_review_get_their_first_announcement_and_answer(
    tmp_path: Path,
) -> None:
    """Migration 0016: an alarm stored before it counts from when it was raised to the one
    acknowledgement kept, so the alarm review covers the clinic's history too."""
    raised = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    answered = datetime(2026, 12, 1, 9, 0, 40, tzinfo=UTC)
    with empty_database(tmp_path) as url:
        upgrade(url, "0014")
        engine = create_engine(url)
        meta = MetaData()
        tables = {
            name: Table(name, meta, autoload_with=engine)
            for name in ("patients", "sites", "rooms", "chairs", "infusion_sessions", "alerts")
        }
        try:
            with engine.begin() as conn:

                def add(table: str, **values: object) -> int:
                    return _insert(conn, tables[table], **values)

                patient, chair = _a_chair(conn, tables, raised)
                session = add(
                    "infusion_sessions", **_session_row(patient, "C1", ended=True), chair_id=chair
                )
                alarm = {
                    "session_id": session,
                    "condition": "systolic.above",
                    "kind": "physiological",
                    "priority": 2,
                    "present": False,
                    "message": "Systolic BP 165 mmHg above 160",
                    "raised_at": raised,
                    "alerted_at": raised + timedelta(minutes=3),  # a reminder moved it on
                    "resolved_at": raised + timedelta(minutes=5),
                }
                add("alerts", **alarm, status="resolved", acknowledged_at=answered)
                add("alerts", **alarm, status="resolved", acknowledged_at=None)
            upgrade(url)
            alerts = Table("alerts", MetaData(), autoload_with=engine)
            with engine.connect() as conn:
                rows = conn.execute(
                    select(
                        alerts.c.announced_at, alerts.c.first_acknowledged_at, alerts.c.actionable
                    ).order_by(alerts.c.id)
                ).all()
        finally:
            engine.dispose()

    def utc(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)

    assert [(utc(a), utc(f), act) for a, f, act in rows] == [
        (raised, answered, None),
        (raised, None, None),
    ]


def test_sessions_stored_before_the_latest_row_get_it_from_their_readings(
    tmp_path: Path,
) -> None:
    """Migration 0020: each session with readings gets its latest row computed from them (a
    struck-out reading and a backfilled older one left out as the triggers would), and the
    triggers keep it from then on."""
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with empty_database(tmp_path) as url:
        upgrade(url, "0019")
        engine = create_engine(url)
        meta = MetaData()
        tables = {
            name: Table(name, meta, autoload_with=engine)
            for name in ("patients", "sites", "rooms", "chairs", "infusion_sessions", "readings")
        }
        try:
            with engine.begin() as conn:

                def add(table: str, **values: object) -> int:
                    return _insert(conn, tables[table], **values)

                patient, chair = _a_chair(conn, tables, at)
                session = add(
                    "infusion_sessions", **_session_row(patient, "C1", ended=True), chair_id=chair
                )
                quiet = add(
                    "infusion_sessions", **_session_row(patient, "C1", ended=True), chair_id=chair
                )

                def reading(minute: int, source: str, **vitals: object) -> None:
                    conn.execute(
                        tables["readings"]
                        .insert()
                        .values(
                            id=f"r{minute:02d}",
                            session_id=session,
                            taken_at=at + timedelta(minutes=minute),
                            received_at=at + timedelta(minutes=minute, seconds=1),
                            source=source,
                            entered_by="test",
                            **vitals,
                        )
                    )

                reading(0, "device", heart_rate=70, spo2=97, systolic=120, diastolic=80)
                reading(5, "device", heart_rate=75, spo2=96)
                reading(7, "manual", heart_rate=140, entered_in_error_at=at)
                reading(3, "manual", temperature=37.2)  # entered late: older than the newest
            upgrade(url)
            latest = Table("latest_readings", MetaData(), autoload_with=engine)
            with engine.connect() as conn:
                rows = {row.session_id: row for row in conn.execute(select(latest))}
            with engine.begin() as conn:
                reading(9, "device", respiratory_rate=14)  # the triggers' from now on
            with engine.connect() as conn:
                after = conn.execute(select(latest.c.respiratory_rate, latest.c.heart_rate)).one()
        finally:
            engine.dispose()

    def utc(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)

    assert set(rows) == {session}  # the session without readings has no row: nothing is latest
    assert quiet not in rows
    row = rows[session]
    assert (row.heart_rate, utc(row.heart_rate_at), row.heart_rate_id) == (
        75,
        at + timedelta(minutes=5),
        "r05",
    )
    assert (row.spo2, row.systolic, utc(row.systolic_at)) == (96, 120, at)
    assert (row.temperature, row.temperature_source) == (37.2, "manual")
    assert row.consciousness is None and row.consciousness_at is None
    assert utc(row.feed_received_at) == at + timedelta(minutes=5, seconds=1)
    assert tuple(after) == (14, 75)
