"""The reading path's compiled statements (backend/core/fast_sql.py) on the database under test:
they store and return what SQLAlchemy's own execution would, fire the engine's cursor events, and
a driver's error comes back as SQLAlchemy's, as from any other statement."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from backend.alerts.limit_profiles import lock_with_limits_version
from backend.core import fast_sql
from backend.core.database import WROTE, Database
from backend.core.fast_sql import Prepared
from backend.readings import service as readings
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession
from tests.helpers import new_session

TABLE = Reading.__table__
assert isinstance(TABLE, Table)
BY_ID = Prepared(
    select(TABLE.c.taken_at, TABLE.c.temperature, TABLE.c.on_oxygen, TABLE.c.source).where(
        TABLE.c.id == bindparam("id")
    )
)
# No ON CONFLICT: a repeated id is the driver's error.
PLAIN_INSERT = Prepared(
    insert(TABLE).values({column.name: bindparam(column.name) for column in TABLE.columns})
)


def row(session_id: int, **values: Any) -> dict[str, Any]:
    taken = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
    return {
        "id": str(uuid.uuid4()),
        "session_id": session_id,
        "taken_at": taken,
        "received_at": taken + timedelta(seconds=1),
        "source": "device",
        "entered_by": "token:test",
        "heart_rate": 72,
        "systolic": 121,
        "diastolic": 79,
        "spo2": 97,
        "respiratory_rate": 14,
        "temperature": 36.6,
        "consciousness": "A",
        "sedation": 0,
        "on_oxygen": False,
        "entered_in_error_at": None,
        "entered_in_error_by": None,
        "entered_in_error_reason": None,
        **values,
    }


def test_values_come_back_as_the_orm_reads_them(database: Database, as_nurse: TestClient) -> None:
    session_id = new_session(as_nurse)["id"]
    stored = row(session_id, taken_at=datetime(2026, 12, 7, 15, 0, 1, 5, tzinfo=UTC))
    with database.unit_of_work(write=True) as db:
        assert readings._INSERT_NEW.returned(db, [stored]) == [stored["id"]]
    with database.unit_of_work(write=False) as db:
        ((taken, temperature, on_oxygen, source),) = BY_ID.rows(db, {"id": stored["id"]})
        orm = db.get(Reading, stored["id"])
        assert orm is not None
        assert (taken, temperature, on_oxygen, source) == (
            orm.taken_at,
            orm.temperature,
            orm.on_oxygen,
            orm.source,
        )
    # UTC, to the microsecond, with its offset: what went in.
    assert taken == stored["taken_at"] and taken.utcoffset() == timedelta(0)
    assert (temperature, on_oxygen) == (36.6, False)


def test_returned_names_only_the_rows_stored_across_statements(
    database: Database, as_nurse: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch longer than one statement takes (two rows a statement here) still answers for
    every row, and an id stored before is not among them."""
    monkeypatch.setattr(fast_sql, "ROWS_A_STATEMENT", 2)
    session_id = new_session(as_nurse)["id"]
    before = row(session_id)
    with database.unit_of_work(write=True) as db:
        readings._INSERT_NEW.returned(db, [before])
    batch = [row(session_id) for _ in range(2)] + [before] + [row(session_id) for _ in range(2)]
    with database.unit_of_work(write=True) as db:
        stored = readings._INSERT_NEW.returned(db, batch)
    assert sorted(stored) == sorted(r["id"] for r in batch if r is not before)


def test_statements_fire_the_engines_cursor_events(
    database: Database, as_nurse: TestClient
) -> None:
    """The statement count of test_ingest_cost.py and the mark that a transaction wrote (which
    ends a disk-full state) both hear these statements."""
    session_id = new_session(as_nurse)["id"]
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        with database.unit_of_work(write=True) as db:
            readings._INSERT_NEW.returned(db, [row(session_id)])
            wrote = db.connection().info.get(WROTE)
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert [s for s in seen if "INSERT INTO readings" in s] and wrote is True


def test_a_drivers_error_is_sqlalchemys_and_rolls_the_work_back(
    database: Database, as_nurse: TestClient
) -> None:
    session_id = new_session(as_nurse)["id"]
    first, second = row(session_id), row(session_id)
    with pytest.raises(IntegrityError), database.unit_of_work(write=True) as db:
        PLAIN_INSERT.many(db, [first])
        PLAIN_INSERT.many(db, [second, {**first, "heart_rate": 80}])
    with database.unit_of_work(write=False) as db:
        assert BY_ID.rows(db, {"id": first["id"]}) == []
        assert BY_ID.rows(db, {"id": second["id"]}) == []


def test_the_locked_session_is_the_units_own_orm_row(
    database: Database, as_nurse: TestClient
) -> None:
    """`as_loaded`: the row the lock read is the persistent object of this unit of work, as a
    query would have given it: one the unit already held is refreshed with what the lock read;
    a new one lazy-loads its relationships and flushes its changes."""
    session_id = new_session(as_nurse)["id"]
    with database.unit_of_work(write=True) as db:
        held = db.get(InfusionSession, session_id)
        assert held is not None and held.notes is None
        db.commit()  # the session keeps `held` as it was loaded (SQLite: one writer at a time)
        with database.unit_of_work(write=True) as other:
            other.execute(
                update(InfusionSession).where(InfusionSession.id == session_id).values(notes="x")
            )
        locked, version = lock_with_limits_version(db, session_id)
        assert locked is held and held.notes == "x" and version is not None
        assert held not in db.dirty
    with database.unit_of_work(write=True) as db:
        locked, _ = lock_with_limits_version(db, session_id)
        assert locked is not None and locked in db and locked.chair_ref.name
        locked.notes = "changed through the locked row"
    with database.unit_of_work(write=False) as db:
        assert db.get(InfusionSession, session_id).notes == "changed through the locked row"  # type: ignore[union-attr]
        assert lock_with_limits_version(db, 10**9) == (None, None)
