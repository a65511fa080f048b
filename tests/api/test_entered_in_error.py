"""A reading entered by mistake: kept in the record, gone from latest values and alarms."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.database import Database
from backend.streaming.models import StreamEvent
from tests.api.alert_support import (
    acknowledged,
    after,
    alarm_session,
    alarms_of,
    bp,
    conditions_open,
    open_alarm,
    record,
    session_with_limits,
    the_alarm,
    tick,
    ward_alarms,
)
from tests.api.support import error_at, message, move, parse_time
from tests.helpers import new_session, readings_of


def mark(
    client: TestClient, session_id: int, reading_id: str, reason: str = "typed 185 for 135"
) -> httpx2.Response:
    return client.post(
        f"/api/sessions/{session_id}/readings/{reading_id}/entered-in-error",
        json={"reason": reason},
    )


def marked(client: TestClient, session_id: int, reading_id: str, reason: str) -> dict[str, Any]:
    response = mark(client, session_id, reading_id, reason)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_marked_reading_stays_in_the_record_but_not_in_latest_values(
    as_nurse: TestClient, as_staff: TestClient
) -> None:
    session = new_session(as_nurse)
    good = record(as_staff, session["id"], heart_rate=72)
    wrong = record(as_staff, session["id"], heart_rate=172, sedation=4, on_oxygen=False)

    body = marked(as_nurse, session["id"], wrong["id"], "  wrong patient  ")
    assert body["entered_in_error_by"] and body["entered_in_error_at"]
    assert body["entered_in_error_reason"] == "wrong patient"

    stored = {r["id"]: r for r in readings_of(as_nurse, session["id"])}
    assert set(stored) == {good["id"], wrong["id"]}
    assert stored[wrong["id"]]["entered_in_error_reason"] == "wrong patient"
    assert stored[wrong["id"]]["sedation"] == 4
    assert stored[good["id"]]["entered_in_error_at"] is None

    latest = as_nurse.get(f"/api/sessions/{session['id']}").json()["latest"]
    assert latest["heart_rate"]["value"] == 72
    assert "sedation" not in latest and "on_oxygen" not in latest


def test_marking_twice_is_a_conflict_naming_who_did_it_first(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    reading = record(as_nurse, session["id"], heart_rate=80)
    marked(as_nurse, session["id"], reading["id"], "artefact")
    again = mark(as_nurse, session["id"], reading["id"])
    assert again.status_code == 409
    assert "already marked" in message(again) and "artefact" in message(again)


def test_bad_requests_say_what_is_wrong(as_nurse: TestClient, as_trainer: TestClient) -> None:
    session = new_session(as_nurse)
    other = new_session(as_nurse)
    reading = record(as_nurse, session["id"], heart_rate=80)

    short = mark(as_nurse, session["id"], reading["id"], " x ")
    assert "at least 3 characters" in error_at(short, "body", "reason")["msg"]
    assert mark(as_nurse, other["id"], reading["id"]).status_code == 404
    assert mark(as_nurse, session["id"], "no-such-reading").status_code == 404
    assert mark(as_trainer, session["id"], reading["id"]).status_code == 403


def test_a_reading_can_be_marked_after_the_session_ended(as_nurse: TestClient) -> None:
    session = new_session(as_nurse)
    reading = record(as_nurse, session["id"], heart_rate=80)
    move(as_nurse, session["id"], "infusing", "recovery", "discharged")
    assert marked(as_nurse, session["id"], reading["id"], "wrong chair")["entered_in_error_at"]


def test_the_alarm_a_mistaken_reading_raised_is_withdrawn_and_the_condition_starts_afresh(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    wrong = record(as_nurse, session["id"], systolic=185, diastolic=85)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (alarm["priority"], alarm["reading_id"]) == ("high", wrong["id"])

    marked(as_nurse, session["id"], wrong["id"], "typed 185 for 135")
    withdrawn = the_alarm(as_nurse, session["id"], "systolic.above")
    assert withdrawn["id"] == alarm["id"]
    assert withdrawn["status"] == "resolved"  # a high alarm latches, but this one never stood
    assert withdrawn["withdrawn_reason"] == "typed 185 for 135"
    assert withdrawn["reading_id"] == wrong["id"]
    assert withdrawn["version"] > alarm["version"]
    assert "systolic.above" not in conditions_open(as_nurse, session["id"])

    # A real high value afterwards alarms again, as a new alarm.
    bp(as_nurse, session["id"], 186, diastolic=85)
    fresh = the_alarm(as_nurse, session["id"], "systolic.above")
    assert fresh["id"] != alarm["id"] and fresh["status"] == "active"


def test_an_alarm_from_another_reading_is_not_withdrawn(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 185, diastolic=85)
    unrelated = record(as_nurse, session["id"], heart_rate=70)
    marked(as_nurse, session["id"], unrelated["id"], "wrong patient")
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"


def test_a_mistaken_baseline_is_not_the_baseline(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 100, diastolic=60)
    wrong = record(as_nurse, session["id"], systolic=150, diastolic=88)
    marked(as_nurse, session["id"], wrong["id"], "cuff on the wrong patient")
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 145, diastolic=70)  # +45 from the true baseline of 100
    assert "baseline 100" in the_alarm(as_nurse, session["id"], "baseline_rise")["message"]


def test_every_open_page_hears_of_it(as_nurse: TestClient, database: Database) -> None:
    session = new_session(as_nurse)
    reading = record(as_nurse, session["id"], heart_rate=80)
    marked(as_nurse, session["id"], reading["id"], "artefact")
    with database.unit_of_work(write=False) as db:
        events = db.scalars(
            select(StreamEvent).where(
                StreamEvent.session_id == session["id"],
                StreamEvent.kind == "reading.entered_in_error",
            )
        ).all()
        assert [e.payload["id"] for e in events] == [reading["id"]]
        assert events[0].payload["entered_in_error_reason"] == "artefact"


def test_an_alarm_that_real_values_also_breached_stays_when_its_first_reading_is_struck(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    first = record(as_nurse, session["id"], systolic=185, diastolic=85)
    real = record(as_nurse, session["id"], systolic=182, diastolic=84)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert alarm["reading_id"] == first["id"]  # the reading that raised it

    marked(as_nurse, session["id"], first["id"], "cuff on the wrong arm")
    kept = the_alarm(as_nurse, session["id"], "systolic.above")
    assert kept["id"] == alarm["id"] and kept["status"] == "active"
    assert kept["withdrawn_reason"] is None
    assert kept["reading_id"] == real["id"]  # now stands on the real value


def test_a_latched_alarm_whose_only_breach_was_a_mistake_is_withdrawn(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    wrong = record(as_nurse, session["id"], systolic=190, diastolic=85)
    bp(as_nurse, session["id"], 130, diastolic=82)  # back in range: the high alarm latches
    latched = the_alarm(as_nurse, session["id"], "systolic.above")
    assert latched["status"] == "active" and latched["present"] is False

    marked(as_nurse, session["id"], wrong["id"], "typed 190 for 130")
    withdrawn = the_alarm(as_nurse, session["id"], "systolic.above")
    assert withdrawn["status"] == "resolved" and withdrawn["withdrawn_reason"]


def _report_row(client: TestClient, session_id: int, alert_id: int) -> str:
    response = client.get(f"/api/sessions/{session_id}/report")
    assert response.status_code == 200, response.text
    row = re.search(rf'<tr class="[^"]*" data-alarm-id="{alert_id}">.*?</tr>', response.text, re.S)
    assert row, f"alarm {alert_id} is not in the report"
    return row.group(0)


def test_an_alarm_raised_on_the_clock_after_its_delay_is_withdrawn_with_its_reading(
    as_nurse: TestClient, database: Database
) -> None:
    """Issue 11: the clock raised it with no reading, so striking the reading left it latched
    and escalated, on the ward and on the session record."""
    session = alarm_session(as_nurse)  # the clinic's default: a 10 s delay, escalation at 2 min
    wrong = record(as_nurse, session["id"], heart_rate=150)  # typed for 105; nothing yet
    tick(database, session["id"], after(wrong["received_at"], 11))
    raised = open_alarm(as_nurse, session["id"], "heart_rate.above")()
    assert raised is not None and raised["reading_id"] == wrong["id"]
    tick(database, session["id"], after(raised["raised_at"], 121))
    assert the_alarm(as_nurse, session["id"], "heart_rate.above")["escalated"]

    marked(as_nurse, session["id"], wrong["id"], "typed 150 for 105")
    withdrawn = the_alarm(as_nurse, session["id"], "heart_rate.above")
    assert withdrawn["id"] == raised["id"]
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == ("resolved", "typed 150 for 105")
    assert raised["id"] not in {a["id"] for a in ward_alarms(as_nurse)}

    row = _report_row(as_nurse, session["id"], raised["id"])
    assert "withdrawn" in row.split(">", 1)[0]  # the row is marked as such
    assert "Withdrawn" in row and "typed 150 for 105" in row
    assert "still open" not in row
    assert "before it was withdrawn" in row  # it did escalate, and the record says what followed


def test_a_delay_still_running_on_a_struck_reading_never_completes(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)  # the default heart-rate delay: 10 s
    wrong = record(as_nurse, session["id"], heart_rate=150)
    marked(as_nurse, session["id"], wrong["id"], "wrong patient")
    tick(database, session["id"], after(wrong["received_at"], 11))
    tick(database, session["id"], after(wrong["received_at"], 60))
    assert "heart_rate.above" not in conditions_open(as_nurse, session["id"])


# ---- issue 14 (7a): re-judged on the valid readings that remain --------------------------------


def _changes(database: Database, session_id: int, alert_id: int) -> list[list[str]]:
    """The `changes` of every stream event about one alarm, oldest first."""
    with database.unit_of_work(write=False) as db:
        events = db.scalars(
            select(StreamEvent)
            .where(StreamEvent.kind == "alert.changed", StreamEvent.session_id == session_id)
            .order_by(StreamEvent.seq)
        ).all()
        return [e.payload["changes"] for e in events if e.payload["id"] == alert_id]


def test_striking_the_reading_that_cleared_an_alarm_reopens_it_on_the_value_that_stands(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    high = record(as_nurse, session["id"], systolic=170, diastolic=85)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (alarm["priority"], alarm["status"]) == ("medium", "active")
    wrong = record(as_nurse, session["id"], systolic=120, diastolic=80)  # typed for 170
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "resolved"

    marked(as_nurse, session["id"], wrong["id"], "typed 120 for 170")
    reopened = the_alarm(as_nurse, session["id"], "systolic.above")
    # The same alarm: its resolution stood on a value that never existed.
    assert reopened["id"] == alarm["id"]
    assert (reopened["status"], reopened["present"], reopened["priority"]) == (
        "active",
        True,
        "medium",
    )
    assert reopened["resolved_at"] is None and reopened["withdrawn_reason"] is None
    assert reopened["raised_at"] == alarm["raised_at"]  # the breach began with the 170
    assert reopened["alerted_at"] > alarm["alerted_at"]  # and it demands attention again
    assert reopened["reading_id"] == high["id"] and reopened["value"] == 170
    assert _changes(database, session["id"], alarm["id"])[-1] == ["reopened", "raised"]
    # The condition follows the 170 again: a real 120 now clears it, as it would have.
    bp(as_nurse, session["id"], 120, diastolic=80)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "resolved"


def test_striking_a_value_that_broke_a_breach_lets_the_delay_count_from_its_start(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    """Heart rate 130 for 20 s (delay 10 s), but a mistaken 100 in the middle restarted the run:
    no alarm. Without the mistake the breach lasted long enough."""

    def delayed(limits: dict[str, Any]) -> None:
        limits["phases"]["baseline"]["vitals"]["heart_rate"]["delay_s"] = 10

    session = session_with_limits(as_admin, as_nurse, delayed)
    now = datetime.now(UTC)
    taken = [
        record(
            as_nurse,
            session["id"],
            heart_rate=value,
            taken_at=(now + timedelta(seconds=seconds)).isoformat(),
        )
        for seconds, value in ((-20, 130), (-16, 130), (-12, 100), (-6, 130), (-1, 130))
    ]
    first, wrong = taken[0], taken[2]
    assert "heart_rate.above" not in conditions_open(as_nurse, session["id"])

    marked(as_nurse, session["id"], wrong["id"], "artefact: probe off")
    alarm = the_alarm(as_nurse, session["id"], "heart_rate.above")
    assert (alarm["status"], alarm["priority"]) == ("active", "medium")
    assert alarm["reading_id"] == first["id"]  # it stands on the reading that began the breach
    assert parse_time(alarm["raised_at"]) <= now - timedelta(seconds=9)


def test_a_struck_reading_never_keeps_an_alarm_alive(as_nurse: TestClient) -> None:
    """Kills dropping `entered_in_error_at IS NULL` from the withdrawal query: two mistaken
    values, both struck, must not stand behind each other's alarm."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    wrong = record(as_nurse, session["id"], systolic=185, diastolic=85)
    also_wrong = record(as_nurse, session["id"], systolic=182, diastolic=84)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert alarm["reading_id"] == wrong["id"]

    marked(as_nurse, session["id"], also_wrong["id"], "same cuff, wrong patient")
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"
    marked(as_nurse, session["id"], wrong["id"], "cuff on the wrong patient")
    withdrawn = the_alarm(as_nurse, session["id"], "systolic.above")
    assert withdrawn["id"] == alarm["id"]
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == (
        "resolved",
        "cuff on the wrong patient",
    )


def test_a_breach_after_an_alarm_ended_does_not_keep_it_from_being_withdrawn(
    as_nurse: TestClient,
) -> None:
    """Kills dropping `taken_at <= until` from the withdrawal query: a real breach that came
    after the mistaken alarm was over is another alarm's business."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    wrong = record(as_nurse, session["id"], systolic=185, diastolic=85)
    bp(as_nurse, session["id"], 130, diastolic=82)  # the high alarm latches...
    past = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    assert past["status"] == "resolved"  # ... and is over once acknowledged
    real = record(as_nurse, session["id"], systolic=186, diastolic=85)
    current = the_alarm(as_nurse, session["id"], "systolic.above")
    assert current["id"] != past["id"]

    marked(as_nurse, session["id"], wrong["id"], "typed 185 for 135")
    alarms = {a["id"]: a for a in alarms_of(as_nurse, session["id"])}
    assert alarms[past["id"]]["withdrawn_reason"] == "typed 185 for 135"
    assert alarms[past["id"]]["reading_id"] == wrong["id"]
    assert alarms[current["id"]]["status"] == "active"
    assert alarms[current["id"]]["reading_id"] == real["id"]


def test_a_breach_before_the_struck_reading_does_not_keep_its_alarm(as_nurse: TestClient) -> None:
    """Kills dropping `taken_at >= struck.taken_at` from the withdrawal query: an earlier real
    breach, whose own alarm was answered, does not stand behind a later mistaken one."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 185, diastolic=85)
    bp(as_nurse, session["id"], 130, diastolic=82)
    acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    wrong = record(as_nurse, session["id"], systolic=190, diastolic=85)
    mistaken = the_alarm(as_nurse, session["id"], "systolic.above")
    assert mistaken["reading_id"] == wrong["id"] and mistaken["status"] == "active"

    marked(as_nurse, session["id"], wrong["id"], "typed 190 for 130")
    withdrawn = the_alarm(as_nurse, session["id"], "systolic.above")
    assert withdrawn["id"] == mistaken["id"]
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == ("resolved", "typed 190 for 130")
    assert "systolic.above" not in conditions_open(as_nurse, session["id"])


def test_a_priority_only_a_struck_value_reached_drops_back(as_nurse: TestClient) -> None:
    """A real 165 raised a medium alarm; a mistaken 185 made it high, so it would latch and
    stay high on a value that never existed."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    real = record(as_nurse, session["id"], systolic=165, diastolic=85)
    wrong = record(as_nurse, session["id"], systolic=185, diastolic=85)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (alarm["priority"], alarm["reading_id"]) == ("high", real["id"])

    marked(as_nurse, session["id"], wrong["id"], "typed 185 for 165")
    lowered = the_alarm(as_nurse, session["id"], "systolic.above")
    assert lowered["id"] == alarm["id"]
    assert (lowered["priority"], lowered["status"], lowered["present"]) == (
        "medium",
        "active",
        True,
    )
    assert (lowered["value"], lowered["limit"]) == (165, 160)
    assert "165" in lowered["message"] and "185" not in lowered["message"]
    # Now medium, it does not latch: a real 130 clears it.
    bp(as_nurse, session["id"], 130, diastolic=80)
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "resolved"


def test_a_high_priority_a_real_value_also_reached_stays(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    record(as_nurse, session["id"], systolic=165, diastolic=85)
    record(as_nurse, session["id"], systolic=183, diastolic=85)  # real, and high
    wrong = record(as_nurse, session["id"], systolic=195, diastolic=85)
    marked(as_nurse, session["id"], wrong["id"], "typed 195 for 183")
    assert the_alarm(as_nurse, session["id"], "systolic.above")["priority"] == "high"
