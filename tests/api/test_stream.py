"""The live stream over real WebSocket connections to a real server."""

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.users import service as users
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading
from tests.stream_client import open_stream


@pytest.fixture(scope="module")
def token(database: Database) -> str:
    with database.unit_of_work(write=True) as db:
        _, secret = users.create_token(db, f"stream-{uuid.uuid4().hex[:8]}", Role.STAFF)
    return secret


@pytest.fixture
def api(live_server: LiveServer, token: str) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=live_server.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def session_id(api: httpx2.Client) -> int:
    session_id: int = new_session(api)["id"]
    return session_id


def test_a_session_subscriber_receives_each_committed_reading(
    live_server: LiveServer, token: str, api: httpx2.Client, session_id: int
) -> None:
    with open_stream(live_server.ws_url, token, session_id=session_id) as stream:
        assert stream.until_ready() == []
        stored = post_reading(api, session_id, heart_rate=88, spo2=97).json()
        (event,) = stream.events(1)
    assert event["kind"] == "reading.created"
    assert event["session_id"] == session_id
    assert event["data"] == stored
    assert int(event["cursor"]) > 0


def test_a_session_subscriber_sees_only_its_session_and_the_ward_sees_all(
    live_server: LiveServer, token: str, api: httpx2.Client, session_id: int
) -> None:
    other = new_session(api)["id"]
    with (
        open_stream(live_server.ws_url, token, session_id=session_id) as mine,
        open_stream(live_server.ws_url, token) as ward,
    ):
        mine.until_ready()
        ward.until_ready()
        post_reading(api, other, heart_rate=70)
        post_reading(api, session_id, heart_rate=71)
        ward_events = ward.events(2)
        (my_event,) = mine.events(1)
    assert [e["session_id"] for e in ward_events] == [other, session_id]
    assert my_event["data"]["heart_rate"] == 71


def test_reconnecting_with_the_last_cursor_delivers_what_was_missed_in_order_then_live(
    live_server: LiveServer, token: str, api: httpx2.Client, session_id: int
) -> None:
    with open_stream(live_server.ws_url, token, session_id=session_id) as stream:
        stream.until_ready()
        post_reading(api, session_id, heart_rate=60)
        stream.events(1)
        cursor = stream.cursor
    missed = [post_reading(api, session_id, heart_rate=61 + i).json()["id"] for i in range(5)]

    with open_stream(live_server.ws_url, token, session_id=session_id, after=cursor) as stream:
        backfill = stream.until_ready()
        live = post_reading(api, session_id, heart_rate=99).json()["id"]
        (live_event,) = stream.events(1)
    # Alarm changes of any chair reach every subscriber too (other tests' sessions raise
    # reminders as the run goes on): the readings are what this session missed.
    readings = [e for e in backfill if e["kind"] == "reading.created"]
    assert [e["data"]["id"] for e in readings] == missed
    cursors = [int(e["cursor"]) for e in backfill]
    assert cursors == sorted(cursors)
    assert live_event["data"]["id"] == live


def test_concurrent_writers_reach_a_ward_subscriber_once_each_with_no_gap(
    live_server: LiveServer, token: str, session_id: int
) -> None:
    writers, per_writer = 6, 15
    posted: list[str] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=live_server.url, headers=headers, timeout=20) as client:
            for i in range(per_writer):
                body = post_reading(client, session_id, heart_rate=60 + worker, spo2=90 + i % 10)
                assert body.status_code == 201, body.text
                with lock:
                    posted.append(body.json()["id"])

    with open_stream(live_server.ws_url, token) as ward:
        ward.until_ready()
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events: list[dict[str, Any]] = []
        ours = 0  # the ward also carries any other session's events (a simulation, say)
        while ours < writers * per_writer:
            events.extend(ward.events(1, timeout=10, kind=None))
            ours = sum(
                e["kind"] == "reading.created" and e["session_id"] == session_id for e in events
            )

    received = [
        e["data"]["id"]
        for e in events
        if e["kind"] == "reading.created" and e["session_id"] == session_id
    ]
    assert sorted(received) == sorted(posted)
    assert len(set(received)) == len(received)
    # Every event of the ward (readings and the alarms they raise) arrives once, in order.
    cursors = [int(e["cursor"]) for e in events]
    assert cursors == list(range(cursors[0], cursors[0] + len(cursors)))


def test_a_client_that_stops_reading_does_not_stall_the_others(
    live_server: LiveServer, token: str, api: httpx2.Client, session_id: int
) -> None:
    with (
        open_stream(live_server.ws_url, token) as stalled,
        open_stream(live_server.ws_url, token, session_id=session_id) as attentive,
    ):
        stalled.until_ready()
        attentive.until_ready()
        for i in range(40):
            post_reading(api, session_id, heart_rate=50 + i)
        assert len(attentive.events(40)) == 40


def test_a_reading_committed_by_another_worker_reaches_this_workers_stream(
    live_server: LiveServer, settings: Settings, token: str, session_id: int
) -> None:
    other_worker = LiveServer(settings)
    other_worker.start()
    try:
        with open_stream(live_server.ws_url, token, session_id=session_id) as stream:
            stream.until_ready()
            with httpx2.Client(
                base_url=other_worker.url, headers={"Authorization": f"Bearer {token}"}
            ) as elsewhere:
                stored = post_reading(elsewhere, session_id, spo2=93).json()
            (event,) = stream.events(1, timeout=5)
    finally:
        other_worker.stop()
    assert event["data"]["id"] == stored["id"]


def test_a_stream_without_credentials_is_closed_with_4401(live_server: LiveServer) -> None:
    with open_stream(live_server.ws_url, "") as stream, pytest.raises(ConnectionClosed) as closed:
        stream.next_message()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_a_stream_opened_from_a_foreign_origin_is_refused(
    live_server: LiveServer, token: str
) -> None:
    with (
        pytest.raises(InvalidStatus),
        open_stream(live_server.ws_url, token, origin="https://evil.example"),
    ):
        pass


def test_a_cursor_the_server_never_issued_gets_a_reset(live_server: LiveServer, token: str) -> None:
    with open_stream(live_server.ws_url, token, after="999999999") as stream:
        first = stream.next_message()
    assert first["type"] == "reset"
