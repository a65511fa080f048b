"""The session record as a FHIR R4 Bundle: GET /api/sessions/{id}/fhir.

Every Bundle is read back with the fhir.resources R4B models, every reference must resolve inside
it, and every vital-signs Observation is checked against what the FHIR R4 vital-signs profiles
require (category, LOINC code, UCUM quantity, subject, time with its offset).
"""

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from sqlalchemy import update

from backend.core.database import Database
from backend.core.roles import Role
from backend.readings.models import Reading
from tests.api.support import (
    ACTION,
    RoleClient,
    patient_id,
    simulated_session,
    unique,
    walk_a_session,
)
from tests.conftest import ROLE_USERS
from tests.helpers import Client, new_session, post_reading

Json = dict[str, Any]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
HTEST = ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST")
EUI64 = "0012A3FFFE4B5C6D"
# What each FHIR R4 vital-signs profile fixes: its URL, the LOINC code it requires, the UCUM unit.
PROFILES = {
    "8867-4": ("http://hl7.org/fhir/StructureDefinition/heartrate", "/min"),
    "2708-6": ("http://hl7.org/fhir/StructureDefinition/oxygensat", "%"),
    "9279-1": ("http://hl7.org/fhir/StructureDefinition/resprate", "/min"),
    "8310-5": ("http://hl7.org/fhir/StructureDefinition/bodytemp", "Cel"),
    "85354-9": ("http://hl7.org/fhir/StructureDefinition/bp", None),
}


def record(client: Client, session_id: int, **vitals: Any) -> Json:
    response = post_reading(client, session_id, **vitals)
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def from_device(database: Database, reading_id: str, eui64: str = EUI64) -> None:
    """Make a stored reading one a monitor sent, as the devices domain stores them."""
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(Reading)
            .where(Reading.id == reading_id)
            .values(source="device", entered_by=f"device:{eui64}")
        )


def fetch(client: Client, session_id: int) -> Json:
    response = client.get(f"/api/sessions/{session_id}/fhir")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="vigil-session-{session_id}-')
    assert disposition.endswith('.fhir.json"')
    # Read back with the R4B models: every resource, typed, as another system would.
    parsed = Bundle.model_validate_json(response.text)
    assert parsed.type == "collection"
    bundle: Json = response.json()
    check_references(bundle)
    return bundle


def check_references(bundle: Json) -> None:
    """Every fullUrl is unique and every reference in the Bundle names one of them."""
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                found.append(node["reference"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle["entry"])
    assert found, "a session's Bundle has references"
    assert set(found) <= set(urls), set(found) - set(urls)


def of_type(bundle: Json, resource_type: str) -> list[Json]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def by_url(bundle: Json) -> dict[str, Json]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def codes_of(concept: Json, system: str = LOINC) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def observations_of(bundle: Json, reading_id: str) -> dict[str, Json]:
    """The Observations made from one reading, by their first code."""
    found = {}
    for obs in of_type(bundle, "Observation"):
        for identifier in obs.get("identifier", []):
            if identifier["value"].startswith(f"{reading_id}/"):
                found[obs["code"]["coding"][0]["code"]] = obs
    return found


def offset_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() is not None, f"{value!r} has no offset"
    return moment


def check_vital_signs(obs: Json, patient_url: str, encounter_url: str) -> None:
    """What the FHIR R4 vital-signs profile (and the vital's own profile) require."""
    Observation.model_validate(obs)
    assert obs["status"] in ("final", "entered-in-error")
    assert any(
        c["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
        and c["code"] == "vital-signs"
        for cat in obs["category"]
        for c in cat["coding"]
    )
    loinc = codes_of(obs["code"])
    (required,) = [code for code in loinc if code in PROFILES]
    profile, unit = PROFILES[required]
    assert set(obs["meta"]["profile"]) >= {
        "http://hl7.org/fhir/StructureDefinition/vitalsigns",
        profile,
    }
    assert all("system" in c for c in obs["code"]["coding"])  # "all codes SHALL have a system"
    assert obs["subject"]["reference"] == patient_url
    assert obs["encounter"]["reference"] == encounter_url
    offset_time(obs["effectiveDateTime"])
    quantities = (
        [obs["valueQuantity"]]
        if unit is not None
        else [c["valueQuantity"] for c in obs["component"] if "valueQuantity" in c]
    )
    assert quantities
    for q in quantities:
        assert isinstance(q["value"], (int, float))
        assert q["system"] == UCUM and q["unit"]
        assert q["code"] == (unit or "mm[Hg]")


@pytest.fixture
def finished(as_nurse: TestClient, database: Database) -> Json:
    """A real session taken through every phase (support.walk_a_session), its partial set
    (heart rate and SpO2 while infusing) a monitor's."""
    walked = walk_a_session(as_nurse, unique("Ann O'Hara"))
    from_device(database, walked["partial"]["id"])
    return {**walked, "monitor": walked["partial"]}


def test_the_bundle_holds_patient_encounter_place_and_every_vital_as_the_profiles_ask(
    as_nurse: TestClient, finished: Json
) -> None:
    session, patient = finished["session"], finished["patient"]
    bundle = fetch(as_nurse, session["id"])
    urls = by_url(bundle)
    assert "meta" not in bundle  # a real session carries no simulation tag

    (pat,) = of_type(bundle, "Patient")
    Patient.model_validate(pat)
    assert pat["name"][0]["text"] == patient["display_name"]
    (mrn,) = [
        i for i in pat["identifier"] if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR"
    ]
    assert mrn["value"] == patient["clinic_id"]
    patient_url = f"urn:uuid:{pat['id']}"

    (enc,) = of_type(bundle, "Encounter")
    Encounter.model_validate(enc)
    encounter_url = f"urn:uuid:{enc['id']}"
    assert enc["status"] == "finished"
    assert enc["class"]["code"] == "AMB"
    assert enc["subject"]["reference"] == patient_url
    assert offset_time(enc["period"]["start"]) == offset_time(session["created_at"])
    assert offset_time(enc["period"]["end"]) == offset_time(session["ended_at"])
    # The chair, part of its room, part of its site: as the session names them.
    chair = urls[enc["location"][0]["location"]["reference"]]
    room = urls[chair["partOf"]["reference"]]
    site = urls[room["partOf"]["reference"]]
    for place in (chair, room, site):
        Location.model_validate(place)
    assert (chair["name"], room["name"], site["name"]) == (
        session["chair"],
        session["room"],
        session["site"],
    )
    assert [p["physicalType"]["coding"][0]["code"] for p in (chair, room, site)] == [
        "bd",
        "ro",
        "si",
    ]

    vitals = [
        o
        for o in of_type(bundle, "Observation")
        if any(c["code"] == "vital-signs" for cat in o["category"] for c in cat["coding"])
    ]
    assert len(vitals) == 5 + 2 + 1 + 1  # the full set, the monitor's two, the surge, the error
    for obs in vitals:
        check_vital_signs(obs, patient_url, encounter_url)

    full = observations_of(bundle, finished["full"]["id"])
    assert full["8867-4"]["valueQuantity"]["value"] == 95
    assert codes_of(full["2708-6"]["code"]) == ["2708-6", "59408-5"]
    assert full["2708-6"]["valueQuantity"]["value"] == 95
    assert full["9279-1"]["valueQuantity"]["value"] == 22
    assert full["8310-5"]["valueQuantity"] == {
        "value": 38.2,
        "unit": "Cel",
        "system": UCUM,
        "code": "Cel",
    }
    bp = full["85354-9"]
    assert "valueQuantity" not in bp
    parts = {codes_of(c["code"])[0]: c["valueQuantity"]["value"] for c in bp["component"]}
    assert parts == {"8480-6": 120, "8462-4": 78}
    # A nurse's reading names who took it and no device.
    assert full["8867-4"]["performer"] == [{"display": ROLE_USERS[Role.NURSE]}]
    assert "device" not in full["8867-4"] and codes_of(full["8867-4"]["code"], MDC) == []
    assert offset_time(full["8867-4"]["effectiveDateTime"]) == offset_time(
        finished["full"]["taken_at"]
    )


def test_consciousness_sedation_and_oxygen_are_coded_observations(
    as_nurse: TestClient, finished: Json
) -> None:
    bundle = fetch(as_nurse, finished["session"]["id"])
    seen = observations_of(bundle, finished["seen"]["id"])
    acvpu = seen["67775-7"]
    assert codes_of(acvpu["valueCodeableConcept"], "http://snomed.info/sct") == ["248234008"]
    assert acvpu["valueCodeableConcept"]["text"] == "Alert"
    (sedation,) = [o for o in seen.values() if o["code"]["coding"][0]["code"] == "moaas"]
    assert sedation["valueInteger"] == 5
    full = observations_of(bundle, finished["full"]["id"])
    assert full["supplemental-oxygen"]["valueBoolean"] is False


def test_a_monitors_readings_name_its_device_by_eui64_with_mdc_codes(
    as_nurse: TestClient, finished: Json
) -> None:
    bundle = fetch(as_nurse, finished["session"]["id"])
    (device,) = of_type(bundle, "Device")
    Device.model_validate(device)
    (identifier,) = device["identifier"]
    assert identifier["system"] == "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
    assert identifier["value"] == "00-12-A3-FF-FE-4B-5C-6D"
    assert identifier["type"]["coding"][0]["code"] == "SYSID"

    monitor = observations_of(bundle, finished["monitor"]["id"])
    assert set(monitor) == {"8867-4", "2708-6"}
    for obs in monitor.values():
        assert obs["device"]["reference"] == f"urn:uuid:{device['id']}"
        assert "performer" not in obs
    assert codes_of(monitor["8867-4"]["code"], MDC) == ["147842"]
    assert codes_of(monitor["2708-6"]["code"], MDC) == ["150456"]
    assert codes_of(monitor["8867-4"]["code"])[0] == "8867-4"  # LOINC first, MDC beside it


def test_a_struck_reading_stays_with_status_entered_in_error_and_why(
    as_nurse: TestClient, finished: Json
) -> None:
    bundle = fetch(as_nurse, finished["session"]["id"])
    wrong = observations_of(bundle, finished["wrong"]["id"])["8867-4"]
    assert wrong["status"] == "entered-in-error"
    assert wrong["valueQuantity"]["value"] == 250
    assert "Probe artefact: 25 was meant" in wrong["note"][0]["text"]
    others = [o for o in of_type(bundle, "Observation") if o is not wrong]
    assert {o["status"] for o in others} == {"final"}


def test_news2_is_derived_from_the_observations_it_scored(
    as_nurse: TestClient, finished: Json
) -> None:
    bundle = fetch(as_nurse, finished["session"]["id"])
    urls = by_url(bundle)
    news2 = [
        o
        for o in of_type(bundle, "Observation")
        if "1104051000000101" in codes_of(o["code"], "http://snomed.info/sct")
    ]
    first = news2[0]
    assert first["valueInteger"] == 5
    assert first["interpretation"][0]["coding"][0]["code"] == "medium"
    assert offset_time(first["effectiveDateTime"]) == offset_time(finished["full"]["taken_at"])
    inputs = [urls[r["reference"]] for r in first["derivedFrom"]]
    full = observations_of(bundle, finished["full"]["id"])
    # Seven parameters from six vitals' Observations and the "air or oxygen" one (SBP is the
    # BP panel's): each an Observation of the full set.
    assert sorted(o["id"] for o in inputs) == sorted(
        full[code]["id"]
        for code in (
            "9279-1",
            "2708-6",
            "supplemental-oxygen",
            "85354-9",
            "8867-4",
            "67775-7",
            "8310-5",
        )
    )
    points = {c["code"]["coding"][0]["code"]: c["valueInteger"] for c in first["component"]}
    assert sum(points.values()) == 5 and len(points) == 7


def test_an_alarm_is_a_detected_issue_implicating_its_reading(
    as_nurse: TestClient, finished: Json
) -> None:
    bundle = fetch(as_nurse, finished["session"]["id"])
    urls = by_url(bundle)
    issues = {i["identifier"][0]["value"]: i for i in of_type(bundle, "DetectedIssue")}
    issue = issues[str(finished["alarm"]["id"])]
    DetectedIssue.model_validate(issue)
    assert issue["status"] == "final"
    assert issue["severity"] == "high"
    assert offset_time(issue["identifiedDateTime"]) == offset_time(finished["alarm"]["raised_at"])
    assert issue["detail"].startswith("high priority physiological alarm")
    (implicated,) = issue["implicated"]
    surge_bp = observations_of(bundle, finished["surge"]["id"])["85354-9"]
    assert urls[implicated["reference"]] is surge_bp
    (mitigation,) = issue["mitigation"]
    assert mitigation["action"]["text"] == f"Acknowledged: {ACTION}"
    assert mitigation["author"]["display"] == ROLE_USERS[Role.NURSE]


def test_exporting_a_real_session_is_on_the_audit_trail(
    as_nurse: TestClient, as_admin: TestClient
) -> None:
    sid = new_session(as_nurse)["id"]
    fetch(as_nurse, sid)
    response = as_admin.get("/api/audit", params={"session_id": sid, "action": "report.fhir"})
    assert response.status_code == 200, response.text
    (entry,) = response.json()["items"]
    assert entry["actor_name"] == ROLE_USERS[Role.NURSE]


def test_a_simulated_session_is_tagged_on_every_resource_and_not_audited(
    as_trainer: TestClient, as_admin: TestClient
) -> None:
    sid = simulated_session(as_trainer, patient_id(as_trainer))["id"]
    record(as_trainer, sid, heart_rate=72, systolic=118, diastolic=76, spo2=98)
    response = as_trainer.get(f"/api/sessions/{sid}/fhir")
    assert "-SIMULATED.fhir.json" in response.headers["content-disposition"]
    bundle = fetch(as_trainer, sid)
    resources = [bundle, *(e["resource"] for e in bundle["entry"])]
    assert {r["resourceType"] for r in resources} >= {
        "Bundle",
        "Patient",
        "Encounter",
        "Observation",
    }
    for resource in resources:
        tags = {(t["system"], t["code"]) for t in resource["meta"]["tag"]}
        assert HTEST in tags, resource["resourceType"]
    (pat,) = of_type(bundle, "Patient")
    assert pat["name"][0]["text"].endswith("(SIMULATED)")
    audited = as_admin.get("/api/audit", params={"session_id": sid, "action": "report.fhir"})
    assert audited.json()["items"] == []


def test_a_session_in_progress_is_an_encounter_in_progress_without_an_end(
    as_nurse: TestClient,
) -> None:
    sid = new_session(as_nurse)["id"]
    bundle = fetch(as_nurse, sid)
    (enc,) = of_type(bundle, "Encounter")
    assert enc["status"] == "in-progress"
    assert "end" not in enc["period"]
    assert enc["location"][0]["status"] == "active"


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN, Role.NURSE])
def test_every_clinical_role_may_export_and_a_trainer_not_a_real_one(
    as_role: RoleClient, as_trainer: TestClient, as_nurse: TestClient, role: Role
) -> None:
    sid = new_session(as_nurse)["id"]
    assert as_role(role).get(f"/api/sessions/{sid}/fhir").status_code == 200
    refused = as_trainer.get(f"/api/sessions/{sid}/fhir")
    assert refused.status_code == 403
    assert "simulated" in refused.json()["detail"]


def test_signed_out_is_401(client: TestClient, as_nurse: TestClient) -> None:
    sid = new_session(as_nurse)["id"]
    assert client.get(f"/api/sessions/{sid}/fhir").status_code == 401


def test_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.get(f"/api/sessions/{2**31 - 1}/fhir")
    assert response.status_code == 404
    assert str(2**31 - 1) in response.json()["detail"]


@pytest.mark.parametrize(
    "bad",
    [
        "0",
        "-1",
        "2147483648",
        "99999999999999999999999",
        "abc",
        "1.5",
        "NaN",
        "true",
        "%00",
        "%ED%A0%80",
        "1e3",
    ],
)
def test_a_hostile_id_is_refused_naming_it_never_a_500(as_nurse: TestClient, bad: str) -> None:
    response = as_nurse.get(f"/api/sessions/{bad}/fhir")
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        # The id, or a path that is not text at all (refused before routing), named.
        assert response.json()["detail"][0]["loc"][-1] in ("session_id", "path")
