"""Alarms raised on ingest and their lifecycle: active → acknowledged → resolved, latching,
hysteresis, break-through, the ward summary, and who may acknowledge."""

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.alert_support import (
    acknowledge,
    acknowledged,
    alarm_session,
    alarms_of,
    bp,
    open_alarms_of,
    record,
    the_alarm,
    wait_for,
    ward_alarms,
    ward_tile,
)
from tests.api.support import iso, message, move, parse_time, patient_id, simulated_session


def test_a_systolic_of_190_raises_a_high_alarm_visible_as_soon_as_the_reading_is_stored(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    reading = record(as_nurse, session["id"], systolic=190, diastolic=90)

    (alarm,) = open_alarms_of(as_nurse, session["id"])
    assert alarm["condition"] == "systolic.above"
    assert alarm["kind"] == "physiological"
    assert alarm["priority"] == "high"
    assert alarm["status"] == "active"
    assert alarm["present"] is True
    assert alarm["value"] == 190
    assert "190" in alarm["message"] and "180" in alarm["message"]
    # Decided in the ingest transaction, on the server's clock of that reading.
    assert parse_time(alarm["raised_at"]) == parse_time(reading["received_at"])
    assert alarm["id"] in {a["id"] for a in ward_alarms(as_nurse)}


def test_an_alarm_names_the_limit_its_value_crossed(as_nurse: TestClient) -> None:
    """Screens show the crossed limit beside the value (196 > 180), so the alarm says which."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    medium = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (medium["priority"], medium["value"], medium["limit"]) == ("medium", 165, 160)

    bp(as_nurse, session["id"], 196, 100)
    high = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (high["priority"], high["value"], high["limit"]) == ("high", 196, 180)
    assert high["limit"] == next(a for a in ward_alarms(as_nurse) if a["id"] == high["id"])["limit"]


def test_the_clinic_list_puts_higher_priorities_first(as_nurse: TestClient) -> None:
    medium, high = alarm_session(as_nurse), alarm_session(as_nurse)
    bp(as_nurse, medium["id"], 165)
    bp(as_nurse, high["id"], 185)
    mine = [a for a in ward_alarms(as_nurse) if a["session_id"] in (medium["id"], high["id"])]
    assert [a["session_id"] for a in mine] == [high["id"], medium["id"]]
    priorities = [a["priority"] for a in ward_alarms(as_nurse)]
    rank = {"high": 0, "medium": 1, "low": 2}
    assert priorities == sorted(priorities, key=rank.__getitem__)


def test_values_within_the_limits_raise_nothing(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    record(as_nurse, session["id"], systolic=160, diastolic=100, heart_rate=80, spo2=97)
    assert alarms_of(as_nurse, session["id"]) == []


def test_a_medium_alarm_resolves_itself_when_the_value_comes_back(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    raised = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (raised["priority"], raised["status"]) == ("medium", "active")

    bp(as_nurse, session["id"], 130)
    resolved = the_alarm(as_nurse, session["id"], "systolic.above")
    assert resolved["id"] == raised["id"]
    assert resolved["status"] == "resolved"
    assert resolved["present"] is False
    assert resolved["resolved_at"] is not None
    assert resolved["acknowledged_by"] is None
    assert raised["id"] not in {a["id"] for a in ward_alarms(as_nurse)}


def test_a_high_alarm_latches_after_the_value_recovers_until_acknowledged(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190)
    bp(as_nurse, session["id"], 120)

    latched = the_alarm(as_nurse, session["id"], "systolic.above")
    assert latched["status"] == "active"
    assert latched["priority"] == "high"
    assert latched["present"] is False
    assert ward_tile(as_nurse, session["id"])["alert"]["priority"] == "high"

    done = acknowledged(as_nurse, latched["id"], "rechecked manually, 122/78")
    assert done["status"] == "resolved"
    assert done["acknowledged_by"] == "test-nurse"
    assert open_alarms_of(as_nurse, session["id"]) == []


def test_a_latched_high_alarm_does_not_drop_to_medium_while_nobody_has_seen_it(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190)
    bp(as_nurse, session["id"], 165)
    (alarm,) = open_alarms_of(as_nurse, session["id"])
    assert (alarm["priority"], alarm["status"], alarm["present"]) == ("high", "active", True)


def test_acknowledging_records_who_when_and_the_note(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")

    done = acknowledged(as_nurse, alarm["id"], "paused infusion, repeat BP in 5 min")
    assert done["status"] == "acknowledged"
    assert done["acknowledged_by"] == "test-nurse"
    assert done["note"] == "paused infusion, repeat BP in 5 min"
    assert parse_time(done["acknowledged_at"]) >= parse_time(done["raised_at"])
    assert done["present"] is True
    assert the_alarm(as_nurse, session["id"], "systolic.above") == done
    # Still open: acknowledged is not resolved while the value is out of range.
    assert done["id"] in {a["id"] for a in ward_alarms(as_nurse)}


def test_an_acknowledged_alarm_resolves_when_the_condition_clears(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    alarm = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    bp(as_nurse, session["id"], 130)
    after = the_alarm(as_nurse, session["id"], "systolic.above")
    assert after["id"] == alarm["id"]
    assert after["status"] == "resolved"
    assert after["acknowledged_by"] == "test-nurse"


def test_acknowledging_without_a_note_is_allowed(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    done = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    assert done["status"] == "acknowledged"
    assert done["note"] is None


def test_acknowledging_a_resolved_alarm_is_409(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    bp(as_nurse, session["id"], 130)
    resolved = the_alarm(as_nurse, session["id"], "systolic.above")
    response = acknowledge(as_nurse, resolved["id"], "too late")
    assert response.status_code == 409, response.text
    assert "resolved" in message(response)
    assert the_alarm(as_nurse, session["id"], "systolic.above") == resolved


def test_acknowledging_an_unknown_alarm_is_404(as_nurse: TestClient) -> None:
    response = acknowledge(as_nurse, 987654321)
    assert response.status_code == 404, response.text


def test_an_acknowledgement_note_over_1000_characters_is_422(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    response = acknowledge(as_nurse, alarm["id"], "x" * 1001)
    assert response.status_code == 422, response.text
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"


def test_a_trainer_cannot_acknowledge_an_alarm_of_a_real_patient(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    response = acknowledge(as_trainer, alarm["id"])
    assert response.status_code == 403, response.text
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"


def test_staff_and_nurses_acknowledge_alarms(
    as_nurse: TestClient, as_staff: TestClient, as_admin: TestClient
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165, diastolic=105, heart_rate=70)
    systolic = the_alarm(as_nurse, session["id"], "systolic.above")
    diastolic = the_alarm(as_nurse, session["id"], "diastolic.above")
    assert acknowledged(as_staff, systolic["id"])["acknowledged_by"] == "test-staff"
    assert acknowledged(as_nurse, diastolic["id"])["acknowledged_by"] == "test-nurse"


def test_a_trainer_acknowledges_the_alarms_of_a_simulated_session(
    as_trainer: TestClient,
) -> None:
    session = simulated_session(as_trainer, patient_id(as_trainer))
    bp(as_trainer, session["id"], 190)
    alarm = the_alarm(as_trainer, session["id"], "systolic.above")
    assert acknowledged(as_trainer, alarm["id"])["acknowledged_by"] == "test-trainer"


def test_a_worse_value_breaks_through_an_acknowledgement(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    first = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])

    bp(as_nurse, session["id"], 190)
    worse = the_alarm(as_nurse, session["id"], "systolic.above")
    assert worse["id"] == first["id"]
    assert worse["priority"] == "high"
    assert worse["status"] == "active"
    assert parse_time(worse["alerted_at"]) > parse_time(first["acknowledged_at"])
    assert ward_tile(as_nurse, session["id"])["alert"]["priority"] == "high"


def test_a_value_no_worse_than_acknowledged_stays_acknowledged(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    first = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    bp(as_nurse, session["id"], 170)
    again = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (again["id"], again["status"], again["priority"]) == (
        first["id"],
        "acknowledged",
        "medium",
    )


def test_a_value_hovering_just_inside_the_limit_keeps_the_alarm_instead_of_flapping(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    for systolic in (165, 158, 163, 157, 161, 156):  # limit 160, hysteresis 5
        bp(as_nurse, session["id"], systolic)
    (alarm,) = alarms_of(as_nurse, session["id"])
    assert alarm["status"] == "active"

    bp(as_nurse, session["id"], 155)  # back inside by the full margin
    (alarm,) = alarms_of(as_nurse, session["id"])
    assert alarm["status"] == "resolved"


def test_a_new_breach_after_resolution_raises_a_new_alarm(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    bp(as_nurse, session["id"], 150)
    bp(as_nurse, session["id"], 166)
    alarms = alarms_of(as_nurse, session["id"])
    assert [a["status"] for a in alarms] == ["active", "resolved"]  # open ones first
    assert len({a["id"] for a in alarms}) == 2


def test_low_limits_alarm_too(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 85, diastolic=50)
    alarm = the_alarm(as_nurse, session["id"], "systolic.below")
    assert alarm["priority"] == "medium"
    assert "85" in alarm["message"]


def test_a_manual_entry_of_a_high_diastolic_raises_its_own_alarm(as_staff: TestClient) -> None:
    session = alarm_session(as_staff)
    bp(as_staff, session["id"], 150, diastolic=112)
    alarm = the_alarm(as_staff, session["id"], "diastolic.above")
    assert alarm["priority"] == "high"
    assert not any(a["condition"] == "systolic.above" for a in alarms_of(as_staff, session["id"]))


def test_a_resent_reading_does_not_raise_its_alarm_again(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    reading_id = str(uuid.uuid4())
    stored = as_nurse.post(
        f"/api/sessions/{session['id']}/readings", json={"id": reading_id, "systolic": 165}
    )
    assert stored.status_code == 201, stored.text
    bp(as_nurse, session["id"], 130)
    again = as_nurse.post(
        f"/api/sessions/{session['id']}/readings", json={"id": reading_id, "systolic": 165}
    )
    assert again.status_code in (200, 201), again.text
    (alarm,) = alarms_of(as_nurse, session["id"])
    assert alarm["status"] == "resolved"


def test_a_batch_is_evaluated_in_the_order_the_values_were_taken(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    start = parse_time(session["created_at"])
    taken = [
        {"systolic": value, "taken_at": iso(start + timedelta(seconds=offset))}
        for offset, value in enumerate((120, 190, 125))
    ]
    response = as_nurse.post(
        f"/api/sessions/{session['id']}/readings/batch", json={"readings": taken[::-1]}
    )
    assert response.status_code == 201, response.text
    # 190 raised a high alarm, which latched when 125 followed it.
    (alarm,) = alarms_of(as_nurse, session["id"])
    assert (alarm["priority"], alarm["status"], alarm["present"]) == ("high", "active", False)


def test_the_ward_list_carries_each_sessions_highest_open_alarm(as_nurse: TestClient) -> None:
    calm, busy = alarm_session(as_nurse), alarm_session(as_nurse)
    bp(as_nurse, busy["id"], 165, diastolic=112)  # systolic medium, diastolic high

    assert ward_tile(as_nurse, calm["id"])["alert"] == {
        "priority": None,
        "count": 0,
        "escalated": False,
    }
    assert ward_tile(as_nurse, busy["id"])["alert"] == {
        "priority": "high",
        "count": 2,
        "escalated": False,
    }
    assert as_nurse.get(f"/api/sessions/{busy['id']}").json()["alert"]["count"] == 2

    bp(as_nurse, busy["id"], 165, diastolic=90)  # the diastolic alarm latches: still high
    diastolic = the_alarm(as_nurse, busy["id"], "diastolic.above")
    acknowledged(as_nurse, diastolic["id"])
    assert ward_tile(as_nurse, busy["id"])["alert"] == {
        "priority": "medium",
        "count": 1,
        "escalated": False,
    }


def test_the_alarms_of_an_unknown_session_are_404(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/sessions/987654321/alerts")
    assert response.status_code == 404, response.text


def test_alarms_need_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/api/alerts").status_code == 401
    assert client.post("/api/alerts/1/acknowledge", json={}).status_code == 401


def test_the_alarms_of_a_session_that_ends_are_resolved(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190, diastolic=105)
    assert len(open_alarms_of(as_nurse, session["id"])) == 2
    move(as_nurse, session["id"], "stopped")

    wait_for(lambda: open_alarms_of(as_nurse, session["id"]) == [], what="the alarms to close")
    assert {a["status"] for a in alarms_of(as_nurse, session["id"])} == {"resolved"}
    assert not any(a["session_id"] == session["id"] for a in ward_alarms(as_nurse))


def test_a_latched_alarm_breached_again_is_present_so_acknowledging_does_not_close_it(
    as_nurse: TestClient,
) -> None:
    """Issue 11: the 191 re-marked nothing, and Acknowledge closed the alarm while SBP was 191."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 190)
    bp(as_nurse, session["id"], 120)  # recovered: the high alarm latches
    bp(as_nurse, session["id"], 191)  # and breaches again

    again = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (again["status"], again["present"], again["value"]) == ("active", True, 191)
    assert "191" in again["message"]

    seen = acknowledged(as_nurse, again["id"], "repeated the cuff, doctor called")
    assert (seen["status"], seen["present"]) == ("acknowledged", True)
    assert [a["id"] for a in open_alarms_of(as_nurse, session["id"])] == [again["id"]]

    bp(as_nurse, session["id"], 150)  # cleared now, and it was acknowledged: it ends
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "resolved"
