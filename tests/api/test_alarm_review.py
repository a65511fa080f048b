"""The alarm review (issue 16, 4): GET /api/alarm-review and its CSV, for admins only; the
figures of a chair's alarms, real and simulated apart, the limit changes of the period, the
optional "actionable?" answer at acknowledgement, and refusals of bad or hostile input."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.alerts import acknowledgement
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.roles import Role
from tests.api.alert_support import (
    acknowledge,
    alarm_session,
    bp,
    default_limits,
    new_profile,
    set_limits,
    the_alarm,
    tick,
    vital_limit,
)
from tests.api.support import error_at, iso, now, parse_time

NURSE = Actor(kind="user", id=0, name="review-nurse", role=Role.NURSE)


def period(**more: Any) -> dict[str, Any]:
    """The last hour and the next: every alarm a test just raised is inside it."""
    moment = now()
    return {
        "start": iso(moment - timedelta(hours=1)),
        "end": iso(moment + timedelta(hours=1)),
        **more,
    }


def review(admin: TestClient, **params: Any) -> dict[str, Any]:
    response = admin.get("/api/alarm-review", params=period(**params))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ack_at(database: Database, alert_id: int, at: datetime, actionable: bool | None) -> None:
    """Acknowledge at a moment of the test's choosing, as the route does at utcnow()."""
    with database.unit_of_work(write=True) as db:
        acknowledgement.acknowledge(db, alert_id, NURSE, None, at, actionable)


def test_a_chairs_alarms_give_the_reviews_figures(
    as_nurse: TestClient, as_admin: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    sid = session["id"]
    bp(as_nurse, sid, 165)  # medium: resolves by itself, unanswered
    bp(as_nurse, sid, 130)
    bp(as_nurse, sid, 190)  # high: escalates, then acknowledged 125 s after it sounded
    high = the_alarm(as_nurse, sid, "systolic.above")
    sounded = parse_time(high["alerted_at"])
    assert [a.id for a in tick(database, sid, sounded + timedelta(seconds=121))] == [high["id"]]
    ack_at(database, high["id"], sounded + timedelta(seconds=125), actionable=True)
    bp(as_nurse, sid, 120, heart_rate=150)  # clears the systolic; a heart rate alarm stays open

    body = review(as_admin, chair=session["chair_id"])
    assert body["sessions_shown"] == "real"
    assert body["sessions"] == 1
    conditions = {c["condition"]: c for c in body["top_conditions"]}
    assert conditions["systolic.above"]["alarms"] == 2
    assert conditions["systolic.above"]["label"] == "Systolic BP high"
    assert body["alarms"] == sum(c["alarms"] for c in body["top_conditions"])
    assert body["escalations"] == 1
    assert body["escalated_alarms"] == 1
    # The medium one came and went unanswered; the high one cleared after its acknowledgement.
    assert (body["resolved"], body["resolved_before_ack"]) == (2, 1)
    assert body["resolved_before_ack_share"] == 0.5
    assert body["ack"]["count"] == 1
    assert body["ack"]["median_s"] == body["ack"]["p90_s"] == 125
    assert dict(map(tuple, body["ack"]["bins"]))["2–5 min"] == 1
    assert body["actionable"] == {"yes": 1, "no": 0, "answered": 1, "share": 1.0}
    (line,) = body["by_chair"]
    assert line["chair_id"] == session["chair_id"]
    assert line["chair"] == session["chair"]
    # The session opened seconds ago: a sliver of a chair-hour, and the rate over it.
    assert 0 < body["chair_hours"] < 0.1
    assert body["per_chair_hour"] == pytest.approx(body["alarms"] / body["chair_hours"], rel=0.02)


def test_times_to_acknowledge_give_the_median_and_90th_percentile(
    as_nurse: TestClient, as_admin: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    for delay in (30, 90):
        bp(as_nurse, session["id"], 190)
        alarm = the_alarm(as_nurse, session["id"], "systolic.above")
        bp(as_nurse, session["id"], 120)  # latched until acknowledged
        ack_at(
            database, alarm["id"], parse_time(alarm["alerted_at"]) + timedelta(seconds=delay), None
        )
    body = review(as_admin, chair=session["chair_id"])
    assert body["ack"]["count"] == 2
    assert body["ack"]["median_s"] == 60
    assert body["ack"]["p90_s"] == pytest.approx(84)
    assert body["actionable"]["answered"] == 0
    assert body["actionable"]["share"] is None
    # A latched alarm resolved by its acknowledgement was answered: not "resolved before ack".
    assert (body["resolved"], body["resolved_before_ack"]) == (2, 0)


def test_simulated_sessions_are_reviewed_apart_never_mixed_with_the_clinics(
    as_trainer: TestClient, as_admin: TestClient
) -> None:
    session = alarm_session(as_trainer, simulated=True)
    bp(as_trainer, session["id"], 165)
    real = review(as_admin, chair=session["chair_id"])
    assert (real["alarms"], real["sessions"], real["by_chair"]) == (0, 0, [])
    simulated = review(as_admin, chair=session["chair_id"], sessions="simulated")
    assert (simulated["alarms"], simulated["sessions"]) == (1, 1)
    assert simulated["sessions_shown"] == "simulated"


def test_the_periods_limit_changes_of_a_profile_and_its_sessions(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    limits = default_limits(as_admin)
    profile = new_profile(as_admin, limits)
    limits["phases"]["baseline"]["vitals"]["systolic"]["above"]["medium"] = 170
    changed = as_admin.put(
        f"/api/limits/profiles/{profile['id']}", json={"name": profile["name"], "limits": limits}
    )
    assert changed.status_code == 200, changed.text
    session = alarm_session(as_nurse, limit_profile_id=profile["id"])
    set_limits(as_nurse, session["id"], {"baseline": {"systolic": vital_limit(above=(200, 220))}})
    bp(as_nurse, session["id"], 205)

    body = review(as_admin, profile=profile["id"])
    changes = body["limit_changes"]
    assert (changes["total"], changes["profile_changes"], changes["session_changes"]) == (3, 2, 1)
    assert changes["sessions_with_changes"] == 1
    on_session, updated, created = changes["listed"]  # newest first
    assert (on_session["scope"], on_session["session_id"]) == ("session", session["id"])
    assert session["chair"] in on_session["chair"]
    # The session's first override of its own: its values, not a "created" profile.
    assert {"path": "baseline.systolic.above.medium", "old": None, "new": 200} in on_session[
        "edits"
    ]
    assert "created" not in [e["path"] for e in on_session["edits"]]
    assert updated["edits"] == [
        {"path": "phases.baseline.vitals.systolic.above.medium", "old": 160, "new": 170}
    ]
    assert created["edits"] == [{"path": "created", "old": None, "new": profile["name"]}]
    assert [p["profile_id"] for p in body["by_profile"]] == [profile["id"]]
    assert body["alarms"] == 1


def test_only_admins_see_the_review(
    as_nurse: TestClient, as_staff: TestClient, as_trainer: TestClient, client: TestClient
) -> None:
    for who in (as_nurse, as_staff, as_trainer):
        assert who.get("/api/alarm-review", params=period()).status_code == 403
        assert who.get("/api/alarm-review.csv", params=period()).status_code == 403
    client.cookies.clear()
    assert client.get("/api/alarm-review", params=period()).status_code == 401


def test_the_csv_export_has_the_same_figures_and_is_audited(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    response = as_admin.get("/api/alarm-review.csv", params=period(chair=session["chair_id"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "item", "measure", "value"]
    summary = {r[2]: r[3] for r in rows if r[0] == "summary"}
    assert summary["alarms"] == "1"
    assert ["condition", "Systolic BP high", "alarms", "1"] in rows
    assert any(r[0] == "chair" and r[1].endswith(session["chair"]) for r in rows)

    audited = as_admin.get("/api/audit", params={"action": "alarm_review.export"}).json()["items"]
    assert audited[0]["actor_name"] == "test-admin"
    assert audited[0]["detail"]["chair_id"] == str(session["chair_id"])


def test_the_actionable_answer_is_optional_and_kept_with_the_acknowledgement(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    refused = as_nurse.post(f"/api/alerts/{alarm['id']}/acknowledge", json={"actionable": "yes"})
    assert refused.status_code == 422
    assert error_at(refused, "body", "actionable")
    answered = as_nurse.post(f"/api/alerts/{alarm['id']}/acknowledge", json={"actionable": False})
    assert answered.status_code == 200, answered.text
    assert answered.json()["actionable"] is False
    other = alarm_session(as_nurse)
    bp(as_nurse, other["id"], 165)
    plain = acknowledge(as_nurse, the_alarm(as_nurse, other["id"], "systolic.above")["id"])
    assert plain.status_code == 200
    assert plain.json()["actionable"] is None


def _later(days: float) -> str:
    return iso(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": _later(1), "end": _later(1)}, "end"),
        ({"start": _later(2), "end": _later(1)}, "end"),
        ({"start": _later(0), "end": _later(367)}, "end"),
        ({"start": "2026-01-01T00:00:00", "end": _later(1)}, "start"),  # no offset
        ({"start": "NaN", "end": _later(1)}, "start"),
        ({"start": "9999999999999999999999", "end": _later(1)}, "start"),
        ({"start": "2026-01-01T00:00:00+00:00\x00", "end": _later(1)}, "start"),
        ({"start": _later(0), "end": _later(1), "site": "99999999999999999999"}, "site"),
        ({"start": _later(0), "end": _later(1), "chair": "NaN"}, "chair"),
        ({"start": _later(0), "end": _later(1), "chair": "0"}, "chair"),
        ({"start": _later(0), "end": _later(1), "site": "2147483647"}, "site"),  # no such site
        ({"start": _later(0), "end": _later(1), "sessions": "both"}, "sessions"),
        ({"end": _later(1)}, "start"),
    ],
)
def test_bad_or_hostile_input_is_a_422_naming_the_field(
    as_admin: TestClient, params: dict[str, str], field: str
) -> None:
    for path in ("/api/alarm-review", "/api/alarm-review.csv"):
        response = as_admin.get(path, params=params)
        assert response.status_code == 422, (params, response.text)
        assert error_at(response, "query", field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("profile=%ED%A0%80", "profile"),  # a lone surrogate, as UTF-8 bytes
        ("site=%00", "site"),
        ("sessions=real%00", "sessions"),
        ("start=2026-01-01T00%3A00%3A00%2B00%3A00%00", "start"),
    ],
)
def test_raw_hostile_bytes_in_the_query_are_a_422(
    as_admin: TestClient, raw: str, field: str
) -> None:
    base = f"start={_later(0)}&end={_later(1)}".replace("+", "%2B").replace(":", "%3A")
    if raw.startswith("start="):
        base = f"end={_later(1)}".replace("+", "%2B").replace(":", "%3A")
    response = as_admin.get(f"/api/alarm-review?{base}&{raw}")
    assert response.status_code == 422, response.text
    assert error_at(response, "query", field)


def test_a_full_year_is_accepted_and_an_empty_period_has_no_rates(as_admin: TestClient) -> None:
    response = as_admin.get(
        "/api/alarm-review", params={"start": _later(-1000), "end": _later(-1000 + 366)}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["alarms"], body["chair_hours"], body["per_chair_hour"]) == (0, 0, None)
    assert body["ack"]["median_s"] is None


def test_time_to_acknowledge_counts_the_first_answer_not_a_reminders(
    as_nurse: TestClient, as_admin: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 165)  # stays out of range: acknowledged, it reminds
    alarm = the_alarm(as_nurse, session["id"], "systolic.above")
    sounded = parse_time(alarm["alerted_at"])
    ack_at(database, alarm["id"], sounded + timedelta(seconds=20), actionable=None)
    tick(database, session["id"], sounded + timedelta(seconds=20 + 181))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "active"  # reminded
    ack_at(database, alarm["id"], sounded + timedelta(seconds=20 + 181 + 50), actionable=True)

    body = review(as_admin, chair=session["chair_id"])
    assert (body["ack"]["count"], body["ack"]["median_s"]) == (1, 20)
    # The later answer is kept: it is the latest judgement of the same alarm.
    assert body["actionable"]["yes"] == 1
