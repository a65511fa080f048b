"""A patient's date of birth: entered, corrected and removed through the API with each change
kept and audited, refused clearly (422 naming the field) when it cannot be one, imported from
the clinic's CSV list, and the age derived from it on the clinic's date."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.patients.age import age_on
from tests.api.support import error_at
from tests.api.test_audit_access import events
from tests.api.test_hostile_input import post_raw

# The API tests' clinic is on UTC (tests/conftest.py).
TODAY = datetime.now(UTC).date()


def tag() -> str:
    return uuid.uuid4().hex[:8]


def register(client: TestClient, **body: Any) -> Any:
    return client.post(
        "/api/patients", json={"clinic_id": f"DOB-{tag()}", "display_name": "Dee Obee", **body}
    )


def test_a_date_of_birth_is_registered_and_read_back_with_the_age_today(
    as_nurse: TestClient,
) -> None:
    response = register(as_nurse, date_of_birth="1958-03-02")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["date_of_birth"] == "1958-03-02"
    assert created["age"] == age_on(date(1958, 3, 2), TODAY)
    read = as_nurse.get(f"/api/patients/{created['id']}").json()
    assert (read["date_of_birth"], read["age"]) == ("1958-03-02", created["age"])
    (listed,) = as_nurse.get("/api/patients", params={"q": created["clinic_id"]}).json()
    assert (listed["date_of_birth"], listed["age"]) == ("1958-03-02", created["age"])


def test_a_patient_without_a_date_of_birth_has_no_age(as_nurse: TestClient) -> None:
    created = register(as_nurse).json()
    assert (created["date_of_birth"], created["age"]) == (None, None)


def test_born_today_is_age_0_and_tomorrow_is_refused_as_in_the_future(
    as_nurse: TestClient,
) -> None:
    assert register(as_nurse, date_of_birth=TODAY.isoformat()).json()["age"] == 0
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused = error_at(register(as_nurse, date_of_birth=tomorrow), "body", "date_of_birth")
    assert "in the future" in refused["msg"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1899-12-31", "before 1900-01-01"),
        ("02/03/1956", "YYYY-MM-DD"),
        ("1956-02-30", "not a day of the calendar"),
        ("1956-03-02T00:00:00Z", "YYYY-MM-DD"),
        (-1_000_000, "as text"),
        (1956, "as text"),
        (True, "as text"),
        ({"year": 1956}, "as text"),
        ("9" * 100_000, "YYYY-MM-DD"),
    ],
)
def test_what_is_not_a_date_of_birth_is_422_naming_the_field(
    as_nurse: TestClient, value: Any, says: str
) -> None:
    refused = error_at(register(as_nurse, date_of_birth=value), "body", "date_of_birth")
    assert says in refused["msg"]
    assert len(refused["msg"]) < 200


HOSTILE = ["NaN", "Infinity", "-Infinity", "1e999", '"\\u0000"', '"1956-03-02\\u0000"', '"\\ud800"']


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_dates_of_birth_are_422_never_500(as_nurse: TestClient, raw: str) -> None:
    body = f'{{"clinic_id": "DOB-{tag()}", "display_name": "Hostile", "date_of_birth": {raw}}}'
    response = post_raw(as_nurse, "/api/patients", body)
    error_at(response, "body", "date_of_birth")


def test_a_date_of_birth_is_corrected_and_removed_with_each_change_kept_and_audited(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    patient = register(as_nurse).json()
    url = f"/api/patients/{patient['id']}"
    for value in ("1960-02-29", "1961-02-28", None):
        edited = as_nurse.patch(url, json={"date_of_birth": value})
        assert edited.status_code == 200, edited.text
        assert edited.json()["date_of_birth"] == value
    assert edited.json()["age"] is None
    history = as_nurse.get(f"{url}/changes").json()
    assert [(c["field"], c["old_value"], c["new_value"]) for c in history] == [
        ("date_of_birth", "1961-02-28", None),
        ("date_of_birth", "1960-02-29", "1961-02-28"),
        ("date_of_birth", None, "1960-02-29"),
    ]
    edits = events(as_admin, patient_id=patient["id"], action="patient.edit")
    assert [e["detail"] for e in edits] == [{"fields": ["date_of_birth"]}] * 3
    # The same date again changes nothing and records nothing.
    assert as_nurse.patch(url, json={"date_of_birth": None}).status_code == 200
    assert len(as_nurse.get(f"{url}/changes").json()) == 3


def test_an_edit_to_an_impossible_date_of_birth_is_422_and_changes_nothing(
    as_nurse: TestClient,
) -> None:
    patient = register(as_nurse, date_of_birth="1970-01-01").json()
    url = f"/api/patients/{patient['id']}"
    future = (TODAY + timedelta(days=400)).isoformat()
    error_at(as_nurse.patch(url, json={"date_of_birth": future}), "body", "date_of_birth")
    error_at(as_nurse.patch(url, json={"date_of_birth": "1970-13-01"}), "body", "date_of_birth")
    assert as_nurse.get(url).json()["date_of_birth"] == "1970-01-01"
    assert as_nurse.get(f"{url}/changes").json() == []


def test_a_drills_patient_is_never_given_a_date_of_birth_by_an_edit(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    drill = register(as_trainer).json()
    assert drill["simulated"] is True
    edited = as_nurse.patch(f"/api/patients/{drill['id']}", json={"date_of_birth": "1970-01-01"})
    assert edited.status_code == 409


def csv_import(client: TestClient, text: str, **params: Any) -> Any:
    response = client.post(
        "/api/patients/import",
        content=text.encode(),
        params=params,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_imported_list_may_carry_dates_of_birth_and_each_bad_one_is_reported(
    as_admin: TestClient,
) -> None:
    t = tag()
    future = (TODAY + timedelta(days=1)).isoformat()
    text = (
        "MRN,Name,DOB\n"
        f"B1-{t},Born Fine,1958-03-02\n"
        f"B2-{t},No Date,\n"
        f"B3-{t},Slashed,02/03/1956\n"
        f"B4-{t},Tomorrow,{future}\n"
        f"B5-{t},Victorian,1850-06-01\n"
        f"B6-{t},Thirtieth,1990-02-30\n"
    )
    report = csv_import(as_admin, text)
    assert report["ignored_columns"] == []
    assert [(c["line"], c["date_of_birth"]) for c in report["created"]] == [
        (2, "1958-03-02"),
        (3, None),
    ]
    rejected = [(r["line"], r["field"], r["value"]) for r in report["rejected"]]
    assert rejected == [
        (4, "date_of_birth", "02/03/1956"),
        (5, "date_of_birth", future),
        (6, "date_of_birth", "1850-06-01"),
        (7, "date_of_birth", "1990-02-30"),
    ]
    reasons = [r["reason"] for r in report["rejected"]]
    assert "YYYY-MM-DD" in reasons[0]
    assert "in the future" in reasons[1]
    assert "before 1900" in reasons[2]
    assert "not a day of the calendar" in reasons[3]
    found = as_admin.get("/api/patients", params={"q": f"B1-{t}"}).json()
    assert [(p["date_of_birth"], p["age"]) for p in found] == [
        ("1958-03-02", age_on(date(1958, 3, 2), TODAY))
    ]

    # Imported again with other dates: the register is never changed, but a date that differs
    # is pointed out (the same identifier on another person is a slip to look into).
    again = csv_import(
        as_admin,
        f"clinic_id,display_name,date_of_birth\nB1-{t},Born Fine,1959-03-02\nB2-{t},No Date,\n",
    )
    assert [(p["line"], p["same_date_of_birth"]) for p in again["present"]] == [
        (2, False),
        (3, None),
    ]
    assert as_admin.get(f"/api/patients/{found[0]['id']}").json()["date_of_birth"] == "1958-03-02"


def test_a_dry_run_reports_dates_of_birth_and_registers_no_one(as_admin: TestClient) -> None:
    t = tag()
    report = csv_import(
        as_admin, f"clinic_id,display_name,date_of_birth\nD1-{t},Dry,1970-07-07\n", dry_run="true"
    )
    assert [(c["date_of_birth"], c["id"]) for c in report["created"]] == [("1970-07-07", None)]
    assert as_admin.get("/api/patients", params={"q": f"D1-{t}"}).json() == []
