"""Background pruning of what is kept for a while only, never part of a reading's transaction.

Each kind of kept data (stream events past the resume window, device messages past their
retention) has a pass: a function that deletes in bounded batches, each its own short
transaction, and says how many went and whether it stopped at its bound with more to do. One
process of several runs every pass, under one lease (core/lease.py); a lapsed holder is taken
over within a few intervals, and nothing else waits on it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.lease import Lease
from backend.core.timeutil import utcnow

log = logging.getLogger(__name__)
PRUNER = "pruner"
Clock = Callable[[], datetime]
BATCH_PAUSE_SECONDS = 0.02  # between batches: readings waiting for SQLite's write lock get it


@dataclass(frozen=True)
class Pruned:
    deleted: int
    done: bool  # False: the pass stopped at its bound with more to delete


def in_batches(
    database: Database,
    delete_batch: Callable[[Session], int],
    *,
    batch: int,
    max_batches: int,
    pause: float = 0.0,
) -> Pruned:
    """Call `delete_batch` (which deletes at most `batch` rows and says how many) in a unit of
    work of its own each time, `pause` seconds apart, until it deletes fewer than `batch` or
    `max_batches` have run."""
    deleted = 0
    for n in range(max_batches):
        if n and pause:
            time.sleep(pause)
        with database.unit_of_work(write=True) as db:
            count = delete_batch(db)
        deleted += count
        if count < batch:
            return Pruned(deleted, True)
    return Pruned(deleted, False)


@dataclass(frozen=True)
class PrunePass:
    """What one pass deletes (`what`, for the log) and how: `run(now)` deletes what is older
    than its window before `now`, in a worker thread."""

    what: str
    run: Callable[[datetime], Pruned]


async def run_pruner(
    passes: Sequence[PrunePass],
    *,
    interval: float,
    stop: asyncio.Event,
    lease: Lease,
    clock: Clock = utcnow,
) -> None:
    """Run every pass each `interval` seconds while this process holds the lease, until `stop`.
    When a pass stops at its bound with more to do (the first pass after an upgrade meets the
    whole history), the next round follows within a second, yielding the database between."""
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
        except Exception:
            log.warning("could not renew the pruner's lease; trying again later", exc_info=True)
            continue
        for prune_pass in passes:
            try:
                pruned = await asyncio.to_thread(prune_pass.run, now)
            except Exception:
                log.warning(
                    "could not prune %s; trying again later", prune_pass.what, exc_info=True
                )
                continue
            if pruned.deleted:
                log.info("pruned %d %s", pruned.deleted, prune_pass.what)
            if not pruned.done:
                wait = min(interval, 1.0)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(lease.release, clock())
