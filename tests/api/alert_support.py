"""Helpers for the alert API tests: a session's alarms, acknowledging, limits and profiles."""

import copy
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx2

from backend.alerts import clock
from backend.alerts.models import Alert
from backend.alerts.schemas import AlertPublic
from backend.alerts.store import open_alerts
from backend.core.database import Database
from tests.api.support import parse_time, unique
from tests.helpers import Client, new_session

Alarm = dict[str, Any]
T = TypeVar("T")


def alarm_session(client: Client, **fields: Any) -> dict[str, Any]:
    """A new session whose chair sorts first on the ward, so the ward list always shows it."""
    return new_session(client, chair=f"0-alarm-{uuid.uuid4().hex[:8]}", **fields)


def alarms_of(client: Client, session_id: int) -> list[Alarm]:
    """Every alarm of a session, open and past."""
    response = client.get(f"/api/sessions/{session_id}/alerts")
    assert response.status_code == 200, response.text
    alarms: list[Alarm] = response.json()
    return alarms


def open_alarms_of(client: Client, session_id: int) -> list[Alarm]:
    return [a for a in alarms_of(client, session_id) if a["status"] != "resolved"]


def conditions_open(client: Client, session_id: int) -> set[str]:
    return {a["condition"] for a in open_alarms_of(client, session_id)}


def the_alarm(client: Client, session_id: int, condition: str) -> Alarm:
    """The latest alarm of `condition` (open or not); fails listing what the session has."""
    alarms = alarms_of(client, session_id)
    found = [a for a in alarms if a["condition"] == condition]
    assert found, f"no {condition} alarm; the session has {[a['condition'] for a in alarms]}"
    return max(found, key=lambda a: a["id"])


def ward_alarms(client: Client) -> list[Alarm]:
    """GET /api/alerts: every open alarm of the clinic."""
    response = client.get("/api/alerts")
    assert response.status_code == 200, response.text
    alarms: list[Alarm] = response.json()
    return alarms


def ward_tile(client: Client, session_id: int) -> dict[str, Any]:
    """The session as the ward list shows it."""
    response = client.get("/api/sessions", params={"limit": 500})
    assert response.status_code == 200, response.text
    tiles = [s for s in response.json() if s["id"] == session_id]
    assert tiles, f"session {session_id} is not on the ward"
    tile: dict[str, Any] = tiles[0]
    return tile


def acknowledge(client: Client, alert_id: int, note: str | None = None) -> httpx2.Response:
    body = {} if note is None else {"note": note}
    return client.post(f"/api/alerts/{alert_id}/acknowledge", json=body)


def acknowledged(client: Client, alert_id: int, note: str | None = None) -> Alarm:
    response = acknowledge(client, alert_id, note)
    assert response.status_code == 200, response.text
    alarm: Alarm = response.json()
    return alarm


def bp(client: Client, session_id: int, systolic: int, diastolic: int = 80, **more: Any) -> None:
    """Record a blood pressure (and any other vitals), insisting that it is stored."""
    response = client.post(
        f"/api/sessions/{session_id}/readings",
        json={"systolic": systolic, "diastolic": diastolic, **more},
    )
    assert response.status_code == 201, response.text


def record(client: Client, session_id: int, **vitals: Any) -> dict[str, Any]:
    response = client.post(f"/api/sessions/{session_id}/readings", json=vitals)
    assert response.status_code == 201, response.text
    reading: dict[str, Any] = response.json()
    return reading


def vital_limit(
    *,
    above: tuple[float | None, float | None] = (None, None),
    below: tuple[float | None, float | None] = (None, None),
    delay_s: float = 0,
    hysteresis: float = 0,
    **more: Any,
) -> dict[str, Any]:
    """A VitalLimit body; bounds as (medium, high)."""
    return {
        "above": {"medium": above[0], "high": above[1]},
        "below": {"medium": below[0], "high": below[1]},
        "delay_s": delay_s,
        "hysteresis": hysteresis,
        **more,
    }


def put_limits(
    client: Client, session_id: int, overrides: dict[str, dict[str, Any]]
) -> httpx2.Response:
    return client.put(f"/api/sessions/{session_id}/limits", json={"overrides": overrides})


def set_limits(client: Client, session_id: int, overrides: dict[str, dict[str, Any]]) -> Any:
    response = put_limits(client, session_id, overrides)
    assert response.status_code == 200, response.text
    return response.json()


def limits_of(client: Client, session_id: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/limits")
    assert response.status_code == 200, response.text
    limits: dict[str, Any] = response.json()
    return limits


def default_limits(client: Client) -> dict[str, Any]:
    """A copy of the clinic default profile's limits document, to edit into a new profile."""
    response = client.get("/api/limits/profiles")
    assert response.status_code == 200, response.text
    (default,) = [p for p in response.json() if p["is_default"]]
    limits: dict[str, Any] = copy.deepcopy(default["limits"])
    return limits


def new_profile(admin: Client, limits: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    response = admin.post(
        "/api/limits/profiles", json={"name": name or unique("Protocol"), "limits": limits}
    )
    assert response.status_code == 201, response.text
    profile: dict[str, Any] = response.json()
    return profile


def session_with_limits(
    admin: Client, nurse: Client, edit: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """A session of a new profile: the clinic default as changed by `edit`."""
    limits = default_limits(admin)
    edit(limits)
    profile = new_profile(admin, limits)
    return alarm_session(nurse, limit_profile_id=profile["id"])


def tick(database: Database, session_id: int, at: datetime) -> list[AlertPublic]:
    """The alarm clock reaching `at` for one session: a test moves time on instead of sleeping.
    One session only: the shared database holds other tests' sessions, which a whole pass at a
    future instant would disturb. Returns the alarms that escalated."""
    with database.unit_of_work(write=True) as db:
        return clock.tick_session(db, session_id, at)


def tick_and_read(
    database: Database, session_id: int, at: datetime, condition: str
) -> Alarm | None:
    """`tick` to `at`, and the condition's open alarm read in the same transaction. Read through
    the API afterwards, the app's own alarm clock (every second, at the real time, minutes
    before `at`) could end an alarm that does not latch in between (no data, BP overdue): a
    test failed so once on PostgreSQL."""
    with database.unit_of_work(write=True) as db:
        clock.tick_session(db, session_id, at)
        row = db.scalars(
            open_alerts().where(Alert.session_id == session_id, Alert.condition == condition)
        ).first()
        return None if row is None else AlertPublic.of(row).model_dump(mode="json")


def after(instant: str, seconds: float) -> datetime:
    """`seconds` after a time as the API gives it."""
    return parse_time(instant) + timedelta(seconds=seconds)


# How long `wait_for` waits unless told: generous, because `make test` runs two suites on two
# cores beside whatever else the machine does (CI failed waiting 3 s for a simulation's first
# 600 readings, which take a fraction of a second alone). A passing test returns as soon as
# the check holds, so the limit costs it nothing.
WAIT_SECONDS = 20.0


def wait_for(check: Callable[[], T | None], timeout: float = WAIT_SECONDS, what: str = "it") -> T:
    """Poll `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


def open_alarm(client: Client, session_id: int, condition: str) -> Callable[[], Alarm | None]:
    """A check for `wait_for`: the open alarm of `condition`, once there is one."""

    def check() -> Alarm | None:
        found = [a for a in open_alarms_of(client, session_id) if a["condition"] == condition]
        return found[0] if found else None

    return check
