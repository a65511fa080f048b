"""Alarms judge readings by when they were measured (`taken_at`), not when they arrived: a
backfilled breach alarms as it happened, and a late, older reading is history, not the current
value (it is stored and shown, but neither raises nor clears an alarm)."""

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.alert_support import (
    acknowledged,
    alarm_session,
    alarms_of,
    bp,
    conditions_open,
    the_alarm,
)
from tests.api.support import iso, now, parse_time
from tests.helpers import post_batch, readings_of


def _spo2_batch(start_seconds_ago: float, values: list[int]) -> list[dict[str, Any]]:
    """One SpO2 (with heart rate) a second, the first taken `start_seconds_ago`."""
    start = now() - timedelta(seconds=start_seconds_ago)
    return [
        {
            "id": str(uuid.uuid4()),
            "spo2": value,
            "heart_rate": 80,
            "taken_at": iso(start + timedelta(seconds=second)),
        }
        for second, value in enumerate(values)
    ]


def test_a_backfilled_minute_of_desaturation_alarms_where_its_delay_was_met(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    # A gateway that lost its link sends five minutes later: 60 s at 85 %, then 97 %.
    items = _spo2_batch(300, [85] * 60 + [97] * 5)
    response = post_batch(as_nurse, session["id"], items)
    assert response.status_code == 201, response.text

    alarm = the_alarm(as_nurse, session["id"], "spo2.below")
    assert alarm["priority"] == "high"
    # Raised where the 10 s high-priority delay was met, measured on the readings' own times...
    onset = parse_time(items[0]["taken_at"]) + timedelta(seconds=10)
    assert parse_time(alarm["raised_at"]) == onset
    # ... but announced now, so it latches for a nurse to see and does not escalate at once.
    assert (alarm["status"], alarm["present"], alarm["escalated"]) == ("active", False, False)
    assert parse_time(alarm["alerted_at"]) >= parse_time(items[-1]["taken_at"])
    assert alarm["reading_id"] == items[0]["id"]  # the reading the breach began with


def test_a_backfilled_breach_shorter_than_its_delay_does_not_alarm(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    response = post_batch(as_nurse, session["id"], _spo2_batch(300, [85] * 8 + [97] * 5))
    assert response.status_code == 201, response.text
    assert alarms_of(as_nurse, session["id"]) == []


def test_a_late_older_reading_does_not_clear_a_current_alarm(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 191)
    late = {"systolic": 120, "diastolic": 80, "taken_at": iso(now() - timedelta(minutes=5))}
    response = as_nurse.post(f"/api/sessions/{session['id']}/readings", json=late)
    assert response.status_code == 201, response.text

    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (alarm["status"], alarm["present"], alarm["value"]) == ("active", True, 191)
    # Still present: acknowledging it does not close it while the systolic is 191.
    assert acknowledged(as_nurse, alarm["id"])["status"] == "acknowledged"


def test_a_late_older_reading_does_not_raise_an_alarm_as_if_current(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 122)
    late = {"systolic": 195, "diastolic": 85, "taken_at": iso(now() - timedelta(minutes=5))}
    response = as_nurse.post(f"/api/sessions/{session['id']}/readings", json=late)
    assert response.status_code == 201, response.text

    assert "systolic.above" not in conditions_open(as_nurse, session["id"])
    assert alarms_of(as_nurse, session["id"]) == []
    # It is in the record all the same, in its place in time.
    assert [r["systolic"] for r in readings_of(as_nurse, session["id"])] == [195, 122]


def test_a_reading_stamped_ahead_of_the_server_does_not_silence_the_next_real_one(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    ahead = {"systolic": 120, "diastolic": 80, "taken_at": iso(now() + timedelta(seconds=90))}
    response = as_nurse.post(f"/api/sessions/{session['id']}/readings", json=ahead)
    assert response.status_code == 201, response.text  # within the clock tolerance
    bp(as_nurse, session["id"], 191)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["present"] is True
