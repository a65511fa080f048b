"""Alarms against a real server: readings arriving together, and alarms on the live stream."""

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from backend.core.database import Database
from backend.core.roles import Role
from backend.users import service as users
from tests.api.alert_support import (
    acknowledged,
    alarm_session,
    alarms_of,
    bp,
    default_limits,
    new_profile,
    the_alarm,
)
from tests.conftest import LiveServer
from tests.stream_client import StreamClient, open_stream


@pytest.fixture(scope="module")
def tokens(database: Database) -> dict[Role, str]:
    with database.unit_of_work(write=True) as db:
        return {
            role: users.create_token(db, f"alerts-{role}-{uuid.uuid4().hex[:6]}", role)[1]
            for role in (Role.NURSE, Role.ADMIN)
        }


@pytest.fixture
def api(live_server: LiveServer, tokens: dict[Role, str]) -> Iterator[httpx2.Client]:
    with _client(live_server, tokens[Role.NURSE]) as client:
        yield client


def _client(live_server: LiveServer, token: str) -> httpx2.Client:
    return httpx2.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


def _post_together(live_server: LiveServer, token: str, session_id: int, *systolics: int) -> None:
    """POST one reading per value, all released at the same moment from their own threads."""
    clients = [_client(live_server, token) for _ in systolics]
    start = threading.Barrier(len(systolics))
    statuses: list[int] = []

    def post(client: httpx2.Client, systolic: int) -> None:
        start.wait()
        response = client.post(
            f"/api/sessions/{session_id}/readings", json={"systolic": systolic, "diastolic": 80}
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=post, args=(c, s)) for c, s in zip(clients, systolics, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert statuses == [201] * len(systolics)


def test_identical_readings_arriving_together_raise_one_alarm(
    live_server: LiveServer, tokens: dict[Role, str], api: httpx2.Client
) -> None:
    for _ in range(3):
        session = alarm_session(api)
        _post_together(live_server, tokens[Role.NURSE], session["id"], 190, 190, 190, 190)
        (alarm,) = alarms_of(api, session["id"])
        assert (alarm["condition"], alarm["priority"], alarm["status"]) == (
            "systolic.above",
            "high",
            "active",
        )


def test_different_breaches_arriving_together_raise_one_alarm_at_the_higher_priority(
    live_server: LiveServer, tokens: dict[Role, str], api: httpx2.Client
) -> None:
    session = alarm_session(api)
    _post_together(live_server, tokens[Role.NURSE], session["id"], 165, 190, 170)
    (alarm,) = alarms_of(api, session["id"])
    assert alarm["priority"] == "high"


def _events_of(
    stream: StreamClient, session_id: int, count: int, kind: str | None = "alert.changed"
) -> list[dict[str, Any]]:
    """The next `count` events of one session (a session's stream also carries the ward's
    alarms, and other tests' sessions may still be raising some)."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        events += [e for e in stream.events(1, kind=kind) if e["session_id"] == session_id]
    return events


def test_an_alarm_and_each_response_to_it_arrive_on_the_sessions_stream(
    live_server: LiveServer, tokens: dict[Role, str], api: httpx2.Client
) -> None:
    session = alarm_session(api)
    with open_stream(live_server.ws_url, tokens[Role.NURSE], session_id=session["id"]) as stream:
        stream.until_ready()
        bp(api, session["id"], 190)
        reading, raised = _events_of(stream, session["id"], 2, kind=None)
        alarm = the_alarm(api, session["id"], "systolic.above")
        acknowledged(api, alarm["id"], "BP rechecked")
        (seen,) = _events_of(stream, session["id"], 1)
        bp(api, session["id"], 120)
        (cleared,) = _events_of(stream, session["id"], 1)

    # The reading and the alarm it raised, in commit order.
    assert reading["kind"] == "reading.created"
    assert raised["kind"] == "alert.changed"
    assert int(raised["cursor"]) > int(reading["cursor"])
    assert raised["session_id"] == session["id"]
    assert raised["data"]["id"] == alarm["id"]
    assert raised["data"]["priority"] == "high"
    assert raised["data"]["changes"] == ["raised"]
    assert (raised["data"]["chair"], raised["data"]["simulated"]) == (session["chair"], False)
    # Each change is a newer version, so a page can tell a stale copy from a fresh one.
    assert raised["data"]["version"] < seen["data"]["version"] < cleared["data"]["version"]
    assert seen["data"]["changes"] == ["acknowledged"]
    assert seen["data"]["acknowledged_by"].startswith("token:alerts-nurse")
    assert seen["data"]["note"] == "BP rechecked"
    assert cleared["data"]["changes"] == ["resolved"]
    assert cleared["data"]["status"] == "resolved"


def test_a_sessions_stream_carries_other_chairs_alarms_but_not_their_readings(
    live_server: LiveServer, tokens: dict[Role, str], api: httpx2.Client
) -> None:
    watched, other = alarm_session(api), alarm_session(api)
    with open_stream(live_server.ws_url, tokens[Role.NURSE], session_id=watched["id"]) as stream:
        stream.until_ready()
        bp(api, other["id"], 190)
        bp(api, watched["id"], 121)
        (alarm,) = _events_of(stream, other["id"], 1)
        (reading,) = stream.events(1)
    assert alarm["data"]["chair"] == other["chair"]
    assert reading["session_id"] == watched["id"]  # the other chair's reading never came
    # Resuming from a cursor gives the same: the other chair's alarm, not its reading.
    with open_stream(
        live_server.ws_url, tokens[Role.NURSE], session_id=watched["id"], after="0"
    ) as again:
        kinds = {
            (e["session_id"], e["kind"])
            for e in again.until_ready()
            if e["session_id"] in (watched["id"], other["id"])
        }
    assert (other["id"], "alert.changed") in kinds
    assert (other["id"], "reading.created") not in kinds
    assert (watched["id"], "reading.created") in kinds


def test_an_escalation_reaches_every_ward_stream(
    live_server: LiveServer, tokens: dict[Role, str], api: httpx2.Client
) -> None:
    with _client(live_server, tokens[Role.ADMIN]) as admin:
        limits = default_limits(admin)
        limits["timing"]["escalate_after_s"] = 0.2
        profile = new_profile(admin, limits)
    session = alarm_session(api, limit_profile_id=profile["id"])
    with (
        open_stream(live_server.ws_url, tokens[Role.NURSE]) as ward,
        open_stream(live_server.ws_url, tokens[Role.ADMIN]) as office,
    ):
        ward.until_ready()
        office.until_ready()
        bp(api, session["id"], 190)
        escalations = [_escalation(stream, session["id"]) for stream in (ward, office)]
    for event in escalations:
        assert event["data"]["escalated"] is True
        assert event["data"]["condition"] == "systolic.above"


def _escalation(stream: StreamClient, session_id: int) -> dict[str, Any]:
    while True:
        (event,) = stream.events(1, timeout=5, kind="alert.changed")
        if event["session_id"] == session_id and "escalated" in event["data"]["changes"]:
            return event
