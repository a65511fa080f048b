"""Record events in the writing transaction; hand them to the bus only once committed.

Services call `record_event(s)`; nothing else in the code publishes. The bus hears about the
events only after the commit, so a browser never sees a reading that a rollback later removed.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, event, insert, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.sql.selectable import ScalarSelect

from backend.core.fast_sql import Prepared
from backend.core.timeutil import utcnow
from backend.streaming.events import WARD_WIDE_KINDS, Event, stored_form, wire_form
from backend.streaming.models import StreamCounter, StreamEvent

_PENDING = "vigil.pending_events"  # recorded, not yet numbered: (kind, session_id, data)
_NUMBERED = "vigil.numbered_events"  # numbered as the transaction commits: StreamEvent rows
COUNTER_ID = 1

Recorded = tuple[str, int | None, dict[str, Any]]


def record_events(db: Session, events: Sequence[Recorded]) -> None:
    """Add (kind, session_id, data) events to the transaction; they are numbered as it commits.

    Numbering row-locks the counter until the transaction ends, and every writer in every
    process needs that row: numbered where they were recorded, a reading's events held it
    through the alarm check, the commit and, on a busy machine, however long its process waited
    for the CPU, and three processes on one PostgreSQL took turns on it (benchmarks.capacity
    saw 39 connections waiting on it at 300 monitors). Numbered in `before_commit`, the lock is
    held only for the last flush and the commit, and seq order is still commit order.
    """
    if events:
        db.info.setdefault(_PENDING, []).extend(events)


def record_event(db: Session, kind: str, session_id: int | None, data: dict[str, Any]) -> None:
    record_events(db, [(kind, session_id, data)])


def _numbered(db: Session, events: Sequence[Recorded]) -> list[Event]:
    """Number the transaction's events from the counter (row-locking it until the commit) and
    insert them, as one statement (a batch of 1,000 readings has 1,000 events: as ORM objects
    their bookkeeping cost more than the insert)."""
    ((last,),) = _TAKE_NUMBERS.rows(db, {"count": len(events)})
    now = utcnow()
    first = last - len(events) + 1
    # Published once committed as recorded (the wire form); the log keeps the stored form.
    numbered = [
        Event(first + offset, kind, sid, data, now)
        for offset, (kind, sid, data) in enumerate(events)
    ]
    _INSERT_EVENTS.many(
        db,
        [
            {
                "seq": e.seq,
                "kind": e.kind,
                "session_id": e.session_id,
                "payload": stored_form(e.kind, e.data),
                "created_at": now,
            }
            for e in numbered
        ],
    )
    return numbered


# The tables' own statements, compiled once (core/fast_sql.py), not the entities': the ORM's
# bulk paths walk each row and synchronize the session, for rows no session holds; every
# committing writer runs these two.
_EVENTS_TABLE = StreamEvent.__table__
assert isinstance(_EVENTS_TABLE, Table)
_INSERT_EVENTS = Prepared(
    insert(_EVENTS_TABLE).values(
        {
            column: bindparam(column)
            for column in ("seq", "kind", "session_id", "payload", "created_at")
        }
    )
)
_COUNTER_TABLE = StreamCounter.__table__
assert isinstance(_COUNTER_TABLE, Table)
_TAKE_NUMBERS = Prepared(
    update(_COUNTER_TABLE)
    .where(_COUNTER_TABLE.c.id == COUNTER_ID)
    .values(last_seq=_COUNTER_TABLE.c.last_seq + bindparam("count"))
    .returning(_COUNTER_TABLE.c.last_seq)
)


def to_event(row: StreamEvent) -> Event:
    return Event(
        row.seq, row.kind, row.session_id, wire_form(row.kind, row.payload), row.created_at
    )


@dataclass(frozen=True)
class _Hooks:
    publish: Callable[[list[Event]], None]
    reserve: Callable[[list[int]], None] | None
    release: Callable[[list[int]], None] | None


_HOOKS = "vigil.outbox_hooks"


def install_outbox(
    factories: Iterable[sessionmaker[Session]],
    publish: Callable[[list[Event]], None],
    *,
    reserve: Callable[[list[int]], None] | None = None,
    release: Callable[[list[int]], None] | None = None,
) -> None:
    """Have every session from `factories` publish its events once committed.

    `reserve` hears a transaction's seqs just before it commits (while it still holds the
    counter, so before any later seq can exist) and `release` hears them if it rolls back instead:
    the bus then knows which holes in the sequence are its own commits on their way (bus.py).
    Events are numbered and stored on every session, these or not (the CLI's have no bus).
    """
    hooks = _Hooks(publish, reserve, release)
    for factory in factories:
        factory.kw.setdefault("info", {})[_HOOKS] = hooks


@event.listens_for(Session, "before_commit")
def _before_commit(db: Session) -> None:
    events = db.info.pop(_PENDING, None)
    if not events:
        return
    rows = _numbered(db, events)
    db.info.setdefault(_NUMBERED, []).extend(rows)
    hooks: _Hooks | None = db.info.get(_HOOKS)
    if hooks is not None and hooks.reserve is not None:
        hooks.reserve([row.seq for row in rows])


@event.listens_for(Session, "after_commit")
def _after_commit(db: Session) -> None:
    rows = db.info.pop(_NUMBERED, None)
    hooks: _Hooks | None = db.info.get(_HOOKS)
    if rows and hooks is not None:
        hooks.publish(rows)


# Each open savepoint -> how many events were pending when it began (weak: a savepoint
# released or rolled back is forgotten with it).
_MARKS: "WeakKeyDictionary[SessionTransaction, int]" = WeakKeyDictionary()


@event.listens_for(Session, "after_transaction_create")
def _savepoint_began(db: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        _MARKS[transaction] = len(db.info.get(_PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(db: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back drops only the events recorded inside it (a unique-key check in
    a savepoint must not lose the reading's events recorded before it); the transaction rolled
    back drops them all, and gives back the numbers it had taken."""
    if previous.nested:
        mark = _MARKS.pop(previous, None)
        if mark is not None and _PENDING in db.info:
            del db.info[_PENDING][mark:]
        return
    if previous.parent is not None:
        return  # a subtransaction: the real rollback follows
    db.info.pop(_PENDING, None)
    rows = db.info.pop(_NUMBERED, None)
    hooks: _Hooks | None = db.info.get(_HOOKS)
    if rows and hooks is not None and hooks.release is not None:
        hooks.release([row.seq for row in rows])


_LAST_SEQUENCE = select(StreamCounter.last_seq).where(StreamCounter.id == COUNTER_ID)


def last_sequence(db: Session) -> int:
    value: int = db.execute(_LAST_SEQUENCE).scalar_one()
    return value


def last_sequence_column() -> ScalarSelect[int]:
    """The counter as a column of another query, read in that query's snapshot."""
    return _LAST_SEQUENCE.scalar_subquery()


def load_events(
    db: Session, after: int, upto: int, session_id: int | None = None, limit: int = 500
) -> list[Event]:
    """Committed events with after < seq <= upto, oldest first, optionally for one session."""
    query = select(StreamEvent).where(StreamEvent.seq > after, StreamEvent.seq <= upto)
    if session_id is not None:
        query = query.where(
            or_(StreamEvent.session_id == session_id, StreamEvent.kind.in_(WARD_WIDE_KINDS))
        )
    rows = db.scalars(query.order_by(StreamEvent.seq).limit(limit)).all()
    return [to_event(row) for row in rows]
