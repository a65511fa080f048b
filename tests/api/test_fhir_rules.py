"""The FHIR builder on records the API cannot easily make: a half blood pressure, an alarm
withdrawn with its reading, readings from a token client and from malformed device names, a
second device, a stale NEWS2 input. Pure: no database, milliseconds."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from backend.fhir.rules import device_eui64, eui64_text, session_bundle
from backend.reports.record import AlarmRow, Place, ReadingRow, SessionRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Json = dict[str, Any]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(rid: str, minutes: float, entered_by: str = "nurse", **values: Any) -> ReadingRow:
    source = "manual" if entered_by == "nurse" else "device"
    return ReadingRow(rid, at(minutes), at(minutes), source, entered_by, values)


def alarm(aid: int, reading_id: str | None, condition: str, **fields: Any) -> AlarmRow:
    base = AlarmRow(
        id=aid,
        condition=condition,
        kind="physiological",
        priority="medium",
        status="resolved",
        message="Heart rate 130 above 120",
        value=130,
        raised_at=at(5),
        acknowledged_at=None,
        acknowledged_by=None,
        note=None,
        resolved_at=at(6),
        escalated_at=None,
        withdrawn_reason=None,
        reading_id=reading_id,
    )
    return replace(base, **fields)


def record(
    *readings: ReadingRow, alarms: tuple[AlarmRow, ...] = (), **fields: Any
) -> SessionRecord:
    base = SessionRecord(
        id=7,
        simulated=False,
        patient_name="A Patient",
        patient_clinic_id="M1",
        chair="C1",
        drug="esketamine",
        route="intranasal",
        planned_dose_mg=None,
        weight_kg=None,
        planned_duration_min=None,
        created_at=T0,
        created_by="nurse",
        ended_at=None,
        phase="infusing",
        notes=None,
        gate_override_by=None,
        gate_override_at=None,
        spo2_scale=1,
        news2_max_age=timedelta(minutes=30),
        generated_at=at(60),
        readings=readings,
        alarms=alarms,
        patient_id=3,
        place=Place(site_id=1, site="North", room_id=2, room="Room 1", chair_id=4),
    )
    return replace(base, **fields)


def built(r: SessionRecord) -> Json:
    bundle = session_bundle(r)
    Bundle.model_validate(bundle)
    return bundle


def of_type(bundle: Json, kind: str) -> list[Json]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_blood_pressure_missing_its_diastolic_says_so_in_the_component() -> None:
    bundle = built(record(reading("r1", 1, systolic=130)))
    (bp,) = of_type(bundle, "Observation")
    systolic, diastolic = bp["component"]
    assert systolic["valueQuantity"]["value"] == 130
    assert "valueQuantity" not in diastolic
    assert diastolic["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert diastolic["code"]["coding"][0]["code"] == "8462-4"


def test_an_alarm_withdrawn_with_its_reading_is_entered_in_error() -> None:
    withdrawn = alarm(1, "r1", "heart_rate.above", withdrawn_reason="its reading was struck")
    bundle = built(record(reading("r1", 1, heart_rate=130), alarms=(withdrawn,)))
    (issue,) = of_type(bundle, "DetectedIssue")
    assert issue["status"] == "entered-in-error"
    assert issue["severity"] == "moderate"
    assert "withdrawn: its reading was struck" in issue["detail"]
    (hr,) = of_type(bundle, "Observation")
    assert issue["implicated"] == [{"reference": f"urn:uuid:{hr['id']}"}]


def test_a_technical_alarm_implicates_nothing() -> None:
    bundle = built(record(alarms=(alarm(2, None, "no_data", kind="technical", priority="low"),)))
    (issue,) = of_type(bundle, "DetectedIssue")
    assert "implicated" not in issue and issue["severity"] == "low"


def test_each_device_once_and_only_well_formed_eui64s_become_devices() -> None:
    r = record(
        reading("r1", 1, "device:0012a3fffe4b5c6d", heart_rate=70),
        reading("r2", 2, "device:0012A3FFFE4B5C6D", heart_rate=71),
        reading("r3", 3, "device:AABBCCDDEEFF0011", spo2=97),
        reading("r4", 4, "device:not-an-eui", heart_rate=72),
        reading("r5", 5, "token:gateway-1", heart_rate=73),
    )
    bundle = built(r)
    devices = of_type(bundle, "Device")
    assert [d["identifier"][0]["value"] for d in devices] == [
        "00-12-A3-FF-FE-4B-5C-6D",
        "AA-BB-CC-DD-EE-FF-00-11",
    ]
    by_reading = {
        o["identifier"][0]["value"].split("/")[0]: o for o in of_type(bundle, "Observation")
    }
    assert by_reading["r1"]["device"] == by_reading["r2"]["device"]
    assert by_reading["r3"]["device"]["reference"] == f"urn:uuid:{devices[1]['id']}"
    # Without an EUI-64 there is no device to name: who entered it is said instead, no MDC code.
    for rid, who in (("r4", "device:not-an-eui"), ("r5", "token:gateway-1")):
        assert by_reading[rid]["performer"] == [{"display": who}]
        assert [c["system"] for c in by_reading[rid]["code"]["coding"]] == ["http://loinc.org"]


@pytest.mark.parametrize(
    ("entered_by", "eui"),
    [
        ("device:0012A3FFFE4B5C6D", "0012A3FFFE4B5C6D"),
        ("device:0012a3fffe4b5c6d", "0012A3FFFE4B5C6D"),
        ("device:0012A3FFFE4B5C6", None),
        ("device:0012A3FFFE4B5C6DD", None),
        ("device:0012A3FFFE4B5C6G", None),
        ("nurse", None),
        ("token:0012A3FFFE4B5C6D", None),
    ],
)
def test_the_eui64_of_a_readings_device(entered_by: str, eui: str | None) -> None:
    assert device_eui64(entered_by) == eui


def test_an_eui64_is_written_as_hyphenated_octets() -> None:
    assert eui64_text("0012A3FFFE4B5C6D") == "00-12-A3-FF-FE-4B-5C-6D"


def test_news2_names_the_reading_each_value_came_from_even_an_earlier_one() -> None:
    full: dict[str, Any] = {
        "respiratory_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "heart_rate": 72,
    }
    r = record(
        reading("early", 1, **full, consciousness="A", temperature=36.8),
        reading("round", 10, systolic=124, diastolic=80),
    )
    bundle = built(r)
    observations = {o["id"]: o for o in of_type(bundle, "Observation")}
    (news2,) = [o for o in observations.values() if o["code"]["text"] == "NEWS2 total score"]
    assert news2["valueInteger"] == 0
    sources = [
        observations[d["reference"].removeprefix("urn:uuid:")]["identifier"][0]["value"]
        for d in news2["derivedFrom"]
    ]
    assert sorted(sources) == sorted(
        [
            "early/respiratory_rate",
            "early/spo2",
            "early/on_oxygen",
            "round/bp",
            "early/heart_rate",
            "early/consciousness",
            "early/temperature",
        ]
    )


def test_new_confusion_has_vigils_code_and_no_invented_snomed_one() -> None:
    bundle = built(record(reading("r1", 1, consciousness="C")))
    (obs,) = of_type(bundle, "Observation")
    value = obs["valueCodeableConcept"]
    assert [c["system"] for c in value["coding"]] == ["https://vigil.invalid/fhir/CodeSystem/acvpu"]
    assert value["text"] == "New confusion"


def test_the_encounter_names_drug_and_route_as_the_report_does() -> None:
    (enc,) = of_type(built(record()), "Encounter")
    assert enc["type"] == [{"text": "Esketamine intranasal session"}]
    assert enc["status"] == "in-progress"


def test_the_same_record_gives_the_same_resource_ids() -> None:
    r = record(reading("r1", 1, heart_rate=70))
    first, again = built(r), built(replace(r, generated_at=at(90)))
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]


def test_a_time_without_its_offset_is_never_written() -> None:
    naive = replace(reading("r1", 1, heart_rate=70), taken_at=datetime(2026, 3, 2, 9, 1))
    with pytest.raises(ValueError, match="no UTC offset"):
        session_bundle(record(naive))
