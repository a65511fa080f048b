"""The Spravato REMS form of an esketamine session: filled from the record, the rest entered,
completed only when whole, printed, listed while due, and every save and export on the trail."""

import io
import json
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.api.support import error_at, message, new_token
from tests.helpers import new_session
from tests.rems_support import age, database_of, treated

SHOTS = Path(tempfile.gettempdir()) / "shots"  # where the team looks at screenshots

# What a person answers on a treated session's form (the record gives the rest).
ENTERED = {
    "date_of_birth": "1971-03-09",
    "sex": "female",
    "first_treatment": True,
    "concomitant_medicines": ["benzodiazepines", "opioids"],
    "device_lot": "KX-2231A",
    "vitals_ok_before_dosing": True,
    "vitals_ok_before_leaving": True,
    "dissociation": True,
    "serious_adverse_event": False,
}


def form(client: TestClient, sid: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{sid}/rems")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def fields(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in body["fields"]}


def save(client: TestClient, sid: int, entries: dict[str, Any], version: int | None = None) -> Any:
    if version is None:
        version = form(client, sid)["version"]
    return client.patch(f"/api/sessions/{sid}/rems", json={"version": version, "entries": entries})


def raw_patch(client: TestClient, sid: int, body: dict[str, Any]) -> Any:
    """As a hostile client sends it: Python's JSON, NaN and escaped lone surrogates included."""
    return client.patch(
        f"/api/sessions/{sid}/rems",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def audit_actions(admin: TestClient, sid: int) -> list[dict[str, Any]]:
    events = admin.get("/api/audit", params={"session_id": sid, "limit": 200}).json()["items"]
    return [e for e in events if e["action"].startswith("rems.")]


def test_the_record_answers_what_it_holds_and_says_from_where(as_nurse: TestClient) -> None:
    session = treated(as_nurse)
    body = form(as_nurse, session.id)
    got = fields(body)
    assert body["status"] == "not_started" and body["version"] == 0
    record = {k: f["value"] for k, f in got.items() if f["source"] == "record"}
    assert record["patient_name"] == session.patient["display_name"]
    seat = as_nurse.get(f"/api/sessions/{session.id}").json()
    assert record["setting"] == f"{seat['site']} · {seat['room']}"
    assert record["monitoring_clinician"] == "test-nurse"
    assert record["dose_mg"] == 56
    assert record["bp_before"] == {"systolic": 128, "diastolic": 82}
    assert record["bp_40min"] == {"systolic": 150, "diastolic": 95}
    assert record["bp_end"] == {"systolic": 130, "diastolic": 84}
    assert record["pulse_oximetry"] is True
    assert record["sedation"] is True
    assert record["respiratory_depression"] is False
    assert record["monitoring_minutes"] == 130
    assert record["minutes_until_ready"] == 75
    assert "38 min after dosing started" in got["bp_40min"]["record_detail"]
    assert "MOAA/S 3" in got["sedation"]["record_detail"]
    # What the record does not hold is asked for, never guessed.
    for key in ("date_of_birth", "sex", "device_lot", "dissociation", "first_treatment"):
        assert got[key]["source"] == "missing" and got[key]["editable"], key
    assert not got["bp_before"]["editable"]  # a fact of the record: corrected in the record
    assert got["sedation"]["editable"]  # a judgement: the clinician may answer otherwise
    assert set(body["missing"]) == set(ENTERED)
    due = datetime.fromisoformat(body["dosing_started_at"])
    assert due == session.start
    assert body["completable"] is False and body["overdue"] is False


def test_the_date_of_birth_on_the_register_answers_the_form(as_nurse: TestClient) -> None:
    session = treated(as_nurse)
    url = f"/api/patients/{session.patient['id']}"
    assert as_nurse.patch(url, json={"date_of_birth": "1971-03-09"}).status_code == 200
    born = fields(form(as_nurse, session.id))["date_of_birth"]
    assert (born["source"], born["value"]) == ("record", "1971-03-09")
    assert "date_of_birth" not in form(as_nurse, session.id)["missing"]


def test_a_low_spo2_alarm_after_dosing_answers_respiratory_depression(as_nurse: TestClient) -> None:
    session = treated(as_nurse, spo2_low=84)
    got = fields(form(as_nurse, session.id))
    assert got["respiratory_depression"]["value"] is True
    assert "SpO" in got["respiratory_depression"]["record_detail"]


def test_a_dose_the_form_does_not_know_is_asked_for(as_nurse: TestClient) -> None:
    session = treated(as_nurse, dose=28)
    got = fields(form(as_nurse, session.id))
    assert got["dose_mg"]["source"] == "missing"
    assert "28 mg" in got["dose_mg"]["record_detail"]
    assert save(as_nurse, session.id, {"dose_mg": 56}).status_code == 200
    assert fields(form(as_nurse, session.id))["dose_mg"]["source"] == "entered"


def test_answers_are_saved_shown_as_entered_and_each_save_audited(
    as_nurse: TestClient, as_staff: TestClient, as_admin: TestClient
) -> None:
    session = treated(as_nurse)
    saved = save(as_staff, session.id, {"sex": "male", "device_lot": "  LOT-1 "})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    got = fields(body)
    assert (got["sex"]["value"], got["sex"]["source"]) == ("male", "entered")
    assert got["device_lot"]["value"] == "LOT-1"
    assert body["version"] == 1 and body["updated_by"] == "test-staff"
    # A judgement answered otherwise: shown as entered, the record's answer kept beside it.
    overridden = save(as_nurse, session.id, {"sedation": False, "sex": None}).json()
    sedation = fields(overridden)["sedation"]
    assert (sedation["value"], sedation["source"], sedation["record_value"]) == (
        False,
        "entered",
        True,
    )
    assert fields(overridden)["sex"]["source"] == "missing"  # null cleared it
    assert fields(overridden)["device_lot"]["value"] == "LOT-1"  # left out: kept
    events = audit_actions(as_admin, session.id)
    saves = [e for e in events if e["action"] == "rems.save"]
    assert [e["detail"]["fields"] for e in reversed(saves)] == [
        ["device_lot", "sex"],
        ["sedation", "sex"],
    ]
    assert {e["actor_name"] for e in saves} == {"test-staff", "test-nurse"}
    assert any(e["action"] == "rems.view" for e in events)


def test_a_save_on_an_old_copy_is_refused(as_nurse: TestClient) -> None:
    session = treated(as_nurse)
    assert save(as_nurse, session.id, {"sex": "female"}, version=0).status_code == 200
    stale = save(as_nurse, session.id, {"sex": "male"}, version=0)
    assert stale.status_code == 409
    assert "reload" in message(stale)
    assert fields(form(as_nurse, session.id))["sex"]["value"] == "female"


def test_an_answer_the_record_gives_is_refused_naming_it(as_nurse: TestClient) -> None:
    session = treated(as_nurse)
    refused = save(as_nurse, session.id, {"bp_before": {"systolic": 120, "diastolic": 80}})
    assert refused.status_code == 422
    error = error_at(refused, "body", "entries", "bp_before")
    assert "128/82" in error["msg"] and "correct the record" in error["msg"]
    # Fields only the record can give are not answers at all.
    unknown = save(as_nurse, session.id, {"patient_name": "Someone Else"})
    assert unknown.status_code == 422
    error_at(unknown, "body", "entries", "patient_name")


def test_the_form_is_completed_only_when_whole_and_then_frozen(
    as_nurse: TestClient, as_staff: TestClient, as_admin: TestClient
) -> None:
    session = treated(as_nurse)
    early = as_nurse.post(f"/api/sessions/{session.id}/rems/complete", json={"version": 0})
    assert early.status_code == 409
    assert "Date of birth" in message(early) and "Device lot number" in message(early)
    body = save(as_nurse, session.id, {**ENTERED, "serious_adverse_event": True}).json()
    assert body["missing"] == ["sae_description"]  # a serious adverse event needs its account
    body = save(as_nurse, session.id, {"serious_adverse_event": False}).json()
    assert body["missing"] == [] and body["completable"] is True
    staff = as_staff.post(f"/api/sessions/{session.id}/rems/complete", json={"version": 2})
    assert staff.status_code == 403  # completing attests clinical judgements: nurses, admins
    done = as_nurse.post(f"/api/sessions/{session.id}/rems/complete", json={"version": 2})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "complete" and done.json()["completed_by"] == "test-nurse"
    assert not any(f["editable"] for f in done.json()["fields"])
    again = save(as_nurse, session.id, {"sex": "male"})
    assert again.status_code == 409 and "completed" in message(again)
    # The completed form keeps what was reported, whatever the record says later.
    after = fields(form(as_nurse, session.id))
    assert after["bp_40min"]["value"] == {"systolic": 150, "diastolic": 95}
    assert after["sex"]["value"] == "female"
    assert "rems.complete" in {e["action"] for e in audit_actions(as_admin, session.id)}


def test_a_session_still_going_cannot_be_completed(as_nurse: TestClient) -> None:
    session = treated(as_nurse, discharge=False, hours_ago=1)
    got = fields(form(as_nurse, session.id))
    assert got["monitoring_minutes"]["source"] == "missing"
    assert got["bp_end"]["record_detail"] == "the session goes on"
    body = save(as_nurse, session.id, ENTERED).json()
    refused = as_nurse.post(
        f"/api/sessions/{session.id}/rems/complete", json={"version": body["version"]}
    )
    assert refused.status_code == 409 and "goes on" in message(refused)


def test_forms_due_are_listed_until_done_and_overdue_marked(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    session = treated(as_nurse)
    ketamine = new_session(as_nurse)
    due = as_nurse.get("/api/rems/due")
    assert due.status_code == 200, due.text
    items = {i["session_id"]: i for i in due.json()["items"]}
    assert ketamine["id"] not in items
    mine = items[session.id]
    assert mine["status"] == "not_started" and mine["overdue"] is False
    assert mine["patient_name"] == session.patient["display_name"]
    # Treated nine days ago (clinic calendar): past its 7 days.
    age(database_of(as_nurse), session.id, timedelta(days=9))
    late = {i["session_id"]: i for i in as_nurse.get("/api/rems/due").json()["items"]}
    assert late[session.id]["overdue"] is True
    treated_on = datetime.fromisoformat(late[session.id]["dosing_started_at"])
    assert late[session.id]["due_date"] > treated_on.date().isoformat()
    body = save(as_nurse, session.id, ENTERED).json()
    assert body["overdue"] is True
    done = as_nurse.post(
        f"/api/sessions/{session.id}/rems/complete", json={"version": body["version"]}
    )
    assert done.status_code == 200, done.text
    assert done.json()["overdue"] is False
    after = {i["session_id"] for i in as_nurse.get("/api/rems/due").json()["items"]}
    assert session.id not in after
    assert as_trainer.get("/api/rems/due").status_code == 403


def test_no_form_for_ketamine_or_a_drill_and_none_for_trainers_or_tokens(
    as_nurse: TestClient, as_trainer: TestClient, as_admin: TestClient, bearer: Any
) -> None:
    ketamine = new_session(as_nurse)
    refused = as_nurse.get(f"/api/sessions/{ketamine['id']}/rems")
    assert refused.status_code == 409 and "only esketamine" in message(refused)
    drill = new_session(
        as_trainer, simulated=True, drug="esketamine", route="intranasal", planned_dose_mg=56
    )
    assert as_nurse.get(f"/api/sessions/{drill['id']}/rems").status_code == 409
    assert as_trainer.get(f"/api/sessions/{drill['id']}/rems").status_code == 403
    session = treated(as_nurse)
    assert as_trainer.get(f"/api/sessions/{session.id}/rems").status_code == 403
    token = bearer(new_token(as_admin, "nurse")["token"])
    assert token.get(f"/api/sessions/{session.id}/rems").status_code == 403
    assert token.get(f"/api/sessions/{session.id}/rems.pdf").status_code == 403
    assert as_nurse.get("/api/sessions/2147483647/rems").status_code == 404


def test_the_pdf_is_the_form_and_its_download_is_on_the_trail(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    session = treated(as_nurse)
    save(as_nurse, session.id, {"device_lot": "KX-2231A", "sedation": False})
    response = as_nurse.get(f"/api/sessions/{session.id}/rems.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "rems-form.pdf").write_bytes(response.content)  # for a person to look at
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())
    assert "Spravato" in text and "REMS Patient Monitoring Form" in text
    assert session.patient["display_name"] in text
    assert "150/95 mmHg" in text and "KX-2231A" in text
    assert "DRAFT" in text
    assert "(the record: Yes)" in text  # sedation answered otherwise, the record's answer beside
    assert "ENTERED" in text.upper() and "FROM THE RECORD" in text.upper()
    pdfs = [e for e in audit_actions(as_admin, session.id) if e["action"] == "rems.pdf"]
    assert len(pdfs) == 1 and pdfs[0]["patient_id"] == session.patient["id"]


HOSTILE: list[tuple[dict[str, Any], tuple[str | int, ...]]] = [
    ({"sex": "x" * 100_000}, ("sex",)),
    # Text that is not text is refused where the body's text is checked, naming its part.
    ({"sex": "fem\x00ale"}, ()),
    ({"device_lot": "lot\ud800"}, ()),
    ({"device_lot": "LOT\n2"}, ("device_lot",)),
    ({"device_lot": "L" * 41}, ("device_lot",)),
    ({"monitoring_clinician": "Dr\x07 Who"}, ("monitoring_clinician",)),
    ({"minutes_until_ready": 1e308}, ("minutes_until_ready",)),
    ({"minutes_until_ready": 10**30}, ("minutes_until_ready",)),
    ({"minutes_until_ready": -1}, ("minutes_until_ready",)),
    ({"minutes_until_ready": "75"}, ("minutes_until_ready",)),
    ({"minutes_until_ready": True}, ("minutes_until_ready",)),
    ({"sedation": "yes"}, ("sedation",)),
    ({"sedation": 1}, ("sedation",)),
    ({"dose_mg": 60}, ("dose_mg",)),
    ({"date_of_birth": "1971-02-30"}, ("date_of_birth",)),
    ({"date_of_birth": "2999-01-01"}, ("date_of_birth",)),
    ({"date_of_birth": "1871-01-01"}, ("date_of_birth",)),
    ({"concomitant_medicines": ["opioids", "opioids"]}, ("concomitant_medicines",)),
    ({"concomitant_medicines": ["none", "opioids"]}, ("concomitant_medicines",)),
    ({"concomitant_medicines": []}, ("concomitant_medicines",)),
    ({"concomitant_medicines": ["cannabis"]}, ("concomitant_medicines", 0)),
    ({"sae_description": "\x00"}, ()),
]


@pytest.mark.parametrize(("entries", "where"), HOSTILE)
def test_hostile_answers_are_refused_naming_the_field(
    as_nurse: TestClient, entries: dict[str, Any], where: tuple[str | int, ...]
) -> None:
    session = _hostile_session(as_nurse)
    response = raw_patch(as_nurse, session, {"version": 0, "entries": entries})
    assert response.status_code == 422, response.text
    assert any(
        tuple(e["loc"][: len(where) + 2]) == ("body", "entries", *where)
        for e in response.json()["detail"]
    ), response.text


_hostile: dict[str, int] = {}


def _hostile_session(client: TestClient) -> int:
    # One treated session for every hostile case: nothing is ever stored on it.
    if "id" not in _hostile:
        _hostile["id"] = treated(client, discharge=False, hours_ago=1).id
    return _hostile["id"]


def test_a_blood_pressure_answer_is_a_plausible_pair(as_nurse: TestClient) -> None:
    session = treated(as_nurse, discharge=False, hours_ago=0.5)  # no 40-min reading yet
    for bad in (
        {"systolic": 80, "diastolic": 90},
        {"systolic": float("nan"), "diastolic": 80},
        {"systolic": 400, "diastolic": 80},
        {"systolic": 120},
        {"systolic": 120, "diastolic": 80, "mean": 93},
    ):
        response = raw_patch(as_nurse, session.id, {"version": 0, "entries": {"bp_40min": bad}})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"][:3] == ["body", "entries", "bp_40min"]
    ok = save(as_nurse, session.id, {"bp_40min": {"systolic": 150, "diastolic": 95}}, version=0)
    assert ok.status_code == 200, ok.text
    assert fields(ok.json())["bp_40min"]["source"] == "entered"


def test_the_form_and_due_pages_are_served_with_their_scripts_and_no_inline_code(
    client: TestClient,
) -> None:
    for path, script in (("/sessions/7/rems", "rems-form.js"), ("/rems", "rems.js")):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.text
        assert f'<script type="module" src="/static/js/{script}"></script>' in page
        assert 'href="/static/css/alarm-strip.css"' in page  # a patient's alarm is seen here too
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
        assert re.search(r"\son[a-z]+=", page) is None
        assert client.get(f"/static/js/{script}").status_code == 200
    assert 'href="/rems" aria-current="page"' in client.get("/rems").text
    assert client.get("/sessions/x/rems").status_code == 422


@pytest.mark.parametrize("version", [True, "0", 1.5, -1, 2**40, None])
def test_a_version_that_is_not_a_version_is_refused(as_nurse: TestClient, version: Any) -> None:
    session = _hostile_session(as_nurse)
    for path, body in (
        ("", {"version": version, "entries": {}}),
        ("/complete", {"version": version}),
    ):
        response = as_nurse.request(
            "PATCH" if not path else "POST", f"/api/sessions/{session}/rems{path}", json=body
        )
        assert response.status_code == 422, response.text
        error_at(response, "body", "version")
