"""The NOTIFY sender's coalescing and the listener's reconnects, without a database."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from backend.streaming.notify import Backoff, Listener, Notifier, libpq_url

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_listener_connects_with_psycopgs_own_url() -> None:
    url = "postgresql+psycopg://vigil:s3cret@db.example:5433/vigil?sslmode=require"
    assert libpq_url(url) == "postgresql://vigil:s3cret@db.example:5433/vigil?sslmode=require"


def test_back_off_doubles_up_to_its_bound_and_starts_over_after_a_success() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


class RecordingConnection:
    def __init__(self, fail: int = 0) -> None:
        self.payloads: list[str] = []
        self.fail = fail
        self.closed = False
        self.lock = threading.Lock()

    def execute(self, query: str, params: tuple[str, str]) -> None:
        if self.fail:
            self.fail -= 1
            raise psycopg.OperationalError("server closed the connection")
        with self.lock:
            self.payloads.append(params[1])

    def close(self) -> None:
        self.closed = True


def sent(conn: RecordingConnection, last: str) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with conn.lock:
            if conn.payloads and conn.payloads[-1] == last:
                return list(conn.payloads)
        time.sleep(0.005)
    raise AssertionError(f"{last} never sent; sent {conn.payloads}")


def test_commits_in_one_interval_share_one_notification_with_the_latest_seq() -> None:
    conn = RecordingConnection()
    notifier = Notifier(lambda: conn, interval=0.2, retry_most=1)  # type: ignore[arg-type, return-value]
    notifier.start()
    try:
        for seq in range(1, 101):
            notifier.committed(seq)
        payloads = sent(conn, "100")
    finally:
        notifier.stop()
    assert len(payloads) <= 3  # the first at once, the rest after one interval
    assert payloads == sorted(payloads, key=int)
    assert conn.closed


def test_a_failed_notify_reconnects_and_sends_the_latest_seq() -> None:
    broken, good = RecordingConnection(fail=1), RecordingConnection()
    connections = iter([broken, good])
    notifier = Notifier(lambda: next(connections), interval=0, retry_most=0.01)  # type: ignore[arg-type]
    notifier.start()
    try:
        notifier.committed(7)
        assert sent(good, "7") == ["7"]
    finally:
        notifier.stop()
    assert broken.closed


@dataclass
class Note:
    payload: str


class FakeListenConnection:
    def __init__(self, payloads: list[str], hang: bool = False) -> None:
        self.payloads = payloads
        self.hang = hang
        self.statements: list[str] = []
        self.closed = False

    async def execute(self, query: Any) -> None:
        self.statements.append(str(query.as_string(None)) if hasattr(query, "as_string") else query)

    async def notifies(self) -> AsyncIterator[Note]:
        for payload in self.payloads:
            yield Note(payload)
        if self.hang:
            await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


async def test_the_listener_catches_up_on_every_connect_and_backs_off_between_failures() -> None:
    first = FakeListenConnection(["5", "not a seq", "9"])  # then its stream ends: a lost link
    second = FakeListenConnection(["12"], hang=True)
    attempts: list[object] = [OSError("refused"), OSError("refused"), first, second]
    woken: list[int | None] = []
    slept: list[float] = []

    async def connect() -> Any:
        attempt = attempts.pop(0)
        if isinstance(attempt, Exception):
            raise attempt
        return attempt

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    listener = Listener(connect, woken.append, retry_most=0.15, sleep=sleep)
    listener.start()
    for _ in range(100):
        if woken[-1:] == [12]:
            break
        await asyncio.sleep(0)
    await listener.stop()
    assert woken == [None, 5, 9, None, 12]
    assert slept == [0.1, 0.15, 0.1]  # bounded, and reset by the connection that worked
    assert first.closed and second.closed
