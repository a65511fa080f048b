"""The outbox numbers a transaction's stream events as it commits (not when they are recorded),
so the counter row every writer in every process needs is held only for the commit; a savepoint
rolled back drops only its own events; every session stores its events, a bus or not."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from backend.core.database import Database
from backend.streaming.events import Event
from backend.streaming.models import StreamEvent
from backend.streaming.outbox import install_outbox, last_sequence, record_event
from tests.conftest import migrated_database


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[Database]:
    with migrated_database(tmp_path) as url:
        db = Database(url)
        yield db
        db.dispose()


class Bus:
    def __init__(self) -> None:
        self.published: list[Event] = []
        self.reserved: list[int] = []
        self.released: list[int] = []


@pytest.fixture
def bus(own_database: Database) -> Bus:
    bus = Bus()
    install_outbox(
        (own_database.read_sessions, own_database.write_sessions),
        bus.published.extend,
        reserve=bus.reserved.extend,
        release=bus.released.extend,
    )
    return bus


def stored(own_database: Database) -> list[tuple[int, str]]:
    with own_database.unit_of_work(write=False) as db:
        return [(row.seq, row.kind) for row in db.scalars(select(StreamEvent).order_by("seq"))]


def test_events_are_numbered_as_the_transaction_commits(own_database: Database, bus: Bus) -> None:
    with own_database.unit_of_work(write=False) as db:
        start = last_sequence(db)
    counter_updates: list[str] = []

    def watch(conn: Connection, cursor: object, statement: str, *_: object) -> None:
        if "stream_counter" in statement and statement.lstrip().upper().startswith("UPDATE"):
            counter_updates.append(statement)

    event.listen(own_database.engine, "before_cursor_execute", watch)
    try:
        with own_database.unit_of_work(write=True) as db:
            record_event(db, "test.first", None, {"n": 1})
            record_event(db, "test.second", 7, {"n": 2})
            db.flush()
            # Recorded, not numbered: the counter is untouched (and unlocked) until the commit.
            assert counter_updates == []
            assert last_sequence(db) == start
            assert bus.reserved == []
    finally:
        event.remove(own_database.engine, "before_cursor_execute", watch)
    assert len(counter_updates) == 1  # both numbered by one statement, at the commit
    assert stored(own_database) == [(start + 1, "test.first"), (start + 2, "test.second")]
    assert bus.reserved == [start + 1, start + 2]
    assert [(e.seq, e.kind, e.session_id, e.data) for e in bus.published] == [
        (start + 1, "test.first", None, {"n": 1}),
        (start + 2, "test.second", 7, {"n": 2}),
    ]


def test_a_savepoint_rolled_back_drops_only_the_events_recorded_inside_it(
    own_database: Database, bus: Bus
) -> None:
    with own_database.unit_of_work(write=True) as db:
        record_event(db, "test.before", None, {})
        with pytest.raises(RuntimeError), db.begin_nested():
            record_event(db, "test.inside", None, {})
            raise RuntimeError("a unique key said no")
        with db.begin_nested():
            record_event(db, "test.kept-savepoint", None, {})
        record_event(db, "test.after", None, {})
    kinds = [kind for _, kind in stored(own_database)]
    assert kinds == ["test.before", "test.kept-savepoint", "test.after"]
    assert [e.kind for e in bus.published] == kinds


def test_a_transaction_rolled_back_stores_publishes_and_numbers_nothing(
    own_database: Database, bus: Bus
) -> None:
    with own_database.unit_of_work(write=False) as db:
        start = last_sequence(db)
    with pytest.raises(RuntimeError), own_database.unit_of_work(write=True) as db:
        record_event(db, "test.lost", None, {})
        raise RuntimeError("the request failed")
    with own_database.unit_of_work(write=True) as db:
        record_event(db, "test.next", None, {})
    # The failed one took no number: the next event follows on, with no hole to wait out.
    assert stored(own_database) == [(start + 1, "test.next")]
    assert [e.kind for e in bus.published] == ["test.next"]
    assert bus.released == []


def test_a_commit_that_fails_gives_its_numbers_back(own_database: Database, bus: Bus) -> None:
    def refuse(*_: object) -> None:
        raise RuntimeError("the database went away at the commit")

    with pytest.raises(RuntimeError), own_database.unit_of_work(write=True) as db:
        record_event(db, "test.unlucky", None, {})
        event.listen(db.connection(), "commit", refuse)
    assert len(bus.reserved) == 1
    assert bus.released == bus.reserved  # the bus stops waiting for that hole
    assert bus.published == []
    assert stored(own_database) == []


def test_a_session_without_a_bus_still_stores_its_events(own_database: Database) -> None:
    """The CLI's sessions (`vigil setup --demo`) have no bus: their events are the log the
    servers' streams read."""
    with own_database.unit_of_work(write=True) as db:
        record_event(db, "test.from-the-cli", None, {"n": 3})
    assert [kind for _, kind in stored(own_database)] == ["test.from-the-cli"]
