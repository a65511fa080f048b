"""The clock behind time-based alarm rules: delays, no data, overdue readings, reminders and
escalation. One background task per process; where several processes share the database only
the holder of the alarm clock's lease ticks (core/lease.py). The state it works on lives in the
database, so a restart, or another process taking the lease over, picks up where the last
holder stopped: an escalation or reminder is recorded on its alarm (escalated_at, alerted_at) in
the transaction that makes it, so the next holder neither repeats it nor misses one whose time
came while nobody held the lease. Each session is ticked under its row lock, so even two
processes ticking at once (clocks skewed past the lease's margin) change an alarm once.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from backend.alerts import clock, paging
from backend.alerts.schemas import AlertPublic
from backend.core.database import Database, overload_of
from backend.core.lease import Lease
from backend.core.timeutil import utcnow

log = logging.getLogger(__name__)
# What the ticker reads the time from: the wall clock, or a test's clock that it moves on itself.
Clock = Callable[[], datetime]


def run_tick(
    database: Database, now: datetime | None = None, *, paging_on: bool = False
) -> list[AlertPublic]:
    """One pass of the clock at `now` (the wall clock's time by default), one short transaction
    per session (see clock.tick_session); with `paging_on`, each escalation's page is written
    in the transaction that makes it (alerts/paging.py)."""
    now = now or utcnow()
    with database.unit_of_work(write=False) as db:
        due = clock.sessions_time_can_change(db)
    escalated: list[AlertPublic] = []
    for session_id in due:
        with database.unit_of_work(write=True) as db:
            now_escalated = clock.tick_session(db, session_id, now)
            if paging_on:
                paging.queue(db, now_escalated, now)
        escalated.extend(now_escalated)
    with database.unit_of_work(write=True) as db:
        clock.close_ended(db, now)
    return escalated


def tick_as_holder(
    database: Database, lease: Lease, now: datetime, *, paging_on: bool = False
) -> list[AlertPublic] | None:
    """One pass of the clock if this process holds (or can take) the lease; None if another
    process holds it."""
    if not lease.keep(now):
        return None
    return run_tick(database, now, paging_on=paging_on)


async def _send_pages(
    database: Database, url: str, now: datetime, stopping: Callable[[], bool]
) -> None:
    try:
        await asyncio.to_thread(paging.send_due, database, url, now, stopping=stopping)
    except Exception as exc:
        # The pages wait in the database: the next pass sends them.
        if overload_of(exc) is not None:
            log.warning("escalation pages waited too long for the database; retrying")
        else:
            log.exception("could not send escalation pages; retrying on the next tick")


async def run_ticker(
    database: Database,
    interval: float,
    webhook_url: str | None,
    stop: asyncio.Event,
    clock: Clock = utcnow,
    lease: Lease | None = None,
) -> None:
    """Tick every `interval` seconds, at the time `clock` reads, until `stop` is set; with a
    `lease`, only while this process holds it (asked at least every renewal interval, so the
    lease never lapses between two slow ticks). A tick in progress finishes first: cancelling
    the task would leave its worker thread using a database being closed."""
    paging_on = bool(webhook_url)
    sending: asyncio.Task[None] | None = None
    wait = interval if lease is None else min(interval, lease.renew_s)
    # time.monotonic(): the cadence, whatever `clock` reads; the first tick one interval in.
    last_tick: float | None = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        if stop.is_set():
            break
        now = clock()
        due = last_tick is None or time.monotonic() - last_tick >= interval * 0.999
        try:
            if lease is None:
                escalated: list[AlertPublic] | None = (
                    await asyncio.to_thread(run_tick, database, now, paging_on=paging_on)
                    if due
                    else []
                )
            elif due:
                escalated = await asyncio.to_thread(
                    tick_as_holder, database, lease, now, paging_on=paging_on
                )
            else:
                # Between ticks, only the lease is kept (renewed, or taken if it lapsed).
                held = await asyncio.to_thread(lease.keep, now)
                escalated = [] if held else None
        except Exception as exc:
            # A burst of readings can hold the database past the bounded wait: the clock's state
            # is in the database, so the next tick picks up exactly where this one stopped.
            if overload_of(exc) is not None:
                log.warning("alarm timer tick waited too long for the database; retrying")
            else:
                log.exception("alarm timer tick failed; retrying on the next one")
            continue
        if escalated is None:  # another process holds the alarm clock
            last_tick = None  # on taking it over, tick at once: time may have passed unwatched
            continue
        if due:
            last_tick = time.monotonic()
        for alert in escalated:
            log.warning("alarm escalated: session %s, %s", alert.session_id, alert.message)
        # The holder sends the pages due (its own, and any a dead holder left), beside the
        # clock and never in its way: a slow paging gateway must not hold back every other
        # timed rule. One pass at a time.
        if webhook_url and (sending is None or sending.done()):
            sending = asyncio.create_task(_send_pages(database, webhook_url, now, stop.is_set))
    if sending is not None:
        # Not cancelled: its worker thread would go on using a database being closed. It stops
        # between two pages; the one being sent is waited for (at most paging.TIMEOUT_SECONDS).
        await sending
    if lease is not None:
        try:
            # Handed over at once on a clean stop, not after the lease lapses.
            await asyncio.to_thread(lease.release, clock())
        except Exception:
            log.warning("could not release the alarm clock's lease; it lapses", exc_info=True)
