"""The event bus: ordering, gap filling and dropping slow subscribers, without a server."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from backend.streaming.bus import EventBus
from backend.streaming.events import Event

AT = datetime(2026, 1, 1, tzinfo=UTC)
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event(seq: int, session_id: int | None = 1) -> Event:
    return Event(seq, "reading.created", session_id, {"n": seq}, AT)


def drain(queue: "asyncio.Queue[Event]") -> list[int]:
    seqs = []
    while not queue.empty():
        seqs.append(queue.get_nowait().seq)
    return seqs


async def received(queue: "asyncio.Queue[Event]", count: int) -> list[int]:
    """The seqs of the next `count` events the subscriber gets, waiting for them (at most 5 s)."""

    async def take() -> list[int]:
        return [(await queue.get()).seq for _ in range(count)]

    return await asyncio.wait_for(take(), 5)


def no_database(after: int, upto: int) -> list[Event]:
    raise AssertionError(f"unexpected database read {after}..{upto}")


async def test_events_published_out_of_order_are_delivered_in_sequence() -> None:
    bus = EventBus(no_database, queue_size=10, gap_wait=5)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.reserve_threadsafe([1, 2, 3])  # this process's own commits: worth the wait
    bus.accept([event(2), event(3)])
    assert drain(sub.queue) == []
    bus.accept([event(1)])
    assert drain(sub.queue) == [1, 2, 3]
    assert bus.position == 3
    await bus.stop()


async def test_an_event_seen_twice_is_delivered_once() -> None:
    bus = EventBus(no_database, queue_size=10, gap_wait=5)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.accept([event(1)])
    bus.accept([event(1), event(2)])
    assert drain(sub.queue) == [1, 2]
    await bus.stop()


async def test_an_own_gap_that_does_not_fill_itself_is_read_from_the_database() -> None:
    reads: list[tuple[int, int]] = []

    def database(after: int, upto: int) -> list[Event]:
        reads.append((after, upto))
        return [event(seq) for seq in range(after + 1, upto + 1)]

    bus = EventBus(database, queue_size=10, gap_wait=0.01)
    bus.start(last_seq=4)
    sub = bus.subscribe(None)
    bus.reserve_threadsafe([5, 6, 7, 8])  # committed here, but 5..7 never handed over
    bus.accept([event(8)])
    assert await received(sub.queue, 4) == [5, 6, 7, 8]
    assert reads == [(4, 8)]
    await bus.stop()


async def test_a_gap_the_database_cannot_fill_is_skipped_rather_than_blocking_forever() -> None:
    bus = EventBus(lambda after, upto: [], queue_size=10, gap_wait=0.01)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.accept([event(3)])
    assert await received(sub.queue, 1) == [3]
    await bus.stop()


async def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_keep_receiving() -> None:
    bus = EventBus(no_database, queue_size=3, gap_wait=5)
    bus.start(last_seq=0)
    slow, fast = bus.subscribe(None), bus.subscribe(None)
    for seq in range(1, 4):
        bus.accept([event(seq)])
        assert drain(fast.queue) == [seq]
    bus.accept([event(4)])
    assert slow.dropped.is_set()
    assert drain(fast.queue) == [4]
    assert bus.subscriber_count == 1
    await bus.stop()


async def test_a_session_subscription_only_gets_that_session() -> None:
    bus = EventBus(no_database, queue_size=10, gap_wait=5)
    bus.start(last_seq=0)
    mine = bus.subscribe(7)
    bus.accept([event(1, session_id=7), event(2, session_id=8), event(3, session_id=None)])
    assert drain(mine.queue) == [1]
    await bus.stop()


async def test_publishing_when_not_serving_is_harmless() -> None:
    bus = EventBus(no_database, queue_size=10, gap_wait=5)
    bus.publish_threadsafe([event(1)])  # no loop yet: nothing to do, nothing raised


async def test_events_committed_by_another_process_are_found_by_polling() -> None:
    committed = [event(1), event(2)]

    def database(after: int, upto: int) -> list[Event]:
        return [e for e in committed if after < e.seq <= upto]

    bus = EventBus(
        database,
        last_seq=lambda: committed[-1].seq,
        queue_size=10,
        gap_wait=5,
        poll_interval=0.01,
    )
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    assert await received(sub.queue, 2) == [1, 2]
    await bus.stop()


def log_of(
    committed: list[Event], reads: list[tuple[int, int]]
) -> Callable[[int, int], list[Event]]:
    """A database holding `committed`, noting each range read."""

    def load(after: int, upto: int) -> list[Event]:
        reads.append((after, upto))
        return [e for e in committed if after < e.seq <= upto]

    return load


async def test_a_hole_another_process_left_is_read_at_once_not_waited_for() -> None:
    # gap_wait and the poll are far longer than the test's patience: only an immediate read
    # delivers this process's event 3 behind the other process's 1 and 2.
    reads: list[tuple[int, int]] = []
    bus = EventBus(log_of([event(1), event(2)], reads), queue_size=10, gap_wait=60)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.reserve_threadsafe([3])
    bus.accept([event(3)])
    assert await received(sub.queue, 3) == [1, 2, 3]
    assert reads == [(0, 3)]
    await bus.stop()


async def test_a_hole_of_own_commits_is_waited_for_without_reading_the_database() -> None:
    bus = EventBus(no_database, queue_size=10, gap_wait=60)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.reserve_threadsafe([1])
    bus.reserve_threadsafe([2])
    bus.accept([event(2)])
    await asyncio.sleep(0.01)  # a read, had one been started, would have failed the test
    assert drain(sub.queue) == []
    bus.accept([event(1)])
    assert drain(sub.queue) == [1, 2]
    await bus.stop()


async def test_a_rolled_back_reservation_no_longer_holds_the_stream_back() -> None:
    # Our transaction took 1 and rolled back; another process took 1 again and committed it.
    reads: list[tuple[int, int]] = []
    bus = EventBus(log_of([event(1)], reads), queue_size=10, gap_wait=60)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.reserve_threadsafe([1])
    bus.release_threadsafe([1])
    bus.reserve_threadsafe([2])
    bus.accept([event(2)])
    assert await received(sub.queue, 2) == [1, 2]
    await bus.stop()


async def test_a_wake_up_reads_up_to_the_announced_seq_at_once() -> None:
    committed = [event(1), event(2, session_id=9), event(3)]
    reads: list[tuple[int, int]] = []
    bus = EventBus(log_of(committed, reads), queue_size=10, gap_wait=60, poll_interval=60)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.wake(2)
    assert await received(sub.queue, 2) == [1, 2]
    bus.wake(1)  # an old announcement: nothing to read
    bus.accept([event(3)])  # and an event read already is never delivered twice
    bus.accept([event(2)])
    bus.wake(3)
    assert drain(sub.queue) == [3]
    assert reads == [(0, 2)]
    await bus.stop()


async def test_a_wake_up_without_a_seq_reads_the_counter_and_catches_up() -> None:
    committed = [event(seq) for seq in range(1, 6)]
    bus = EventBus(
        log_of(committed, []),
        last_seq=lambda: 5,
        queue_size=10,
        gap_wait=60,
        poll_interval=60,
    )
    bus.start(last_seq=2)
    sub = bus.subscribe(None)
    bus.wake_threadsafe(None)  # as a listener that has just reconnected
    assert await received(sub.queue, 3) == [3, 4, 5]
    await bus.stop()


async def test_a_failed_read_is_tried_again_after_the_gap_wait() -> None:
    committed = [event(1), event(2)]
    failures = [RuntimeError("database away")]

    def flaky(after: int, upto: int) -> list[Event]:
        if failures:
            raise failures.pop()
        return [e for e in committed if after < e.seq <= upto]

    bus = EventBus(flaky, queue_size=10, gap_wait=0.01, poll_interval=60)
    bus.start(last_seq=0)
    sub = bus.subscribe(None)
    bus.wake(2)
    assert await received(sub.queue, 2) == [1, 2]
    await bus.stop()
