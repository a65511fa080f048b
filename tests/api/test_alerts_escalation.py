"""Escalation belongs to each unanswered episode (issue 14, 7b): a reminder left unanswered and a
priority made worse escalate again, on the screens, the stream and the paging webhook."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.alerts import clock
from backend.core.database import Database
from backend.core.roles import Role
from backend.streaming.models import StreamEvent
from tests.api.alert_support import (
    acknowledged,
    alarm_session,
    bp,
    default_limits,
    session_with_limits,
    the_alarm,
    wait_for,
    ward_tile,
)
from tests.api.support import parse_time
from tests.api.test_alerts_timers import TICK, own_database, running, webhook


def _escalations_streamed(database: Database, session_id: int, alert_id: int) -> int:
    with database.unit_of_work(write=False) as db:
        events = db.scalars(
            select(StreamEvent).where(
                StreamEvent.kind == "alert.changed", StreamEvent.session_id == session_id
            )
        ).all()
        return sum(
            1 for e in events if e.payload["id"] == alert_id and "escalated" in e.payload["changes"]
        )


def _tick(database: Database, session_id: int, at: Any) -> list[int]:
    """The alarm clock, at an instant of the test's choosing; the ids it escalated."""
    with database.unit_of_work(write=True) as db:
        return [a.id for a in clock.tick_session(db, session_id, at)]


def test_a_reminder_left_unanswered_escalates_again(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190, diastolic=80)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    raised_at = parse_time(alarm["alerted_at"])

    assert _tick(database, session["id"], raised_at + timedelta(seconds=119)) == []
    assert _tick(database, session["id"], raised_at + timedelta(seconds=121)) == [alarm["id"]]
    first = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (first["escalated"], first["escalations"]) == (True, 1)

    seen = acknowledged(as_nurse, alarm["id"], "called the doctor")
    reminder_at = parse_time(seen["acknowledged_at"]) + timedelta(seconds=181)
    assert _tick(database, session["id"], reminder_at) == []
    reminded = the_alarm(as_nurse, session["id"], "systolic.above")
    assert reminded["status"] == "active"
    # Unanswered again, but not yet for long: this episode has not escalated (yet).
    assert (reminded["escalated"], reminded["escalations"]) == (False, 1)
    assert ward_tile(as_nurse, session["id"])["alert"]["escalated"] is False

    assert _tick(database, session["id"], reminder_at + timedelta(seconds=121)) == [alarm["id"]]
    again = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (again["escalated"], again["escalations"]) == (True, 2)
    assert parse_time(again["escalated_at"]) >= reminder_at + timedelta(seconds=121)
    assert ward_tile(as_nurse, session["id"])["alert"]["escalated"] is True
    assert _escalations_streamed(database, session["id"], alarm["id"]) == 2
    # Once per episode: more time changes nothing.
    assert _tick(database, session["id"], reminder_at + timedelta(seconds=600)) == []


def test_a_worse_priority_left_unanswered_escalates_again(
    as_admin: TestClient, as_nurse: TestClient, database: Database
) -> None:
    def quick(limits: dict[str, Any]) -> None:
        limits["timing"]["escalate_after_s"] = 0.5

    session = session_with_limits(as_admin, as_nurse, quick)
    bp(as_nurse, session["id"], 165, diastolic=80)  # medium
    wait_for(
        lambda: the_alarm(as_nurse, session["id"], "systolic.above")["escalated"],
        timeout=5,
        what="the first escalation",
    )
    bp(as_nurse, session["id"], 190, diastolic=80)  # worse: it demands attention anew
    worse = the_alarm(as_nurse, session["id"], "systolic.above")
    assert worse["priority"] == "high"
    again = wait_for(
        lambda: (
            (a := the_alarm(as_nurse, session["id"], "systolic.above"))["escalations"] == 2 and a
        ),
        timeout=5,
        what="the second escalation",
    )
    assert again["escalated"] is True and again["id"] == worse["id"]
    assert parse_time(again["escalated_at"]) - parse_time(worse["alerted_at"]) >= timedelta(
        seconds=0.5
    )
    assert _escalations_streamed(database, session["id"], worse["id"]) == 2


def test_each_escalation_is_sent_to_the_paging_webhook(tmp_path: Path) -> None:
    with own_database(tmp_path) as (settings, tokens), webhook() as (url, received, _):
        with running(settings, tokens[Role.ADMIN]) as admin:
            limits = default_limits(admin)
            limits["timing"]["escalate_after_s"] = 0.3
            limits["timing"]["reminder_s"] = 0.6
            created = admin.post("/api/limits/profiles", json={"name": "Fast", "limits": limits})
            assert created.status_code == 201, created.text
        with running(
            settings, tokens[Role.NURSE], alert_tick_seconds=TICK, escalation_webhook_url=url
        ) as nurse:
            session = alarm_session(nurse, limit_profile_id=created.json()["id"])
            bp(nurse, session["id"], 190, diastolic=80)
            wait_for(lambda: received, what="the first page")
            alarm = the_alarm(nurse, session["id"], "systolic.above")
            acknowledged(nurse, alarm["id"])  # answered, but it stays: reminded, unanswered
            wait_for(lambda: len(received) >= 2, what="the second page")
    first, second = received[:2]
    assert first["alert"]["id"] == second["alert"]["id"] == alarm["id"]
    assert (first["alert"]["escalations"], second["alert"]["escalations"]) == (1, 2)
    assert second["alert"]["escalated_at"] > first["alert"]["escalated_at"]


def test_the_session_record_says_how_often_an_alarm_escalated(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190, diastolic=80)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    _tick(database, session["id"], parse_time(alarm["alerted_at"]) + timedelta(seconds=121))
    seen = acknowledged(as_nurse, alarm["id"])
    reminder_at = parse_time(seen["acknowledged_at"]) + timedelta(seconds=181)
    _tick(database, session["id"], reminder_at)
    _tick(database, session["id"], reminder_at + timedelta(seconds=121))

    response = as_nurse.get(f"/api/sessions/{session['id']}/report")
    assert response.status_code == 200, response.text
    row = re.search(rf'data-alarm-id="{alarm["id"]}">.*?</tr>', response.text, re.S)
    assert row is not None
    assert "escalated 2 times, last" in row.group(0)
