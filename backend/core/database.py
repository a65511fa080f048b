"""Engine, typed declarative base and the one unit-of-work per request.

SQLite is opened in WAL mode with a busy timeout, and write transactions start with
BEGIN IMMEDIATE: a deferred transaction that reads and then writes can fail at once with
SQLITE_BUSY when another writer committed in between, which would turn a valid reading into a 500.

Every wait here is bounded (a turn, the write lock, a connection, a PostgreSQL row lock): past
`wait` seconds the request is refused with `Overloaded` (503 + Retry-After) instead of stalling.
"""

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import anyio
from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from backend.core.errors import Conflict, Overloaded
from backend.core.fast_sql import run_plain
from backend.core.timeutil import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; attach a timezone")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# Connections beyond the admitted requests' own: sign-in look-ups, the alarm clock, the
# simulator and the stream's backfill use them, one thread hop each, never waiting on a request.
SPARE_CONNECTIONS = 10
# A write that may be skipped (a token's "last used" time) waits no longer than this.
BEST_EFFORT_WAIT_SECONDS = 0.05
PG_LOCK_NOT_AVAILABLE = "55P03"


def create_db_engine(url: str, *, wait: float = 10.0, pool_size: int = 16, **kwargs: Any) -> Engine:
    """Create an engine configured for Vigil's durability and concurrency needs."""
    pool = {"pool_size": pool_size, "max_overflow": SPARE_CONNECTIONS, "pool_timeout": wait}
    if not url.startswith("sqlite"):
        # A transaction queued behind the stream counter's row lock gives up after `wait`.
        options = f"-c lock_timeout={int(wait * 1000)}"
        return create_engine(
            url, pool_pre_ping=True, connect_args={"options": options}, **pool, **kwargs
        )

    _prepare_sqlite_file(url)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": wait}, **pool, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours (and savepoints work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a reading acknowledged to a nurse survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.close()

    # SQLite admits one writer at a time. Queue this process's writers on a lock, first come
    # first served, instead of leaving them to SQLite's busy handler, which polls with sleeps of
    # up to 100 ms and turned a burst of readings into second-long waits.
    writer = threading.Lock()

    def _writes(conn: Connection) -> bool:
        return bool(conn.get_execution_options().get("vigil_writes", False))

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Every transaction runs one: as a Prepared statement runs (core/fast_sql.py), not
        # through SQLAlchemy's execution machinery, which cost several times SQLite's own work.
        if not _writes(conn):
            run_plain(conn, "BEGIN")
            return
        if not writer.acquire(timeout=conn.get_execution_options().get("vigil_wait", wait)):
            raise Overloaded(
                f"the database stayed busy with other writes for over {wait:g} s; try again shortly"
            )
        try:
            run_plain(conn, "BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        conn.info["vigil_holds_writer"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Connection) -> None:
        if conn.info.pop("vigil_holds_writer", False):
            writer.release()

    return engine


# PostgreSQL's SQLSTATEs for a server that cannot take the request now: out of disk (53100),
# memory (53200) or connections (53300), shutting down or restarting (57P01-57P03), and the
# connection exception class (08...). Each passes; none is the request's fault.
PG_RESOURCES = {"53000", "53100", "53200", "53300", "53400"}
PG_SHUTTING_DOWN = {"57P01", "57P02", "57P03"}
PG_DISK_FULL = "53100"
# Waits that ran out or collided: a lock not granted in time, a deadlock or serialization failure
# (PostgreSQL rolled one side back), a statement cancelled by its timeout. Retrying succeeds.
PG_BUSY = {PG_LOCK_NOT_AVAILABLE, "40001", "40P01", "57014"}
# SQLite says these in its error text (the codes are not exposed by every Python version).
SQLITE_FULL = ("database or disk is full",)
SQLITE_UNREACHABLE = (
    "unable to open database file",
    "disk i/o error",
    "attempt to write a readonly database",
    "database is locked",
    "database table is locked",
)
FULL_RETRY_SECONDS = 30
DOWN_RETRY_SECONDS = 5


def overload_of(exc: BaseException) -> Overloaded | None:
    """The `Overloaded` (503 + Retry-After) a database error amounts to, when it is the database
    being busy, full or out of reach rather than the request being wrong; else None."""
    if isinstance(exc, Overloaded):
        return exc
    if isinstance(exc, PoolTimeout):
        return Overloaded("every database connection stayed in use; try again shortly")
    if not isinstance(exc, DBAPIError):
        return None
    code = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig).lower()
    if code in PG_BUSY or "database is locked" in text:
        return Overloaded("the database stayed busy with other writes; try again shortly")
    if code == PG_DISK_FULL or any(s in text for s in SQLITE_FULL):
        return Overloaded(
            "the database's disk is full: nothing can be stored until IT frees space",
            retry_after=FULL_RETRY_SECONDS,
            full=True,
        )
    if code == "53300":
        return Overloaded(
            "the database server has no connection free; try again shortly",
            retry_after=DOWN_RETRY_SECONDS,
        )
    unreachable = (
        exc.connection_invalidated
        or (code is not None and (code in PG_RESOURCES | PG_SHUTTING_DOWN or code[:2] == "08"))
        # psycopg reports a server it could not reach at all (refused, reset) without a code.
        or (code is None and isinstance(exc, OperationalError) and exc.orig.__module__ != "sqlite3")
        or any(s in text for s in SQLITE_UNREACHABLE)
    )
    if unreachable:
        return Overloaded(
            "the database cannot be reached; try again shortly", retry_after=DOWN_RETRY_SECONDS
        )
    return None


class Admission:
    """At most `capacity` requests hold a database transaction at once; the rest queue here.

    A request's transaction spans several worker-thread hops (dependencies, endpoint, commit),
    each needing one of the thread pool's tokens. Unbounded, a burst of requests took every token
    while waiting for the write lock, and the holder of the lock could never get one to commit:
    ingest stalled for good. Waiting here, in the event loop, holds no thread and no connection.
    """

    def __init__(self, capacity: int, wait: float) -> None:
        self.capacity = capacity
        self.wait = wait
        self._slots: anyio.Semaphore | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._slots is None:  # made in the event loop that serves the app
            self._slots = anyio.Semaphore(self.capacity)
        try:
            # A free turn is taken without a timed cancel scope (most requests, every one on a
            # ward at ease): that scope cost more than the rest of this. The semaphore hands a
            # released turn straight to the first waiter, so this never jumps the queue.
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            with anyio.move_on_after(self.wait) as waited:
                await self._slots.acquire()
            if waited.cancelled_caught:
                raise Overloaded(
                    f"Vigil is busy: no turn at the database within {self.wait:g} s; "
                    "try again shortly"
                ) from None
        try:
            yield
        finally:
            self._slots.release()


def add_unique(db: Session, row: object, conflict: str) -> None:
    """Add `row` and flush it, turning a unique-constraint violation into a 409 with `conflict`.

    The flush runs in a savepoint, so the violation leaves the request's transaction usable.
    """
    db.add(row)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict(conflict) from None


WROTE = "vigil_wrote"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _note_writes(engine: Engine) -> None:
    """Mark a pooled connection that ran a statement storing something, until it is checked in."""

    def wrote(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
            conn.info[WROTE] = True

    def checked_in(_dbapi: Any, record: Any) -> None:
        record.info.pop(WROTE, None)

    event.listen(engine, "after_cursor_execute", wrote)
    event.listen(engine.pool, "checkin", checked_in)


class Database:
    """The engine, the admission of requests to it, and the session factories: reads, writes,
    and best-effort writes that give up at once rather than queue behind readings."""

    def __init__(
        self, url: str, *, concurrency: int = 16, wait: float = 10.0, **engine_kwargs: Any
    ) -> None:
        self.url = url
        self.engine = create_db_engine(url, wait=wait, pool_size=concurrency, **engine_kwargs)
        self.admission = Admission(concurrency, wait)
        self.read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(
            self.engine.execution_options(vigil_writes=True), expire_on_commit=False
        )
        # When a write last failed for want of disk, until a write succeeds again (monotonic).
        self.full_since: float | None = None
        _note_writes(self.engine)
        self._best_effort_sessions = sessionmaker(
            self.engine.execution_options(vigil_writes=True, vigil_wait=BEST_EFFORT_WAIT_SECONDS),
            expire_on_commit=False,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, *, write: bool, best_effort: bool = False) -> Iterator[Session]:
        """Yield a session that commits when the block succeeds and rolls back when it fails.

        A `best_effort` write raises `Overloaded` at once if another write holds SQLite's lock.
        """
        if best_effort:
            factory = self._best_effort_sessions
        else:
            factory = self.write_sessions if write else self.read_sessions
        with factory() as session:
            try:
                yield session
                # Only a transaction that stored something shows the disk has room again: one
                # that merely read (an alarm clock tick with nothing due) proves nothing.
                wrote = session.in_transaction() and session.connection().info.get(WROTE, False)
                session.commit()
            except BaseException as exc:
                session.rollback()
                if (busy := overload_of(exc)) is not None and busy.full:
                    self.full_since = time.monotonic()
                raise
            if wrote:
                self.full_since = None

    def disk_full(self, within: float = FULL_RETRY_SECONDS) -> bool:
        """Whether a write failed for want of disk in the last `within` seconds and none has
        succeeded since (reads still work on a full disk, so a read cannot tell)."""
        since = self.full_since
        return since is not None and time.monotonic() - since < within

    def dispose(self) -> None:
        self.engine.dispose()
