"""Stream events are kept for the resume window only: the stream is a live feed, not the record.

A browser that reconnects within `stream_retention_minutes` of its cursor gets what it missed
from the event log; one whose cursor is older is told to reload (`reset`, router.py), exactly as
for any cursor the server cannot serve. The record itself (readings, alarms, audit) is kept in
its own tables, whatever is pruned here.

Pruning is a background pass (core/housekeeping.py: one process of several runs it, under a
lease), never part of a reading's transaction: each pass deletes at most `max_batches` batches
of `batch` events, each batch in its own short transaction, oldest first along the primary key.
It deletes only the unbroken run of oldest events created before the window: an event stamped
later than one after it (clocks of two hosts a little apart) stops the run, so nothing younger
than the window is ever removed.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.housekeeping import Pruned, in_batches
from backend.core.timeutil import as_utc
from backend.streaming.models import StreamCounter, StreamEvent
from backend.streaming.outbox import COUNTER_ID


def prune_batch(db: Session, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` of the oldest events created before `cutoff`; how many went."""
    oldest = db.execute(
        select(StreamEvent.seq, StreamEvent.created_at).order_by(StreamEvent.seq).limit(batch)
    ).all()
    upto = None
    for seq, created_at in oldest:
        if as_utc(created_at) >= cutoff:
            break
        upto = seq
    if upto is None:
        return 0
    result = db.execute(
        delete(StreamEvent)
        .where(StreamEvent.seq <= upto)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def prune(
    database: Database,
    now: datetime,
    window: timedelta,
    *,
    batch: int,
    max_batches: int,
    pause: float = 0.0,
) -> Pruned:
    """One bounded pass: delete events older than `window` before `now`, batch by batch,
    `pause` seconds apart (readings waiting for SQLite's write lock get it in between)."""
    cutoff = now - window
    return in_batches(
        database,
        lambda db: prune_batch(db, cutoff, batch),
        batch=batch,
        max_batches=max_batches,
        pause=pause,
    )


_RANGE = select(StreamCounter.last_seq, select(func.min(StreamEvent.seq)).scalar_subquery()).where(
    StreamCounter.id == COUNTER_ID
)


def servable_range(db: Session) -> tuple[int, int]:
    """(earliest, latest): a cursor from earliest to latest can be resumed from, every event
    after it still being stored; read in one statement, so both are of one moment."""
    latest, oldest = db.execute(_RANGE).one()
    return (latest if oldest is None else oldest - 1), latest
