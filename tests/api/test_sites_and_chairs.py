"""Sites, rooms and chairs are configured, not typed: a session starts on a configured chair, one
open session per chair and one real open session per patient, and a drill never takes a
patient's chair."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import error_at, message, move, unique
from tests.helpers import new_patient


def make_site(admin: TestClient, name: str | None = None) -> dict[str, Any]:
    response = admin.post("/api/sites", json={"name": name or unique("Site")})
    assert response.status_code == 201, response.text
    site: dict[str, Any] = response.json()
    return site


def make_room(admin: TestClient, site_id: int, name: str = "Main room") -> dict[str, Any]:
    response = admin.post(f"/api/sites/{site_id}/rooms", json={"name": name})
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


def make_chair(admin: TestClient, room_id: int, name: str, **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/chairs", json={"room_id": room_id, "name": name, **fields})
    assert response.status_code == 201, response.text
    chair: dict[str, Any] = response.json()
    return chair


@pytest.fixture
def room(as_admin: TestClient) -> dict[str, Any]:
    return make_room(as_admin, make_site(as_admin)["id"])


def start(client: TestClient, **fields: Any) -> Any:
    body = {"patient_id": new_patient(client)["id"], "drug": "ketamine", "route": "iv", **fields}
    return client.post("/api/sessions", json=body)


def test_an_admin_configures_sites_rooms_and_chairs_and_everyone_reads_them(
    as_admin: TestClient, as_nurse: TestClient, as_trainer: TestClient
) -> None:
    site = make_site(as_admin, "  Riverside   clinic ")
    assert site["name"] == "Riverside clinic"  # tidied
    main = make_room(as_admin, site["id"], "Main room")
    side = make_room(as_admin, site["id"], "Side room")
    make_chair(as_admin, main["id"], "Chair 10")
    make_chair(as_admin, main["id"], "Chair 2")
    make_chair(as_admin, side["id"], "Recliner", position=0)
    listed = next(s for s in as_nurse.get("/api/sites").json() if s["id"] == site["id"])
    assert [r["name"] for r in listed["rooms"]] == ["Main room", "Side room"]
    # The room's order: added last comes last, whatever its name.
    assert [c["name"] for c in listed["rooms"][0]["chairs"]] == ["Chair 10", "Chair 2"]
    chairs = as_trainer.get("/api/chairs", params={"site_id": site["id"]}).json()
    assert [(c["room"], c["name"], c["site"]) for c in chairs] == [
        ("Main room", "Chair 10", "Riverside clinic"),
        ("Main room", "Chair 2", "Riverside clinic"),
        ("Side room", "Recliner", "Riverside clinic"),
    ]
    for client in (as_nurse, as_trainer):
        assert client.post("/api/sites", json={"name": unique("S")}).status_code == 403
        assert (
            client.post("/api/chairs", json={"room_id": main["id"], "name": "X"}).status_code == 403
        )
        assert client.patch(f"/api/sites/{site['id']}", json={"name": "Y"}).status_code == 403


def test_a_chairs_name_is_unique_in_its_room_whatever_its_capitals_and_spaces(
    as_admin: TestClient, room: dict[str, Any]
) -> None:
    make_chair(as_admin, room["id"], "Chair 7")
    twin = as_admin.post("/api/chairs", json={"room_id": room["id"], "name": " chair   7 "})
    assert twin.status_code == 409, twin.text
    assert "Chair 7" in message(twin)
    other_room = make_room(as_admin, room["site_id"], "Quiet room")
    assert make_chair(as_admin, other_room["id"], "Chair 7")["room"] == "Quiet room"
    # Renaming into a taken name is refused the same way.
    eight = make_chair(as_admin, room["id"], "Chair 8")
    renamed = as_admin.patch(f"/api/chairs/{eight['id']}", json={"name": "CHAIR 7"})
    assert renamed.status_code == 409, renamed.text
    site = unique("Site")
    make_site(as_admin, site)
    assert as_admin.post("/api/sites", json={"name": f" {site.upper()} "}).status_code == 409
    bad = as_admin.post("/api/chairs", json={"room_id": 2_000_000_000, "name": "Chair 1"})
    assert "no room" in error_at(bad, "body", "room_id")["msg"]
    blank = as_admin.post("/api/chairs", json={"room_id": room["id"], "name": "   "})
    error_at(blank, "body", "name")


def test_a_session_starts_on_a_configured_chair_by_id_or_by_its_name_however_spelt(
    as_admin: TestClient, as_nurse: TestClient, room: dict[str, Any]
) -> None:
    name = unique("Chair")
    chair = make_chair(as_admin, room["id"], name)
    by_name = start(as_nurse, chair=f"  {name.upper()}  ")
    assert by_name.status_code == 201, by_name.text
    session = by_name.json()
    assert session["chair_id"] == chair["id"]
    assert session["chair"] == name  # the configured spelling, kept as the record's copy
    assert (session["room_id"], session["room"]) == (room["id"], "Main room")
    assert (session["site_id"], session["site"]) == (room["site_id"], chair["site"])
    move(as_nurse, session["id"], "stopped")
    by_id = start(as_nurse, chair_id=chair["id"])
    assert by_id.status_code == 201, by_id.text
    assert as_nurse.get(f"/api/sessions/{by_id.json()['id']}").json()["room"] == "Main room"


def test_an_unknown_retired_or_ambiguous_chair_is_a_422_naming_the_field(
    as_admin: TestClient, as_nurse: TestClient, room: dict[str, Any]
) -> None:
    assert "no chair named" in error_at(start(as_nurse, chair="Nowhere 99"), "body", "chair")["msg"]
    assert (
        "no chair" in error_at(start(as_nurse, chair_id=2_000_000_000), "body", "chair_id")["msg"]
    )
    assert "chair_id" in error_at(start(as_nurse), "body", "chair_id")["msg"]
    name = unique("Chair")
    chair = make_chair(as_admin, room["id"], name)
    retired = as_admin.patch(f"/api/chairs/{chair['id']}", json={"active": False})
    assert retired.json()["active"] is False
    assert "retired" in error_at(start(as_nurse, chair_id=chair["id"]), "body", "chair_id")["msg"]
    assert "retired" in error_at(start(as_nurse, chair=name), "body", "chair")["msg"]
    # Retired, it leaves the pickers; the record's list still has it.
    assert chair["id"] not in [c["id"] for c in as_nurse.get("/api/chairs").json()]
    everything = as_nurse.get("/api/chairs", params={"include_retired": "true"}).json()
    assert chair["id"] in [c["id"] for c in everything]
    # A retired room takes its chairs out of service.
    as_admin.patch(f"/api/chairs/{chair['id']}", json={"active": True})
    as_admin.patch(f"/api/sites/{room['site_id']}/rooms/{room['id']}", json={"active": False})
    assert "retired" in error_at(start(as_nurse, chair_id=chair["id"]), "body", "chair_id")["msg"]
    as_admin.patch(f"/api/sites/{room['site_id']}/rooms/{room['id']}", json={"active": True})
    # One name in two rooms: the name alone is ambiguous.
    other = make_room(as_admin, room["site_id"], "Annexe")
    make_chair(as_admin, other["id"], name)
    ambiguous = error_at(start(as_nurse, chair=name.lower()), "body", "chair")["msg"]
    assert "more than one room" in ambiguous and "chair_id" in ambiguous
    assert start(as_nurse, chair_id=chair["id"]).status_code == 201


def test_one_open_session_per_chair_and_one_real_open_session_per_patient(
    as_admin: TestClient, as_nurse: TestClient, room: dict[str, Any]
) -> None:
    first = make_chair(as_admin, room["id"], unique("Chair"))
    second = make_chair(as_admin, room["id"], unique("Chair"))
    patient = new_patient(as_nurse, "Jo Bloggs")
    body = {"patient_id": patient["id"], "drug": "ketamine", "route": "iv"}
    running = as_nurse.post("/api/sessions", json={**body, "chair_id": first["id"]})
    assert running.status_code == 201, running.text
    taken = start(as_nurse, chair_id=first["id"])
    assert taken.status_code == 409 and first["name"] in message(taken)
    again = as_nurse.post("/api/sessions", json={**body, "chair_id": second["id"]})
    assert again.status_code == 409, again.text
    assert "Jo Bloggs" in message(again) and first["name"] in message(again)
    move(as_nurse, running.json()["id"], "stopped")
    assert (
        as_nurse.post("/api/sessions", json={**body, "chair_id": second["id"]}).status_code == 201
    )


def test_a_drill_never_takes_a_patients_chair_nor_a_patient_a_drills(
    as_admin: TestClient, as_nurse: TestClient, as_trainer: TestClient, room: dict[str, Any]
) -> None:
    patients_chair = make_chair(as_admin, room["id"], unique("Chair"))
    drill_chair = make_chair(as_admin, room["id"], unique("Chair"))
    assert start(as_nurse, chair_id=patients_chair["id"]).status_code == 201
    drill_on_patient = start(as_trainer, chair_id=patients_chair["id"], simulated=True)
    assert drill_on_patient.status_code == 409
    assert "a patient is on" in message(drill_on_patient)
    drill = start(as_trainer, chair_id=drill_chair["id"], simulated=True)
    assert drill.status_code == 201, drill.text
    patient_on_drill = start(as_nurse, chair_id=drill_chair["id"])
    assert patient_on_drill.status_code == 409
    assert "drill" in message(patient_on_drill) and "Stop" in message(patient_on_drill)
    # The simulations API holds the same rule.
    simulation = as_trainer.post(
        "/api/simulations",
        json={"scenario": "routine_infusion", "chair_id": patients_chair["id"]},
    )
    assert simulation.status_code == 409 and "a patient is on" in message(simulation)
    unknown = as_trainer.post(
        "/api/simulations", json={"scenario": "routine_infusion", "chair": "No such chair"}
    )
    assert "no chair named" in error_at(unknown, "body", "chair")["msg"]
    # Who is on each chair: a trainer learns a patient is there, not which session.
    chairs = {c["id"]: c for c in as_trainer.get("/api/chairs").json()}
    assert chairs[patients_chair["id"]]["occupied_by"] == {"session_id": None, "simulated": False}
    assert chairs[drill_chair["id"]]["occupied_by"] == {
        "session_id": drill.json()["id"],
        "simulated": True,
    }
    nurse_view = {c["id"]: c for c in as_nurse.get("/api/chairs").json()}
    assert nurse_view[patients_chair["id"]]["occupied_by"]["session_id"] is not None


def test_the_ward_filters_by_site_and_room(as_admin: TestClient, as_nurse: TestClient) -> None:
    site = make_site(as_admin)
    main, side = make_room(as_admin, site["id"], "Main"), make_room(as_admin, site["id"], "Side")
    in_main = start(as_nurse, chair_id=make_chair(as_admin, main["id"], "M1")["id"]).json()
    in_side = start(as_nurse, chair_id=make_chair(as_admin, side["id"], "S1")["id"]).json()
    far = make_room(as_admin, make_site(as_admin)["id"])
    elsewhere = start(as_nurse, chair_id=make_chair(as_admin, far["id"], "E1")["id"]).json()

    def ids(**params: Any) -> set[int]:
        response = as_nurse.get("/api/sessions", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()}

    assert {in_main["id"], in_side["id"]} == ids(site_id=site["id"])
    assert {in_side["id"]} == ids(room_id=side["id"])
    assert {in_main["id"], in_side["id"], elsewhere["id"]} <= ids()
    # A chair moved to another room takes its session along.
    moved = as_admin.patch(f"/api/chairs/{in_main['chair_id']}", json={"room_id": side["id"]})
    assert moved.status_code == 200 and moved.json()["room"] == "Side"
    assert {in_main["id"], in_side["id"]} == ids(room_id=side["id"])
    assert as_nurse.get(f"/api/sessions/{in_main['id']}").json()["room"] == "Side"
    error_at(as_nurse.get("/api/sessions", params={"site_id": 0}), "query", "site_id")


def test_a_renamed_chair_keeps_its_sessions_records_name(
    as_admin: TestClient, as_nurse: TestClient, room: dict[str, Any]
) -> None:
    chair = make_chair(as_admin, room["id"], unique("Chair"))
    session = start(as_nurse, chair_id=chair["id"]).json()
    move(as_nurse, session["id"], "stopped")
    renamed = as_admin.patch(f"/api/chairs/{chair['id']}", json={"name": "Window seat"})
    assert renamed.json()["name"] == "Window seat"
    assert as_nurse.get(f"/api/sessions/{session['id']}").json()["chair"] == chair["name"]
