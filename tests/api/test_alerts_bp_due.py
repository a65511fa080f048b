"""Blood pressure is measured now and then, never streamed (issue 14): it is due whatever else is
connected (7d), and an acknowledged alarm on it reminds when a new one is due (7g). The alarm
clock is driven at instants of the test's choosing (`clock.tick_session`)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from backend.alerts import clock
from backend.core.database import Database
from tests.api.alert_support import (
    acknowledged,
    alarm_session,
    bp,
    record,
    the_alarm,
    tick_and_read,
)
from tests.api.support import move, parse_time
from tests.helpers import readings_of


def _tick(database: Database, session_id: int, at: datetime) -> None:
    with database.unit_of_work(write=True) as db:
        clock.tick_session(db, session_id, at)


def _infusing(client: TestClient) -> dict[str, Any]:
    session = alarm_session(client)
    bp(client, session["id"], 120, diastolic=80)
    move(client, session["id"], "infusing")
    return session


# ---- 7d: BP overdue, monitor or not -----------------------------------------------------------


def test_an_oximeter_streaming_does_not_stand_in_for_a_blood_pressure(
    as_nurse: TestClient, database: Database
) -> None:
    session = _infusing(as_nurse)
    last_bp = parse_time(the_bp(as_nurse, session["id"])["taken_at"])
    # The oximeter keeps streaming (a reading arrives just before the clock looks)...
    record(as_nurse, session["id"], heart_rate=80, spo2=97, source="device")
    assert (
        tick_and_read(database, session["id"], last_bp + timedelta(seconds=590), "bp_overdue")
        is None
    )

    # ... and 10 min after the last blood pressure one is overdue all the same.
    overdue = tick_and_read(database, session["id"], last_bp + timedelta(seconds=605), "bp_overdue")
    assert overdue is not None
    assert (overdue["status"], overdue["kind"], overdue["priority"]) == (
        "active",
        "advisory",
        "low",
    )
    assert overdue["message"] == "Blood pressure overdue: none in the last 10 min"
    bp(as_nurse, session["id"], 122, diastolic=80, source="device")
    assert the_alarm(as_nurse, session["id"], "bp_overdue")["status"] == "resolved"


def the_bp(client: TestClient, session_id: int) -> dict[str, Any]:
    """The newest reading carrying a blood pressure."""
    with_bp = [r for r in readings_of(client, session_id) if r.get("systolic") is not None]
    newest: dict[str, Any] = max(with_bp, key=lambda r: r["taken_at"])
    return newest


# ---- 7g: a reminder when a new BP is due ------------------------------------------------------


def test_an_acknowledged_bp_alarm_reminds_when_a_new_bp_is_due_not_every_3_min(
    as_nurse: TestClient, database: Database
) -> None:
    session = _infusing(as_nurse)
    bp(as_nurse, session["id"], 170, diastolic=85)
    taken = parse_time(the_bp(as_nurse, session["id"])["taken_at"])
    seen = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    acknowledged_at = parse_time(seen["acknowledged_at"])

    # 3 min on, no new blood pressure could have been taken on a 10 min round: no reminder.
    _tick(database, session["id"], acknowledged_at + timedelta(seconds=185))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "acknowledged"
    _tick(database, session["id"], taken + timedelta(seconds=590))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "acknowledged"

    # The next one is due: the alarm, still standing, asks again.
    _tick(database, session["id"], taken + timedelta(seconds=601))
    reminded = the_alarm(as_nurse, session["id"], "systolic.above")
    assert reminded["status"] == "active"
    assert parse_time(reminded["alerted_at"]) >= taken + timedelta(seconds=601)


def test_a_new_bp_still_high_after_the_acknowledgement_reminds_after_the_interval(
    as_nurse: TestClient, database: Database
) -> None:
    session = _infusing(as_nurse)
    bp(as_nurse, session["id"], 170, diastolic=85)
    seen = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    acknowledged_at = parse_time(seen["acknowledged_at"])
    bp(as_nurse, session["id"], 168, diastolic=84)  # measured again: still above 160

    _tick(database, session["id"], acknowledged_at + timedelta(seconds=170))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "acknowledged"
    _tick(database, session["id"], acknowledged_at + timedelta(seconds=181))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"


def test_a_continuous_vital_still_reminds_every_reminder_interval(
    as_nurse: TestClient, database: Database
) -> None:
    session = _infusing(as_nurse)
    now = datetime.now(UTC)
    for back in (40, 20, 0):  # longer than the 30 s delay
        taken_at = (now - timedelta(seconds=back)).isoformat()
        record(as_nurse, session["id"], respiratory_rate=6, source="device", taken_at=taken_at)
    alarm = the_alarm(as_nurse, session["id"], "respiratory_rate.below")
    seen = acknowledged(as_nurse, alarm["id"])
    _tick(database, session["id"], parse_time(seen["acknowledged_at"]) + timedelta(seconds=181))
    assert the_alarm(as_nurse, session["id"], "respiratory_rate.below")["status"] == "active"
