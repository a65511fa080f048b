"""The live stream across processes sharing one PostgreSQL: LISTEN/NOTIFY as the wake-up.

Each "process" is a server with its own app, bus, NOTIFY sender and LISTEN connection, in this
test process. The poll and the gap wait are set to a minute, far beyond the tests' patience (a
few seconds per event): whatever arrives, arrives by a notification or an immediate read.
"""

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from sqlalchemy import text

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.users import service as users
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading
from tests.stream_client import StreamClient, open_stream

pytestmark = pytest.mark.skipif(
    os.environ.get("VIGIL_TEST_DATABASE", "sqlite") != "postgresql",
    reason="several processes share a PostgreSQL database; SQLite is served by one",
)


@pytest.fixture(scope="module")
def token(database: Database) -> str:
    with database.unit_of_work(write=True) as db:
        _, secret = users.create_token(db, f"cross-{uuid.uuid4().hex[:8]}", Role.STAFF)
    return secret


def slow_fallbacks(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(
        update={"stream_poll_seconds": 60.0, "stream_gap_wait_seconds": 60.0, **changes}
    )


@contextmanager
def process(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def api_of(server: LiveServer, token: str) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=server.url, headers=headers, timeout=10) as client:
        yield client


def post(api: httpx2.Client, session_id: int, heart_rate: int) -> str:
    response = post_reading(api, session_id, heart_rate=heart_rate)
    assert response.status_code == 201, response.text
    reading_id: str = response.json()["id"]
    return reading_id


def events_within(
    stream: StreamClient, count: int, seconds: float = 5.0
) -> list[dict[str, object]]:
    """The next `count` reading events, all arrived within `seconds` (heartbeats, which come
    every second, do not stretch the wait as they do `StreamClient.events`)."""
    deadline = time.monotonic() + seconds
    events: list[dict[str, object]] = []
    while len(events) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(events)} of {count} events within {seconds} s"
        message = stream.next_message(timeout=left)
        if message["type"] == "event" and message["kind"] == "reading.created":
            events.append(message)
    return events


def ids_and_cursors(events: list[dict[str, object]]) -> tuple[list[str], list[int]]:
    ids = [str(e["data"]["id"]) for e in events]  # type: ignore[index]
    return ids, [int(str(e["cursor"])) for e in events]


def listening_backends(database: Database) -> list[int]:
    with database.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query ILIKE 'LISTEN%'"
                )
            ).scalars()
        )


def terminate(database: Database, pids: list[int]) -> None:
    with database.engine.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_readings_posted_on_one_process_reach_another_in_order_without_the_poll(
    settings: Settings, token: str
) -> None:
    quick = slow_fallbacks(settings)
    with process(quick) as a, process(quick) as b, api_of(a, token) as api:
        session_id: int = new_session(api)["id"]
        with open_stream(b.ws_url, token, session_id=session_id) as stream:
            stream.until_ready()
            posted = [post(api, session_id, 60 + i) for i in range(20)]
            ids, cursors = ids_and_cursors(events_within(stream, 20))
    assert ids == posted
    assert cursors == sorted(set(cursors))


def test_own_readings_never_wait_for_another_process_that_announced_nothing(
    settings: Settings, token: str
) -> None:
    # `silent` sends no NOTIFY: its commit is a hole in `a`'s sequence that nothing announces.
    # `a`'s own next reading is delivered at once, the hole read from the table before it.
    quick = slow_fallbacks(settings)
    silent_settings = slow_fallbacks(settings, stream_notify=False)
    with (
        process(quick) as a,
        process(silent_settings) as silent,
        api_of(a, token) as on_a,
        api_of(silent, token) as on_silent,
    ):
        session_id: int = new_session(on_a)["id"]
        with open_stream(a.ws_url, token, session_id=session_id) as stream:
            stream.until_ready()
            posted = [post(on_silent, session_id, 70), post(on_a, session_id, 71)]
            ids, cursors = ids_and_cursors(events_within(stream, 2))
    assert ids == posted
    assert cursors[0] < cursors[1]


def test_a_killed_listening_connection_reconnects_and_catches_up_by_sequence(
    settings: Settings, token: str, database: Database
) -> None:
    quick = slow_fallbacks(settings, stream_listen_retry_seconds=0.2)
    with process(quick) as a, process(quick) as b, api_of(a, token) as api:
        session_id: int = new_session(api)["id"]
        with open_stream(b.ws_url, token, session_id=session_id) as stream:
            stream.until_ready()
            first = post(api, session_id, 80)
            assert ids_and_cursors(events_within(stream, 1))[0] == [first]
            listeners = listening_backends(database)
            assert len(listeners) >= 2  # a's and b's
            terminate(database, listeners)
            # Posted while nobody listens: its notification is lost; b reads it on reconnect.
            missed = post(api, session_id, 81)
            later = post(api, session_id, 82)
            ids, _ = ids_and_cursors(events_within(stream, 2))
        assert ids == [missed, later]
        assert not set(listeners) & set(listening_backends(database))


def test_a_process_stopped_and_restarted_gives_a_resuming_client_no_gap_and_no_duplicate(
    settings: Settings, token: str
) -> None:
    quick = slow_fallbacks(settings)
    with process(quick) as a, api_of(a, token) as api:
        session_id: int = new_session(api)["id"]
        received: list[dict[str, object]] = []
        with process(quick) as b, open_stream(b.ws_url, token, session_id=session_id) as stream:
            stream.until_ready()
            posted = [post(api, session_id, 90 + i) for i in range(3)]
            received += events_within(stream, 3)
            cursor = stream.cursor
        # b is gone; a goes on writing.
        posted += [post(api, session_id, 93 + i) for i in range(5)]
        with process(quick) as b_again:
            resumed: StreamClient
            with open_stream(b_again.ws_url, token, session_id=session_id, after=cursor) as resumed:
                received += [e for e in resumed.until_ready() if e["kind"] == "reading.created"]
                posted += [post(api, session_id, 98 + i) for i in range(2)]
                received += events_within(resumed, 2)
    ids, cursors = ids_and_cursors(received)
    assert ids == posted
    assert cursors == sorted(set(cursors))
