"""The one event bus: puts committed events in sequence order and fans them out to subscribers.

Commits publish from worker threads, so two transactions that committed as 7 then 8 may reach
the bus as 8 then 7. The bus holds 8 back until 7 arrives; if 7 does not come within a short
wait (it was written by another process), it reads the missing range from the database, where
the gapless sequence guarantees it is already committed.

Events committed by another process (a second worker) never reach this bus directly; a poll of
the sequence counter every `poll_interval` seconds picks them up from the database.

A subscriber has a bounded queue. When it is full the subscriber is dropped, never waited for:
one slow browser must not delay every other screen. A dropped client reconnects with its cursor.
"""

import asyncio
import logging
from collections.abc import Callable
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
        self._pending: dict[int, Event] = {}
        self._gap_timer: asyncio.TimerHandle | None = None
        self._gap_task: asyncio.Task[None] | None = None
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
        if self._last_seq is not None:
            self._poll_task = self._loop.create_task(self._poll())

    async def stop(self) -> None:
        if self._gap_timer:
            self._gap_timer.cancel()
        for task in (self._gap_task, self._poll_task):
            if task:
                task.cancel()
        for sub in list(self._subscriptions):
            self._drop(sub)
        self._loop = None
        await asyncio.to_thread(self._reader.shutdown, True)

    async def _read(self, fn: Callable[..., T], *args: int) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    def publish_threadsafe(self, events: list[Event]) -> None:
        """Hand committed events to the bus from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not serving: nobody to tell, and the database still holds them
        try:
            loop.call_soon_threadsafe(self.accept, events)
        except RuntimeError:
            log.debug("event loop closed while publishing; events stay in the database")

    def accept(self, events: list[Event]) -> None:
        for event in events:
            if event.seq >= self._next:
                self._pending[event.seq] = event
        self._drain()

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
        if self._pending and self._gap_timer is None and self._loop is not None:
            self._gap_timer = self._loop.call_later(self._gap_wait, self._start_gap_fill)
        elif not self._pending and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _start_gap_fill(self) -> None:
        self._gap_timer = None
        if self._pending and (self._gap_task is None or self._gap_task.done()):
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap())

    async def _poll(self) -> None:
        assert self._last_seq is not None
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                latest = await self._read(self._last_seq)
            except Exception:
                log.exception("could not read the stream's last sequence")
                continue
            if latest > self.position and not self._pending:
                await self._catch_up(latest)

    async def _catch_up(self, latest: int) -> None:
        """Deliver events up to `latest` that were committed elsewhere."""
        while self.position < latest:
            try:
                events = await self._read(self._load_range, self.position, latest)
            except Exception:
                log.exception("could not read stream events after %d", self.position)
                return
            before = self.position
            self.accept(events)
            if self.position == before:
                return  # a hole: the gap filler deals with it

    async def _fill_gap(self) -> None:
        while self._pending and min(self._pending) > self._next:
            after, upto = self.position, min(self._pending) - 1
            try:
                missing = await self._read(self._load_range, after, upto)
            except Exception:
                log.exception("could not read missing stream events %d..%d", after + 1, upto)
                missing = []
            if not missing:
                # The database does not have them either (it was reset under us): move on
                # rather than hold the live stream back forever.
                log.warning("stream sequence skipped from %d to %d", self._next, upto + 1)
                self._next = upto + 1
            elif missing[0].seq > self._next:
                self._next = missing[0].seq
            for event in missing:
                if event.seq >= self._next:
                    self._pending[event.seq] = event
            self._drain()
