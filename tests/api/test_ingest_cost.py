"""What one reading costs the database: the SQL statements a single-reading POST runs.

Issue 18 asks for at most 8 statements per reading. Counting them (SQLAlchemy's
before_cursor_execute, on every engine) makes a change that adds a look-up per reading fail here
rather than show up months later as a slower ward.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.core.database import Database
from backend.core.settings import Settings
from backend.users import credential_cache
from tests.api.support import new_token
from tests.conftest import shared_app
from tests.helpers import new_session

# The ceiling. Today a reading runs 7 (on SQLite its BEGIN IMMEDIATE among them), 8 while
# an alarm of its session is open (see the assertion messages when it fails).
MOST_STATEMENTS_PER_READING = 8


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the client's app runs on its database inside the block, in order.
    Its engine's only: in a whole run other servers of the package (a live server's alarm clock,
    say) run statements of their own at the same time."""
    engine: Engine = client.app.state.database.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    """The suite's app with its timers (alarm clock and its lease, simulator, the stream's poll)
    slowed to once an hour: their ticks are statements of their own, not the reading's, and
    would make the count depend on timing."""
    slow = {
        "alert_tick_seconds": 3600.0,
        "simulation_tick_seconds": 3600.0,
        "stream_poll_seconds": 3600.0,
        "lease_seconds": 7200.0,
        "lease_renew_seconds": 3600.0,
    }
    return shared_app(settings.model_copy(update=slow))


@pytest.fixture(autouse=True)
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credential cache's clock stands still: on a busy machine a test can take longer than
    the cache's few seconds, and a look-up per 5 s is not a cost per reading."""
    monkeypatch.setattr(credential_cache.CACHE, "_clock", lambda: 0.0)


def reading(n: int) -> dict[str, Any]:
    """A monitor's reading with its own id, as devices and gateways send them."""
    vitals = {"heart_rate": 70 + n % 10, "spo2": 97, "systolic": 120, "diastolic": 80}
    return {"id": str(uuid.uuid4()), **vitals}


def fewest(client: TestClient, post: Callable[[int], Any], times: int = 4) -> list[str]:
    """The statements of the cheapest of `times` requests. The app's own background work (its
    first lease, its first simulator claim, which a loaded machine may run late) can fall inside
    one request's count; a cost the request itself adds is in every one of them."""
    counts = []
    for n in range(times):
        with statements(client) as seen:
            response = post(n)
        assert response.status_code == 201, response.text
        counts.append(seen)
    return min(counts, key=len)


def test_a_token_reading_costs_at_most_8_statements(
    as_nurse: TestClient, as_admin: TestClient, bearer: Callable[[str], TestClient]
) -> None:
    gateway = bearer(new_token(as_admin, "nurse")["token"])
    session_id = new_session(as_nurse)["id"]
    path = f"/api/sessions/{session_id}/readings"
    assert gateway.post(path, json=reading(0)).status_code == 201  # the first one may warm up
    seen = fewest(gateway, lambda n: gateway.post(path, json=reading(n + 1)))
    assert len(seen) <= MOST_STATEMENTS_PER_READING, "\n".join(seen)


def test_a_nurse_reading_costs_at_most_8_statements(as_nurse: TestClient) -> None:
    session_id = new_session(as_nurse)["id"]
    path = f"/api/sessions/{session_id}/readings"
    assert as_nurse.post(path, json=reading(0)).status_code == 201
    seen = fewest(as_nurse, lambda n: as_nurse.post(path, json=reading(n + 1)))
    assert len(seen) <= MOST_STATEMENTS_PER_READING, "\n".join(seen)


def test_a_batch_costs_as_many_statements_as_one_reading(as_nurse: TestClient) -> None:
    """Not a statement per reading: the readings go in one INSERT, their events in one, their
    alarm state in one UPDATE."""
    session_id = new_session(as_nurse)["id"]
    path = f"/api/sessions/{session_id}/readings/batch"
    assert as_nurse.post(path, json={"readings": [reading(0)]}).status_code == 201

    def batch(n: int) -> Any:
        return as_nurse.post(path, json={"readings": [reading(i) for i in range(50)]})

    seen = fewest(as_nurse, batch, times=2)
    assert len(seen) <= MOST_STATEMENTS_PER_READING, "\n".join(seen)


def test_a_reading_while_an_alarm_is_open_costs_at_most_8_statements(
    as_nurse: TestClient,
) -> None:
    """Most readings find no open alarm and read none; one that finds one reads it (an ORM row
    the evaluation may change) and still keeps within the figure."""
    session_id = new_session(as_nurse)["id"]
    path = f"/api/sessions/{session_id}/readings"
    high = {"id": str(uuid.uuid4()), "systolic": 200, "diastolic": 95}
    assert as_nurse.post(path, json=high).status_code == 201
    alerts = as_nurse.get(f"/api/sessions/{session_id}/alerts").json()
    assert [a["condition"] for a in alerts if a["resolved_at"] is None] == ["systolic.above"]
    seen = fewest(as_nurse, lambda n: as_nurse.post(path, json=reading(n)))
    assert any("FROM alerts" in s and "alerts.id" in s for s in seen), "\n".join(seen)
    assert len(seen) <= MOST_STATEMENTS_PER_READING, "\n".join(seen)
