"""What goes on the audit trail: every view or export of a real patient's session, record,
report or CSV, and every acknowledgement, override, phase and limit change, each with who, from
where, which patient and session; never a view of a simulated session. And the admin's
`GET /api/audit` and its CSV export, filtered the same way."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.roles import Role
from tests.api.alert_support import (
    acknowledged,
    alarm_session,
    bp,
    default_limits,
    new_profile,
    set_limits,
    the_alarm,
    vital_limit,
)
from tests.api.support import (
    ClientFactory,
    error_at,
    iso,
    new_user,
    now,
    patient_id,
    sign_in_as,
    simulated_session,
    unique,
)
from tests.conftest import ROLE_USERS
from tests.helpers import new_patient, new_session, post_reading

NURSE = ROLE_USERS[Role.NURSE]


def events(admin: TestClient, **filters: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/audit", params={"limit": 500, **filters})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def actions_on(admin: TestClient, session_id: int) -> list[str]:
    """The session's events, oldest first."""
    return [e["action"] for e in reversed(events(admin, session_id=session_id))]


def test_viewing_a_real_session_is_recorded_with_who_where_and_which_patient(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    session = new_session(as_nurse)
    sid = session["id"]
    assert as_nurse.get(f"/api/sessions/{sid}").status_code == 200
    (view,) = events(as_admin, session_id=sid, action="session.view")
    assert view["actor_name"] == NURSE
    assert (view["actor_kind"], view["actor_role"]) == ("user", "nurse")
    assert view["patient_id"] == session["patient"]["id"]
    assert view["address"] == "testclient"
    assert view["at"].endswith("+00:00") or view["at"].endswith("Z")


def test_the_ward_list_is_not_a_view_of_each_patient(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = new_session(as_nurse)["id"]
    assert as_nurse.get("/api/sessions").status_code == 200
    assert actions_on(as_admin, sid) == ["session.start"]


def test_readings_are_recorded_once_per_listing_and_per_trend(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = new_session(as_nurse)["id"]
    for hr in (70, 71, 72):
        assert post_reading(as_nurse, sid, heart_rate=hr).status_code == 201
    first = as_nurse.get(f"/api/sessions/{sid}/readings", params={"limit": 1}).json()
    assert first["next_page"]
    more = as_nurse.get(
        f"/api/sessions/{sid}/readings", params={"limit": 1, "page": first["next_page"]}
    )
    assert more.status_code == 200
    since = iso(now() - timedelta(minutes=30))
    assert as_nurse.get(f"/api/sessions/{sid}/trend", params={"since": since}).status_code == 200
    # Recording readings is not a view; the next page is the same view going on.
    assert actions_on(as_admin, sid) == ["session.start", "readings.view", "readings.view"]


def test_the_record_and_its_exports_are_recorded(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = new_session(as_nurse)["id"]
    assert as_nurse.get(f"/api/sessions/{sid}/report").status_code == 200
    assert as_nurse.get(f"/api/sessions/{sid}/readings.csv").status_code == 200
    pdf = as_nurse.get(f"/api/sessions/{sid}/report.pdf")
    expected = ["session.start", "record.view", "report.csv"]
    if pdf.status_code == 200:
        expected.append("report.pdf")
    else:  # no pango here: nothing was exported, so nothing is recorded
        assert pdf.status_code == 503
    assert actions_on(as_admin, sid) == expected


def test_views_of_a_simulated_session_are_not_patient_access(
    as_trainer: TestClient, as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = simulated_session(as_trainer, patient_id(as_nurse))["id"]
    for client in (as_trainer, as_nurse):
        assert client.get(f"/api/sessions/{sid}").status_code == 200
        assert client.get(f"/api/sessions/{sid}/readings").status_code == 200
        assert client.get(f"/api/sessions/{sid}/report").status_code == 200
    start = events(as_admin, session_id=sid)
    assert [e["action"] for e in start] == ["session.start"]
    assert start[0]["detail"] == {"simulated": True}


def test_an_acknowledgement_is_recorded_with_the_alarm_and_the_note(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = alarm_session(as_nurse)["id"]
    bp(as_nurse, sid, 165)
    alarm = the_alarm(as_nurse, sid, "systolic.above")
    acknowledged(as_nurse, alarm["id"], note="called the doctor")
    (event,) = events(as_admin, session_id=sid, action="alarm.acknowledge")
    assert event["target"] == f"alert {alarm['id']}"
    assert event["detail"]["note"] == "called the doctor"
    assert event["actor_name"] == NURSE


def test_a_gate_override_is_recorded_apart_from_its_phase_change(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = new_session(as_nurse)["id"]
    assert post_reading(as_nurse, sid, systolic=176, diastolic=96).status_code == 201
    override = {"by": NURSE, "reason": "pain team agrees"}
    response = as_nurse.post(
        f"/api/sessions/{sid}/phase", json={"phase": "infusing", "override_gate": override}
    )
    assert response.status_code == 200, response.text
    assert actions_on(as_admin, sid) == ["session.start", "session.phase", "gate.override"]
    (gate,) = events(as_admin, session_id=sid, action="gate.override")
    assert (gate["target"], gate["detail"]["reason"]) == (NURSE, "pain team agrees")
    (phase,) = events(as_admin, session_id=sid, action="session.phase")
    assert (phase["detail"]["from"], phase["detail"]["to"]) == ("baseline", "infusing")


def test_a_refused_change_leaves_no_event(as_nurse: TestClient, as_admin: TestClient) -> None:
    sid = new_session(as_nurse)["id"]
    # No blood pressure yet: the start of dosing is refused, and so is its record.
    response = as_nurse.post(f"/api/sessions/{sid}/phase", json={"phase": "infusing"})
    assert response.status_code == 409
    assert actions_on(as_admin, sid) == ["session.start"]


def test_limit_changes_are_recorded(as_nurse: TestClient, as_admin: TestClient) -> None:
    sid = new_session(as_nurse)["id"]
    set_limits(as_nurse, sid, {"baseline": {"systolic": vital_limit(above=(170, 190))}})
    assert actions_on(as_admin, sid) == ["session.start", "limits.session_change"]

    profile = new_profile(as_admin, default_limits(as_admin))
    changed = as_admin.put(
        f"/api/limits/profiles/{profile['id']}",
        json={"name": profile["name"], "limits": profile["limits"]},
    )
    assert changed.status_code == 200, changed.text
    mine = events(as_admin, action="limits", user=profile["name"])
    assert [e["action"] for e in mine] == ["limits.change", "limits.profile_create"]
    assert mine[0]["detail"] == {"profile_id": profile["id"]}


def test_the_audit_is_for_admins_only(as_role: Any) -> None:
    for role in (Role.NURSE, Role.STAFF, Role.TRAINER):
        client = as_role(role)
        assert client.get("/api/audit").status_code == 403
        assert client.get("/api/audit.csv").status_code == 403


def test_the_audit_pages_newest_first(as_nurse: TestClient, as_admin: TestClient) -> None:
    sid = new_session(as_nurse)["id"]
    for _ in range(4):
        as_nurse.get(f"/api/sessions/{sid}")
    seen: list[int] = []
    params: dict[str, Any] = {"session_id": sid, "limit": 2}
    while True:
        page = as_admin.get("/api/audit", params=params).json()
        seen += [e["id"] for e in page["items"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_the_audit_filters_by_time_user_and_patient(
    as_nurse: TestClient, as_staff: TestClient, as_admin: TestClient
) -> None:
    session = new_session(as_nurse)
    sid, pid = session["id"], session["patient"]["id"]
    as_staff.get(f"/api/sessions/{sid}")
    staff = events(as_admin, patient_id=pid, user=ROLE_USERS[Role.STAFF])
    assert [e["action"] for e in staff] == ["session.view"]
    moment = staff[0]["at"]
    assert events(as_admin, patient_id=pid, since=moment) == staff
    assert [e["action"] for e in events(as_admin, patient_id=pid, until=moment)] == [
        "session.start",
        "patient.create",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-12-06T10:00:00"}, "since"),  # no offset: whose 10:00?
        ({"since": "2026-12-06T10:00:00Z", "until": "2026-12-06T09:00:00Z"}, "until"),
        ({"action": "auth\x00"}, "action"),
        ({"user": "jo\x00"}, "user"),
        ({"patient_id": "0"}, "patient_id"),
        ({"before": "-1"}, "before"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    as_admin: TestClient, params: dict[str, str], field: str
) -> None:
    paths = ["/api/audit"] + ([] if field == "before" else ["/api/audit.csv"])
    for path in paths:
        error_at(as_admin.get(path, params=params), "query", field)


def test_the_csv_export_is_guarded_streamed_and_itself_audited(
    as_admin: TestClient, database: Database
) -> None:
    name = unique("=HYPERLINK(1)")
    someone = Actor("user", 999, name, Role.STAFF)
    with database.unit_of_work(write=True) as db:
        for n in range(3):
            audit.record(db, someone, "session.view", target="+1", detail={"why": "-x", "n": n})
    response = as_admin.get("/api/audit.csv", params={"user": name})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3
    assert {(r["actor"], r["target"]) for r in rows} == {("'" + name, "'+1")}
    assert rows[0]["at_utc"].endswith("+00:00")
    (export,) = events(as_admin, action="audit.export", since=rows[0]["at_utc"])
    assert export["actor_name"] == ROLE_USERS[Role.ADMIN]
    assert export["detail"] == {"user": name}


def test_the_export_reads_in_bounded_batches(database: Database) -> None:
    name = unique("batched")
    someone = Actor("token", 5, name, Role.STAFF)
    with database.unit_of_work(write=True) as db:
        for _ in range(5):
            audit.record(db, someone, "readings.view")
    batches = list(audit.iter_events(database, audit.AuditFilter(user=name), batch=2))
    assert [len(b) for b in batches] == [2, 2, 1]


def test_sign_ins_failures_and_sign_outs_are_recorded_with_the_address(
    as_admin: TestClient, new_client: ClientFactory
) -> None:
    password = "a-long-enough-password"
    user = new_user(as_admin, "staff", password)
    name = user["username"]
    browser = new_client()
    assert sign_in_as(browser, name, "not-the-password").status_code == 401
    assert sign_in_as(browser, name, password).status_code == 200
    assert browser.post("/api/auth/logout").status_code == 204
    mine = [e for e in events(as_admin, user=name) if e["action"].startswith("auth.")]
    assert [e["action"] for e in mine] == ["auth.sign_out", "auth.sign_in", "auth.sign_in_failed"]
    out, signed_in, failed = mine
    assert (failed["actor_kind"], failed["actor_name"], failed["target"]) == (
        "anonymous",
        None,
        name,
    )
    assert (signed_in["actor_name"], signed_in["actor_role"]) == (name, "staff")
    assert out["actor_name"] == name
    assert {e["address"] for e in mine} == {"testclient"}


def test_a_real_patients_register_entry_is_on_the_trail_when_read_edited_or_imported(
    as_nurse: TestClient, as_admin: TestClient, as_trainer: TestClient
) -> None:
    patient = new_patient(as_nurse)
    pid = patient["id"]
    assert as_nurse.get(f"/api/patients/{pid}").status_code == 200
    edited = as_nurse.patch(f"/api/patients/{pid}", json={"display_name": "Renamed Patient"})
    assert edited.status_code == 200, edited.text
    assert [e["action"] for e in events(as_admin, patient_id=pid)] == [
        "patient.edit",
        "patient.view",
        "patient.create",
    ]
    edit = events(as_admin, patient_id=pid, action="patient.edit")[0]
    assert edit["detail"] == {"fields": ["display_name"]}
    assert edit["actor_name"] == ROLE_USERS[Role.NURSE]

    csv_text = f"clinic_id,display_name\nIMP-{pid}-a,Imported One\n,No Identifier\n"
    headers = {"Content-Type": "text/csv"}
    dry = as_admin.post("/api/patients/import?dry_run=true", content=csv_text, headers=headers)
    assert dry.status_code == 200, dry.text
    done = as_admin.post("/api/patients/import", content=csv_text, headers=headers)
    assert done.status_code == 200, done.text
    imports = events(as_admin, action="patient.import")
    assert imports[0]["detail"] == {"rows": 2, "created": 1, "present": 0, "rejected": 1}
    assert len([e for e in imports if e["at"] >= edit["at"]]) == 1  # the dry run is not one

    # A trainer's own (simulated) patient is a drill's, not a patient's access.
    drill = as_trainer.post("/api/patients", json={"clinic_id": f"D-{pid}", "display_name": "D"})
    assert drill.status_code == 201, drill.text
    assert events(as_admin, patient_id=drill.json()["id"]) == []
