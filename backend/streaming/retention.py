"""Stream events are kept for the resume window only: the stream is a live feed, not the record.

A browser that reconnects within `stream_retention_minutes` of its cursor gets what it missed
from the event log; one whose cursor is older is told to reload (`reset`, router.py), exactly as
for any cursor the server cannot serve. The record itself (readings, alarms, audit) is kept in
its own tables, whatever is pruned here.

Pruning is a background pass, never part of a reading's transaction: one process of several
runs it, under its own lease (core/lease.py), and each pass deletes at most `max_batches`
batches of `batch` events, each batch in its own short transaction, oldest first along the
primary key. It deletes only the unbroken run of oldest events created before the window: an
event stamped later than one after it (clocks of two hosts a little apart) stops the run, so
nothing younger than the window is ever removed.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.lease import Lease
from backend.core.timeutil import as_utc, utcnow
from backend.streaming.models import StreamCounter, StreamEvent
from backend.streaming.outbox import COUNTER_ID

log = logging.getLogger(__name__)
STREAM_PRUNER = "stream-pruner"
BATCH_PAUSE_SECONDS = 0.02
Clock = Callable[[], datetime]


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


@dataclass(frozen=True)
class Pruned:
    deleted: int
    done: bool  # False: the pass stopped at its bound with more to delete


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
    deleted = 0
    for n in range(max_batches):
        if n and pause:
            time.sleep(pause)
        with database.unit_of_work(write=True) as db:
            count = prune_batch(db, cutoff, batch)
        deleted += count
        if count < batch:
            return Pruned(deleted, True)
    return Pruned(deleted, False)


_RANGE = select(StreamCounter.last_seq, select(func.min(StreamEvent.seq)).scalar_subquery()).where(
    StreamCounter.id == COUNTER_ID
)


def servable_range(db: Session) -> tuple[int, int]:
    """(earliest, latest): a cursor from earliest to latest can be resumed from, every event
    after it still being stored; read in one statement, so both are of one moment."""
    latest, oldest = db.execute(_RANGE).one()
    return (latest if oldest is None else oldest - 1), latest


async def run_pruner(
    database: Database,
    *,
    window: timedelta,
    interval: float,
    batch: int,
    max_batches: int,
    stop: asyncio.Event,
    lease: Lease,
    clock: Clock = utcnow,
) -> None:
    """Prune every `interval` seconds while this process holds the pruner's lease, until `stop`.
    A pass that stops at its bound with more to do is followed by the next one at once (the
    first pass after an upgrade meets the whole history), yielding the database in between."""
    wait = interval
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        if stop.is_set():
            break
        wait = interval
        now = clock()
        try:
            if not await asyncio.to_thread(lease.keep, now):
                continue
            pruned = await asyncio.to_thread(
                functools.partial(
                    prune, batch=batch, max_batches=max_batches, pause=BATCH_PAUSE_SECONDS
                ),
                database,
                now,
                window,
            )
        except Exception:
            log.warning("could not prune stream events; trying again later", exc_info=True)
            continue
        if pruned.deleted:
            log.info("pruned %d stream events older than %s", pruned.deleted, window)
        if not pruned.done:
            wait = min(interval, 1.0)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(lease.release, clock())
