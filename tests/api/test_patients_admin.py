"""The clinic's patient register: search, edit with its history, unique identifiers, CSV import,
and trainers kept out of real patients."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, create_engine, select

from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.roles import Role
from backend.migrations import upgrade
from backend.patients import service
from tests.api.support import RoleClient, error_at, message, parse_time, unique
from tests.conftest import empty_database
from tests.helpers import new_session


def register(client: TestClient, clinic_id: str, name: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/patients", json={"clinic_id": clinic_id, "display_name": name, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def search(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/patients", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def names(found: list[dict[str, Any]]) -> list[str]:
    return [p["display_name"] for p in found]


def csv_import(client: TestClient, text: str | bytes, **params: Any) -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/api/patients/import",
        content=data,
        params=params,
        headers={"Content-Type": "text/csv"},
    )


# --- search ------------------------------------------------------------------------------------


def test_a_search_ignores_case_on_every_database(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    register(as_nurse, f"MRN-{tag}", f"Ölmez Ärger {tag}")
    assert names(search(as_nurse, q=f"ölMEZ ärger {tag.upper()}")) == [f"Ölmez Ärger {tag}"]
    assert names(search(as_nurse, q=f"mrn-{tag}")) == [f"Ölmez Ärger {tag}"]


def test_percent_and_underscore_are_searched_for_literally(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    register(as_nurse, f"P1-{tag}", f"100% Sure {tag}")
    register(as_nurse, f"P2-{tag}", f"Under_score {tag}")
    register(as_nurse, f"P3-{tag}", f"Plain Name {tag}")
    register(as_nurse, f"P4-{tag}", f"Under score {tag}")
    assert names(search(as_nurse, q=f"% Sure {tag}")) == [f"100% Sure {tag}"]
    assert names(search(as_nurse, q=f"r_score {tag}")) == [f"Under_score {tag}"]
    # A bare "%" finds only names that hold one, never everyone.
    assert all(
        "%" in n or "%" in p["clinic_id"]
        for p in search(as_nurse, q="%", limit=200)
        for n in [p["display_name"]]
    )
    assert f"Plain Name {tag}" not in names(search(as_nurse, q="%", limit=200))
    assert names(search(as_nurse, q=f"/ {tag}")) == []  # the escape character is literal too


def test_the_list_is_paginated_in_name_order_with_a_total(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    for name in ("Carla", "alma", "Bruno", "Dora", "Emil"):
        register(as_nurse, f"{name}-{tag}", f"{name} {tag}")
    first = as_nurse.get("/api/patients", params={"q": tag, "limit": 2})
    assert first.headers["X-Total-Count"] == "5"
    assert names(first.json()) == [f"alma {tag}", f"Bruno {tag}"]
    assert 'rel="next"' in first.headers["Link"]
    third = as_nurse.get("/api/patients", params={"q": tag, "limit": 2, "page": 3})
    assert names(third.json()) == [f"Emil {tag}"]
    assert 'rel="next"' not in third.headers.get("Link", "")


def test_an_exact_identifier_comes_first(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    register(as_nurse, f"A{tag}-1", f"Zed {tag}")
    register(as_nurse, f"A{tag}", f"Zed Other {tag}")
    assert names(search(as_nurse, q=f"a{tag}")) == [f"Zed Other {tag}", f"Zed {tag}"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": 0}, "page"),
        ({"page": 10_001}, "page"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 481}, "q"),
    ],
)
def test_bad_list_parameters_are_422_naming_them(
    as_nurse: TestClient, params: dict[str, Any], field: str
) -> None:
    response = as_nurse.get("/api/patients", params=params)
    error_at(response, "query", field)


def test_simulated_patients_are_listed_apart(as_nurse: TestClient, as_trainer: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    drill = register(as_trainer, f"T-{tag}", f"Drill {tag}")
    real = register(as_nurse, f"R-{tag}", f"Real {tag}")
    assert (drill["simulated"], real["simulated"]) == (True, False)
    assert names(search(as_nurse, q=tag)) == [f"Real {tag}"]
    assert names(search(as_nurse, q=tag, simulated="true")) == [f"Drill {tag}"]


# --- identifiers unique ------------------------------------------------------------------------


def test_an_identifier_is_stored_trimmed_with_single_spaces(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    patient = register(as_nurse, f"  MRN \t {tag}  ", "  Ada \n  Byron ")
    assert (patient["clinic_id"], patient["display_name"]) == (f"MRN {tag}", "Ada Byron")


def test_the_same_identifier_typed_another_way_is_409_naming_the_patient(
    as_nurse: TestClient, as_staff: TestClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = register(as_nurse, f"MRN {tag}", "Ada Byron")
    response = as_staff.post(
        "/api/patients", json={"clinic_id": f" mrn   {tag.upper()} ", "display_name": "Someone"}
    )
    assert response.status_code == 409, response.text
    assert f"#{first['id']}" in message(response)
    assert "Ada Byron" in message(response)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("clinic_id", "A\x00B", "NUL character"),
        ("display_name", "Ada\x00", "NUL character"),
        ("clinic_id", "A\u200bB", "control or invisible"),
        ("clinic_id", "   ", "empty"),
        ("clinic_id", "x" * 65, "at most 64"),
        ("display_name", "y" * 121, "at most 120"),
        ("display_name", "y" * 1_000_000, "at most 120"),
    ],
)
def test_bad_text_is_422_naming_the_field(
    as_nurse: TestClient, field: str, value: str, words: str
) -> None:
    body = {"clinic_id": unique("V"), "display_name": "Valid Name", field: value}
    response = as_nurse.post("/api/patients", json=body)
    assert words in error_at(response, "body", field)["msg"]
    patient = register(as_nurse, unique("V"), "Valid Name")
    response = as_nurse.patch(f"/api/patients/{patient['id']}", json={field: value})
    assert words in error_at(response, "body", field)["msg"]


def test_a_lone_surrogate_is_422_on_edit(as_nurse: TestClient) -> None:
    patient = register(as_nurse, unique("V"), "Valid Name")
    response = as_nurse.patch(
        f"/api/patients/{patient['id']}",
        content=b'{"display_name": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    error_at(response, "body", "display_name")


def test_a_real_patient_may_not_take_a_simulated_identifier(as_nurse: TestClient) -> None:
    response = as_nurse.post(
        "/api/patients", json={"clinic_id": "sim-1234", "display_name": "Not A Drill"}
    )
    assert "SIM-" in error_at(response, "body", "clinic_id")["msg"]


# --- edit and its history ------------------------------------------------------------------------


def test_an_edit_is_kept_with_who_when_old_and_new(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    patient = register(as_nurse, f"OLD-{tag}", "Ada Byron")
    response = as_nurse.patch(
        f"/api/patients/{patient['id']}",
        json={"clinic_id": f"NEW-{tag}", "display_name": "Ada Lovelace"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["clinic_id"], response.json()["display_name"]) == (
        f"NEW-{tag}",
        "Ada Lovelace",
    )
    assert names(search(as_nurse, q=f"new-{tag}")) == ["Ada Lovelace"]
    assert search(as_nurse, q=f"OLD-{tag}") == []
    history = as_admin.get(f"/api/patients/{patient['id']}/changes")
    assert history.status_code == 200, history.text
    changes = {c["field"]: c for c in history.json()}
    assert (changes["clinic_id"]["old_value"], changes["clinic_id"]["new_value"]) == (
        f"OLD-{tag}",
        f"NEW-{tag}",
    )
    assert (changes["display_name"]["old_value"], changes["display_name"]["new_value"]) == (
        "Ada Byron",
        "Ada Lovelace",
    )
    assert {c["changed_by"] for c in history.json()} == {"test-nurse"}
    assert all(parse_time(c["changed_at"]).utcoffset() == timedelta(0) for c in history.json())


def test_an_edit_that_changes_nothing_records_nothing(as_nurse: TestClient) -> None:
    patient = register(as_nurse, unique("SAME"), "Same Name")
    response = as_nurse.patch(
        f"/api/patients/{patient['id']}", json={"display_name": "  Same   Name "}
    )
    assert response.status_code == 200, response.text
    assert as_nurse.get(f"/api/patients/{patient['id']}/changes").json() == []


def test_an_identifier_may_change_its_case(as_nurse: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    patient = register(as_nurse, f"mrn-{tag}", "Case Change")
    response = as_nurse.patch(f"/api/patients/{patient['id']}", json={"clinic_id": f"MRN-{tag}"})
    assert response.status_code == 200, response.text
    assert response.json()["clinic_id"] == f"MRN-{tag}"


def test_an_edit_onto_another_patients_identifier_is_409_naming_them(
    as_nurse: TestClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    holder = register(as_nurse, f"HOLD-{tag}", "Holder Patient")
    other = register(as_nurse, f"OTHER-{tag}", "Other Patient")
    response = as_nurse.patch(
        f"/api/patients/{other['id']}", json={"clinic_id": f"hold-{tag.upper()}"}
    )
    assert response.status_code == 409, response.text
    assert f"#{holder['id']}" in message(response) and "Holder Patient" in message(response)


def test_an_empty_edit_is_422(as_nurse: TestClient) -> None:
    patient = register(as_nurse, unique("E"), "Empty Edit")
    assert as_nurse.patch(f"/api/patients/{patient['id']}", json={}).status_code == 422


def test_a_simulated_patient_cannot_be_edited_into_a_real_one(
    as_nurse: TestClient, as_trainer: TestClient
) -> None:
    drill = register(as_trainer, unique("T"), "Drill Patient")
    response = as_nurse.patch(f"/api/patients/{drill['id']}", json={"clinic_id": unique("REAL")})
    assert response.status_code == 409, response.text
    assert "simulated" in message(response)
    response = as_nurse.patch(f"/api/patients/{drill['id']}", json={"simulated": False})
    error_at(response, "body", "simulated")


@pytest.mark.parametrize("role", [Role.STAFF, Role.TRAINER])
def test_only_nurses_and_admins_edit(as_role: RoleClient, as_nurse: TestClient, role: Role) -> None:
    patient = register(as_nurse, unique("R"), "Role Check")
    response = as_role(role).patch(f"/api/patients/{patient['id']}", json={"display_name": "X"})
    assert response.status_code == 403, response.text


def test_an_admin_edits(as_admin: TestClient, as_nurse: TestClient) -> None:
    patient = register(as_nurse, unique("R"), "Role Check")
    response = as_admin.patch(f"/api/patients/{patient['id']}", json={"display_name": "Fixed"})
    assert response.status_code == 200, response.text


def test_an_unknown_patient_is_404_on_edit(as_nurse: TestClient) -> None:
    response = as_nurse.patch("/api/patients/987654321", json={"display_name": "Nobody"})
    assert response.status_code == 404, response.text


# --- trainers ------------------------------------------------------------------------------------


def test_trainers_never_read_or_edit_real_patients(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    real = register(as_nurse, unique("REAL"), "Real Person")
    for response in (
        as_trainer.get("/api/patients"),
        as_trainer.get("/api/patients", params={"q": real["clinic_id"]}),
        as_trainer.get(f"/api/patients/{real['id']}"),
        as_trainer.get(f"/api/patients/{real['id']}/changes"),
        as_trainer.patch(f"/api/patients/{real['id']}", json={"display_name": "X"}),
        csv_import(as_trainer, "clinic_id,display_name\nX-1,Someone\n"),
    ):
        assert response.status_code == 403, response.text


def test_a_trainer_is_not_told_whose_identifier_they_typed(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    real = register(as_nurse, unique("REAL"), "Secret Person")
    response = as_trainer.post(
        "/api/patients", json={"clinic_id": real["clinic_id"], "display_name": "Drill"}
    )
    assert response.status_code == 409, response.text
    assert "Secret Person" not in message(response)
    assert f"#{real['id']}" not in message(response)


def test_a_trainers_simulated_session_still_starts_on_a_drill_patient(
    as_trainer: TestClient,
) -> None:
    session = new_session(as_trainer, simulated=True)
    assert session["patient"]["simulated"] is True


# --- CSV import ----------------------------------------------------------------------------------


def test_a_clinic_list_is_imported_and_reimporting_changes_nothing(as_admin: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    text = (
        "clinic_id,display_name,notes\r\n"
        f"I1-{tag},Ada Byron,born 1815-12-10\r\n"
        "\r\n"
        f'I2-{tag},"Lovelace, Ada",\r\n'
        f"I3-{tag},,\r\n"
        f"i1-{tag},Ada Again,\r\n"
        f"SIM-{tag},Pretend,\r\n"
        f"I4-{tag},Bad\x01Name,\r\n"
    )
    response = csv_import(as_admin, text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["delimiter"], report["dry_run"]) == (6, ",", False)
    assert [(c["line"], c["clinic_id"], c["display_name"]) for c in report["created"]] == [
        (2, f"I1-{tag}", "Ada Byron"),
        (4, f"I2-{tag}", "Lovelace, Ada"),
    ]
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [
        (5, "display_name"),
        (6, "clinic_id"),
        (7, "clinic_id"),
        (8, "display_name"),
    ]
    assert "line 2" in report["rejected"][1]["reason"]
    assert report["ignored_columns"] == ["notes"]
    assert names(search(as_admin, q=f"i1-{tag}")) == ["Ada Byron"]

    again = csv_import(as_admin, text).json()
    assert again["created"] == []
    assert [(p["line"], p["clinic_id"], p["same_name"]) for p in again["present"]] == [
        (2, f"I1-{tag}", True),
        (4, f"I2-{tag}", True),
    ]
    assert len(search(as_admin, q=tag)) == 2


def test_a_semicolon_list_with_a_bom_and_an_existing_patient_under_another_spelling(
    as_admin: TestClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    existing = register(as_admin, f"MRN {tag}", "Already Here")
    text = f"Clinic ID;Name\nmrn   {tag};Someone Else\nNEW {tag};Zoë Ångström\n"
    report = csv_import(as_admin, "\ufeff" + text).json()
    assert report["delimiter"] == ";"
    (present,) = report["present"]
    assert (present["id"], present["display_name"], present["same_name"]) == (
        existing["id"],
        "Already Here",
        False,
    )
    assert (present["clinic_id"], present["registered_clinic_id"]) == (
        f"mrn {tag}",
        f"MRN {tag}",
    )
    assert [c["display_name"] for c in report["created"]] == ["Zoë Ångström"]
    assert search(as_admin, q=f"MRN {tag}")[0]["display_name"] == "Already Here"


def test_a_dry_run_reports_and_registers_nothing(as_admin: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    report = csv_import(as_admin, f"clinic_id,display_name\nD-{tag},Dry Run\n", dry_run="true")
    assert report.status_code == 200, report.text
    assert [(c["clinic_id"], c["id"]) for c in report.json()["created"]] == [(f"D-{tag}", None)]
    assert search(as_admin, q=f"D-{tag}") == []


def test_a_multipart_upload_is_imported(as_admin: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    response = as_admin.post(
        "/api/patients/import",
        files={"file": ("list.csv", f"clinic_id,display_name\nM-{tag},Multi Part\n", "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert [c["clinic_id"] for c in response.json()["created"]] == [f"M-{tag}"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"name,other\nA,B\n", "no clinic_id column"),
        (b"clinic_id,display_name\nA-1,M\xfcller\n", "line 2: the file is not UTF-8 text"),
        (b"clinic_id,display_name\nA-1,\x00\n", "NUL"),
        (b'clinic_id,display_name\nA-1,"open quote\n', "line"),
        (b"clinic_id,clinic_id,display_name\n", "twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_422_saying_why(
    as_admin: TestClient, data: bytes, words: str
) -> None:
    response = csv_import(as_admin, data)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"][0]["msg"]


def test_an_oversized_file_is_413_and_another_type_415(as_admin: TestClient) -> None:
    big = b"clinic_id,display_name\n" + b"X" * (1024 * 1024)
    assert csv_import(as_admin, big).status_code == 413
    response = as_admin.post("/api/patients/import", json={"clinic_id": "A"})
    assert response.status_code == 415, response.text


def test_a_row_with_a_stray_separator_is_rejected_alone(as_admin: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    report = csv_import(
        as_admin, f"clinic_id,display_name\nS1-{tag},Ann,extra\nS2-{tag},Bea\n"
    ).json()
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [(2, None)]
    assert [c["clinic_id"] for c in report["created"]] == [f"S2-{tag}"]


@pytest.mark.parametrize("role", [Role.NURSE, Role.STAFF])
def test_only_admins_import(as_role: RoleClient, role: Role) -> None:
    response = csv_import(as_role(role), "clinic_id,display_name\nX,Y\n")
    assert response.status_code == 403, response.text


# --- migration 0014 ------------------------------------------------------------------------------


def test_migration_0014_keeps_every_old_patient_under_a_unique_identifier(
    tmp_path: Path,
) -> None:
    """Old data may hold one identifier spelled twice: the earliest keeps it, later ones are
    renamed and the rename is in their history; the simulator's patients are marked."""
    with empty_database(tmp_path) as url:
        upgrade(url, "0010")
        engine = create_engine(url)
        meta = MetaData()
        patients = Table("patients", meta, autoload_with=engine)
        sessions = Table("infusion_sessions", meta, autoload_with=engine)
        now = datetime.now(UTC)
        old = [" mrn 7", "MRN 7", "MRN  7 ", "Other 1", "SIM-AB12", "SIM-CD34", "x" * 64, "X" * 64]
        try:
            with engine.begin() as conn:
                for clinic_id in old:
                    conn.execute(
                        patients.insert().values(
                            clinic_id=clinic_id, display_name=f"Name of {clinic_id}", created_at=now
                        )
                    )
                ids = dict(conn.execute(select(patients.c.clinic_id, patients.c.id)).all())
                # SIM-CD34 had a real session: a real patient, whatever the identifier says.
                for clinic_id, simulated in (("SIM-AB12", True), ("SIM-CD34", False)):
                    conn.execute(
                        sessions.insert().values(
                            patient_id=ids[clinic_id],
                            chair=f"Chair {clinic_id}",
                            drug="ketamine",
                            route="iv",
                            simulated=simulated,
                            phase="stopped",
                            phase_changed_at=now,
                            created_at=now,
                            created_by="test",
                            ended_at=now,
                        )
                    )
            upgrade(url)
            meta = MetaData()
            patients = Table("patients", meta, autoload_with=engine)
            changes = Table("patient_changes", meta, autoload_with=engine)
            with engine.connect() as conn:
                stored = {
                    row.id: (row.clinic_id, row.clinic_key, row.simulated)
                    for row in conn.execute(select(patients))
                }
                history = conn.execute(
                    select(changes.c.patient_id, changes.c.old_value, changes.c.new_value)
                ).all()
        finally:
            engine.dispose()
    assert stored[ids[" mrn 7"]][:2] == ("mrn 7", "mrn 7")  # the earliest keeps it, trimmed
    assert stored[ids["MRN 7"]][0] == f"MRN 7 [dup {ids['MRN 7']}]"
    assert stored[ids["MRN  7 "]][0] == f"MRN 7 [dup {ids['MRN  7 ']}]"
    assert stored[ids["Other 1"]][0] == "Other 1"
    long_dup = stored[ids["X" * 64]][0]
    assert len(long_dup) == 64 and long_dup.endswith(f" [dup {ids['X' * 64]}]")
    assert len({key for _, key, _ in stored.values()}) == len(old)
    assert (stored[ids["SIM-AB12"]][2], stored[ids["SIM-CD34"]][2]) == (True, False)
    assert stored[ids["Other 1"]][2] is False
    assert (ids["MRN 7"], "MRN 7", f"MRN 7 [dup {ids['MRN 7']}]") in history
    assert (ids[" mrn 7"], " mrn 7", "mrn 7") in history
    assert len(history) == 4


def test_an_import_racing_another_registration_refuses_only_that_row(
    as_admin: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered by someone else between the import's look-up and its write (PostgreSQL runs
    them side by side): that row is refused, naming the ID; the rest of its batch is stored."""
    tag = uuid.uuid4().hex[:8]
    register(as_admin, f"RACE-{tag}-2", "Got There First")
    monkeypatch.setattr(service, "_holders", lambda db, keys: {})  # the look-up misses it
    admin = Actor(kind="user", id=1, name="test-admin", role=Role.ADMIN)
    text = "".join(f"RACE-{tag}-{n},Racer {n}\n" for n in range(1, 4))
    with database.unit_of_work(write=True) as db:
        report = service.import_patients(
            db, f"clinic_id,display_name\n{text}".encode(), admin, dry_run=False
        )
    assert [c.line for c in report.created] == [2, 4]
    assert [(r.line, r.field) for r in report.rejected] == [(3, "clinic_id")]
    assert "registered by someone else" in report.rejected[0].reason
    assert names(search(as_admin, q=f"race-{tag}")) == ["Got There First", "Racer 1", "Racer 3"]
