"""The clock behind time-based alarm rules: delays, no data, overdue readings, reminders and
escalation. One background task per process; the state it works on lives in the database, so a
restart picks up where the last process stopped."""

import asyncio
import contextlib
import json
import logging
import urllib.request
from collections.abc import Callable
from datetime import datetime

from backend.alerts import clock
from backend.alerts.schemas import AlertPublic
from backend.core.database import Database, overload_of
from backend.core.timeutil import utcnow

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5
# What the ticker reads the time from: the wall clock, or a test's clock that it moves on itself.
Clock = Callable[[], datetime]


def run_tick(database: Database, now: datetime | None = None) -> list[AlertPublic]:
    """One pass of the clock at `now` (the wall clock's time by default), one short transaction
    per session (see clock.tick_session)."""
    now = now or utcnow()
    with database.unit_of_work(write=False) as db:
        due = clock.sessions_time_can_change(db)
    escalated: list[AlertPublic] = []
    for session_id in due:
        with database.unit_of_work(write=True) as db:
            escalated.extend(clock.tick_session(db, session_id, now))
    with database.unit_of_work(write=True) as db:
        clock.close_ended(db, now)
    return escalated


def post_webhook(url: str, alert: AlertPublic) -> None:
    body = json.dumps({"event": "alert.escalated", "alert": alert.model_dump(mode="json")}).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is the clinic's own configuration
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS):  # noqa: S310
        pass


async def _deliver(url: str, alert: AlertPublic) -> None:
    try:
        await asyncio.to_thread(post_webhook, url, alert)
    except Exception:
        log.exception("could not deliver the escalation webhook for alert %s", alert.id)


async def run_ticker(
    database: Database,
    interval: float,
    webhook_url: str | None,
    stop: asyncio.Event,
    clock: Clock = utcnow,
) -> None:
    """Tick every `interval` seconds, at the time `clock` reads, until `stop` is set. A tick in
    progress finishes first: cancelling the task would leave its worker thread using a database
    being closed."""
    deliveries: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            break
        try:
            escalated = await asyncio.to_thread(run_tick, database, clock())
        except Exception as exc:
            # A burst of readings can hold the database past the bounded wait: the clock's state
            # is in the database, so the next tick picks up exactly where this one stopped.
            if overload_of(exc) is not None:
                log.warning("alarm timer tick waited too long for the database; retrying")
            else:
                log.exception("alarm timer tick failed; retrying on the next one")
            continue
        for alert in escalated:
            log.warning("alarm escalated: session %s, %s", alert.session_id, alert.message)
            # A drill's unanswered alarm escalates on the screens, but never pages anyone.
            if webhook_url and not alert.simulated:
                # Sent beside the clock, never in its way: a slow paging gateway must not
                # hold back every other timed rule.
                task = asyncio.create_task(_deliver(webhook_url, alert))
                deliveries.add(task)
                task.add_done_callback(deliveries.discard)
    for task in deliveries:
        task.cancel()
