"""The one event bus: puts committed events in sequence order and fans them out to subscribers.

The rule it keeps: each process delivers every committed event once, in global `seq` order, so
a cursor means the same on every process (a client resuming after 41 from any process gets 42
on). It never waits on another process. Taking a seq row-locks the counter until the commit
(outbox.py), so when seq N is committed every seq below N is committed and readable: a hole
below an event in hand, or below a seq another process announced, is read from the database at
once. The only hole it waits for is one made of this process's own commits whose hand-over to
the bus is a thread hop behind (7 and 8 committed by two threads here, 8 published first): the
outbox reserves a seq just before its commit, and that wait is bounded by `gap_wait`, after which
the hole is read like any other.

Commits publish from worker threads. Other processes' commits are announced by a wake-up with
their latest seq (PostgreSQL LISTEN/NOTIFY, notify.py) and found anyway by a poll of the
sequence counter every `poll_interval` seconds (the only path on SQLite, where one process
serves; the safety net on PostgreSQL). A wake-up carries no event: the database is the log.

A subscriber has a bounded queue. When it is full the subscriber is dropped, never waited for:
one slow browser must not delay every other screen. A dropped client reconnects with its cursor.
"""

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from backend.streaming.events import WARD_WIDE_KINDS, Event

log = logging.getLogger(__name__)
T = TypeVar("T")

LoadRange = Callable[[int, int], list[Event]]  # (after, upto) -> committed events, in order
LastSeq = Callable[[], int]  # the last committed seq in the database


@dataclass(eq=False)
class Subscription:
    session_id: int | None  # None: the whole ward
    queue: asyncio.Queue[Event]
    position: int  # every event after this seq reaches the queue, unless dropped
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, event: Event) -> bool:
        return (
            self.session_id is None
            or event.session_id == self.session_id
            or event.kind in WARD_WIDE_KINDS
        )


class EventBus:
    def __init__(
        self,
        load_range: LoadRange,
        *,
        queue_size: int,
        gap_wait: float,
        last_seq: LastSeq | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self._load_range = load_range
        self._last_seq = last_seq
        self._poll_interval = poll_interval
        self._poll_task: asyncio.Task[None] | None = None
        self._queue_size = queue_size
        self._gap_wait = gap_wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next = 1
        self._horizon = 0  # the highest seq known to be committed
        self._read_counter = False  # a wake-up without a seq: read the counter for the horizon
        self._pending: dict[int, Event] = {}
        # Seqs this process's transactions took and committed (or are committing) but has not
        # yet handed over: written by worker threads, read on the loop.
        self._own: set[int] = set()
        self._own_lock = threading.Lock()
        self._gap_timer: asyncio.TimerHandle | None = None
        self._fetch_task: asyncio.Task[None] | None = None
        self._subscriptions: set[Subscription] = set()
        # Database reads run here, so stop() can wait for one in progress to finish before the
        # database is closed (a cancelled task would leave its thread using a closed pool).
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-bus")

    @property
    def position(self) -> int:
        """The seq of the last event delivered to subscribers."""
        return self._next - 1

    def start(self, last_seq: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._next = last_seq + 1
        self._horizon = last_seq
        if self._last_seq is not None:
            self._poll_task = self._loop.create_task(self._poll())

    async def stop(self) -> None:
        if self._gap_timer:
            self._gap_timer.cancel()
            self._gap_timer = None
        for task in (self._fetch_task, self._poll_task):
            if task:
                task.cancel()
        for sub in list(self._subscriptions):
            self._drop(sub)
        self._loop = None
        with self._own_lock:
            self._own.clear()
        await asyncio.to_thread(self._reader.shutdown, True)

    async def _read(self, fn: Callable[..., T], *args: int) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    # ---- from any thread

    def reserve_threadsafe(self, seqs: Iterable[int]) -> None:
        """Seqs a transaction of this process took and is about to commit (before its commit,
        so before any later seq can exist)."""
        if self._loop is not None:
            with self._own_lock:
                self._own.update(seqs)

    def release_threadsafe(self, seqs: Iterable[int]) -> None:
        """Seqs of a transaction that rolled back: another may take them now."""
        with self._own_lock:
            self._own.difference_update(seqs)

    def publish_threadsafe(self, events: list[Event]) -> None:
        """Hand committed events to the bus from any thread."""
        self._call_soon(self.accept, events)

    def wake_threadsafe(self, seq: int | None) -> None:
        """Another process committed up to `seq` (None: unknown, read the counter)."""
        self._call_soon(self.wake, seq)

    def _call_soon(self, fn: Callable[[T], None], arg: T) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not serving: nobody to tell, and the database still holds them
        try:
            loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:
            log.debug("event loop closed while publishing; events stay in the database")

    # ---- on the loop

    def accept(self, events: list[Event]) -> None:
        for event in events:
            if event.seq >= self._next:
                self._pending[event.seq] = event
            self._horizon = max(self._horizon, event.seq)
        with self._own_lock:
            self._own.difference_update(event.seq for event in events)
        self._drain()

    def wake(self, seq: int | None) -> None:
        if seq is None:
            self._read_counter = self._last_seq is not None
        else:
            self._horizon = max(self._horizon, seq)
        self._schedule()

    def subscribe(self, session_id: int | None) -> Subscription:
        sub = Subscription(session_id, asyncio.Queue(self._queue_size), self.position)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def _drop(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
        sub.dropped.set()

    def _deliver(self, event: Event) -> None:
        for sub in list(self._subscriptions):
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning(
                    "dropping a stream subscriber that fell %d events behind", sub.queue.qsize()
                )
                self._drop(sub)

    def _drain(self) -> None:
        while self._next in self._pending:
            self._deliver(self._pending.pop(self._next))
            self._next += 1
        self._schedule()

    def _schedule(self) -> None:
        """Read the hole below the horizon now, after `gap_wait`, or not at all (see the rule)."""
        if self._loop is None:
            return
        if self.position >= self._horizon and not self._read_counter:
            self._cancel_gap_timer()
            return
        if self._fetch_task is not None:
            return  # it reads until it reaches the horizon, wherever that has moved to
        if self._read_counter or self._foreign_hole():
            self._cancel_gap_timer()
            self._fetch_task = self._loop.create_task(self._fetch())
        elif self._gap_timer is None:
            self._gap_timer = self._loop.call_later(self._gap_wait, self._fetch_late)

    def _foreign_hole(self) -> bool:
        """Whether a missing seq below the horizon is not one of this process's own commits.

        Bounded: it stops at the first seq neither in hand nor reserved, so it looks at no more
        seqs than the events held back plus the commits in flight, plus one."""
        with self._own_lock:
            for seq in range(self._next, self._horizon + 1):
                if seq not in self._pending and seq not in self._own:
                    return True
        return False

    def _cancel_gap_timer(self) -> None:
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _fetch_late(self) -> None:
        self._gap_timer = None
        if self._fetch_task is None and self._loop is not None and self.position < self._horizon:
            self._fetch_task = self._loop.create_task(self._fetch())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            self.wake(None)

    async def _fetch(self) -> None:
        """Read committed events from the database until the bus reaches the horizon."""
        try:
            while True:
                if self._read_counter:
                    self._read_counter = False
                    assert self._last_seq is not None
                    try:
                        latest = await self._read(self._last_seq)
                    except Exception:
                        log.exception("could not read the stream's last sequence")
                        return
                    self._horizon = max(self._horizon, latest)
                if self.position >= self._horizon:
                    return
                after, upto = self.position, self._horizon
                try:
                    events = await self._read(self._load_range, after, upto)
                except Exception:
                    log.exception("could not read stream events %d..%d", after + 1, upto)
                    return  # the next event, wake-up or poll tries again
                if self.position == after:
                    # Committed below the horizon, yet the database does not have them (it was
                    # reset or pruned under us): move on rather than hold the stream back forever.
                    first = min(
                        events[0].seq if events else upto + 1, min(self._pending, default=upto + 1)
                    )
                    if first > self._next:
                        log.warning("stream sequence skipped from %d to %d", self._next, first)
                        self._next = first
                self.accept(events)  # schedules nothing while this task runs: it loops
        finally:
            self._fetch_task = None
            if self._loop is not None and self.position < self._horizon:
                # Stopped by a failed read: try again after a while, not in a tight loop.
                self._cancel_gap_timer()
                self._gap_timer = self._loop.call_later(self._gap_wait, self._fetch_late)
