"""PostgreSQL LISTEN/NOTIFY: the wake-up that tells other processes' buses to read the log.

The database stays the log. A notification carries only the latest committed seq on the
channel; a listener hands it to its bus, which reads the events from `stream_events` (bus.py).
A notification lost (a listener reconnecting, a failed NOTIFY) loses nothing: on every
(re)connect the listener has its bus catch up by sequence from the table, and the bus's poll
of the counter stays on as the safety net.

Sending is coalesced outside the writing transaction: after a commit the outbox hands its seq
to the `Notifier`, whose own thread sends one NOTIFY with the latest seq, then waits
`interval` so the commits of that interval ride on the next one. A NOTIFY inside the writing
transaction would take PostgreSQL's global notify-queue lock at every commit, and commits would
queue on it (benchmarks/cross_process.py --commits measures both ways). SQLite has no such
wake-up; one process serves it and its bus hears its own commits directly.
"""

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "vigil_stream"


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (postgresql+psycopg://…) as psycopg's own connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Backoff:
    """Bounded exponential back-off: `first`, doubling, at most `most` seconds; reset on success."""

    def __init__(self, first: float, most: float) -> None:
        self.first = first
        self.most = most
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.most)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Notifier:
    """Sends `NOTIFY channel, '<latest seq>'` after commits, at most once per `interval`."""

    def __init__(
        self,
        connect: Callable[[], "psycopg.Connection[Any]"],
        *,
        interval: float,
        retry_most: float,
        channel: str = CHANNEL,
    ) -> None:
        self._connect = connect
        self._interval = interval
        self._channel = channel
        self._backoff = Backoff(min(0.1, retry_most), retry_most)
        self._wanted = threading.Condition()
        self._latest = 0
        self._sent = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent_count = 0  # notifications sent, for tests and the benchmark

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._wanted:
            self._wanted.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def committed(self, seq: int) -> None:
        """From the committing thread: never blocks on the database."""
        with self._wanted:
            if seq > self._latest:
                self._latest = seq
                self._wanted.notify()

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        try:
            while not self._stopping.is_set():
                with self._wanted:
                    while self._latest <= self._sent and not self._stopping.is_set():
                        self._wanted.wait()
                    seq = self._latest
                if self._stopping.is_set():
                    return
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(seq)))
                except psycopg.Error as exc:
                    delay = self._backoff.next()
                    log.warning(
                        "could not NOTIFY stream seq %d (%s); retrying in %.1f s", seq, exc, delay
                    )
                    if conn is not None:
                        conn.close()
                        conn = None
                    self._stopping.wait(delay)
                    continue
                self._sent = seq
                self.sent_count += 1
                self._backoff.reset()
                if self._interval > 0:
                    self._stopping.wait(self._interval)
        finally:
            if conn is not None:
                conn.close()


class Listener:
    """LISTENs on a dedicated connection; each notification's seq goes to `wake`.

    `wake(None)` after every (re)connect: what was committed while nobody listened is read by
    sequence from the table. A lost connection is retried with bounded back-off, logged."""

    def __init__(
        self,
        connect: Callable[[], Awaitable["psycopg.AsyncConnection[Any]"]],
        wake: Callable[[int | None], None],
        *,
        retry_most: float,
        channel: str = CHANNEL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._connect = connect
        self._wake = wake
        self._channel = channel
        self._sleep = sleep
        self._backoff = Backoff(min(0.1, retry_most), retry_most)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while listening

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                self.connected.clear()
                delay = self._backoff.next()
                log.warning(
                    "stream listener lost its connection (%s); reconnecting in %.1f s", exc, delay
                )
                await self._sleep(delay)

    async def _listen(self) -> None:
        conn = await self._connect()
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            log.info("stream listener listening on %r", self._channel)
            self._backoff.reset()
            self.connected.set()
            self._wake(None)
            async for note in conn.notifies():
                try:
                    seq = int(note.payload)
                except ValueError:
                    log.warning("ignoring a stream notification %r", note.payload[:40])
                    continue
                self._wake(seq)
            raise psycopg.OperationalError("the notification stream ended")
        finally:
            self.connected.clear()
            await conn.close()
