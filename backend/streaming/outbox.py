"""Record events in the writing transaction; hand them to the bus only once committed.

Services call `record_event(s)`; nothing else in the code publishes. The bus hears about the
events only after the commit, so a browser never sees a reading that a rollback later removed.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.selectable import ScalarSelect

from backend.core.timeutil import utcnow
from backend.streaming.events import WARD_WIDE_KINDS, Event
from backend.streaming.models import StreamCounter, StreamEvent

_PENDING = "vigil.pending_events"
COUNTER_ID = 1


def record_events(db: Session, events: Sequence[tuple[str, int | None, dict[str, Any]]]) -> None:
    """Add (kind, session_id, data) events to the transaction, numbered in commit order.

    Taking the numbers row-locks the counter until this transaction ends, so callers record
    their events last, just before the unit of work commits.
    """
    if not events:
        return
    last = db.execute(
        update(StreamCounter)
        .where(StreamCounter.id == COUNTER_ID)
        .values(last_seq=StreamCounter.last_seq + len(events))
        .returning(StreamCounter.last_seq)
    ).scalar_one()
    now = utcnow()
    rows = [
        StreamEvent(
            seq=last - len(events) + 1 + offset,
            kind=kind,
            session_id=sid,
            payload=data,
            created_at=now,
        )
        for offset, (kind, sid, data) in enumerate(events)
    ]
    db.add_all(rows)
    db.info.setdefault(_PENDING, []).extend(rows)


def record_event(db: Session, kind: str, session_id: int | None, data: dict[str, Any]) -> None:
    record_events(db, [(kind, session_id, data)])


def to_event(row: StreamEvent) -> Event:
    return Event(row.seq, row.kind, row.session_id, row.payload, row.created_at)


def install_outbox(
    factories: Iterable[sessionmaker[Session]],
    publish: Callable[[list[Event]], None],
    *,
    reserve: Callable[[list[int]], None] | None = None,
    release: Callable[[list[int]], None] | None = None,
) -> None:
    """Wire every session from `factories` to number its events and publish them after commit.

    `reserve` hears a transaction's seqs just before it commits (while it still holds the
    counter, so before any later seq can exist) and `release` hears them if it rolls back instead:
    the bus then knows which holes in the sequence are its own commits on their way (bus.py).
    """

    def before_commit(db: Session) -> None:
        rows = db.info.get(_PENDING)
        if rows and reserve is not None:
            reserve([row.seq for row in rows])

    def after_commit(db: Session) -> None:
        rows = db.info.pop(_PENDING, None)
        if rows:
            publish([to_event(row) for row in rows])

    def after_rollback(db: Session) -> None:
        rows = db.info.pop(_PENDING, None)
        if rows and release is not None:
            release([row.seq for row in rows])

    for factory in factories:
        event.listen(factory, "before_commit", before_commit)
        event.listen(factory, "after_commit", after_commit)
        event.listen(factory, "after_rollback", after_rollback)


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
