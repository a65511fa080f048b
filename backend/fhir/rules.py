"""A session's record as a FHIR R4 Bundle: pure functions from the record (`SessionRecord`, the
data the printed report and the CSV are made from) to FHIR JSON.

What goes in: the Patient; the session as an Encounter at its chair (a Location, part of its
room, part of its site); a Device for each monitor (EUI-64) that sent readings; one vital-signs
Observation per vital per reading (blood pressure as one panel with its two components),
consciousness, sedation and "air or oxygen" as Observations; each NEWS2 round as an Observation
derived from the Observations it scored; each alarm as a DetectedIssue implicating the reading it
stood on. A reading struck as entered in error stays, with status entered-in-error.

The Bundle is a `collection`, not a `document`: a document is an attested, signed Composition
that can no longer change, while this export is a snapshot of a record that may still be in
progress (the session still running); a collection promises nothing more than a set of related
resources. Entries are named by `urn:uuid:` URLs made from Vigil's own ids (uuid5), so the same
reading exported twice is the same Observation, and references resolve inside the Bundle.
"""

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backend.fhir import codes
from backend.fhir.codes import Code
from backend.reports.html import DRUGS, ROUTES
from backend.reports.record import AlarmRow, News2Point, ReadingRow, SessionRecord, news2_series

Json = dict[str, Any]

# Every id Vigil gives a resource derives from this namespace and Vigil's own key for the thing.
NAMESPACE = uuid.UUID("6f1c2d0e-8b4a-5f3e-9c71-2a4d6b8e0f13")
DEVICE_PREFIX = "device:"  # a reading's entered_by when an identified device sent it
_EUI64 = re.compile(r"[0-9A-F]{16}")
BP = "bp"  # the key of a reading's blood-pressure panel among its Observations


def resource_id(kind: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"vigil/{kind}/{key}"))


def url(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def ref(resource_id: str, display: str | None = None) -> Json:
    return {"reference": url(resource_id), **({"display": display} if display else {})}


def moment(value: datetime) -> str:
    """A FHIR instant/dateTime: always with its offset (Vigil stores UTC)."""
    if value.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return value.isoformat()


def concept(*codings: Code, text: str | None = None) -> Json:
    return {"coding": [c.coding() for c in codings], **({"text": text} if text else {})}


def category(code: str, display: str) -> list[Json]:
    return [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code, "display": display}]}]


VITAL_SIGNS = category("vital-signs", "Vital Signs")


def device_eui64(entered_by: str) -> str | None:
    """The EUI-64 (16 upper-case hex digits) of the device that entered a reading, if one did."""
    if not entered_by.startswith(DEVICE_PREFIX):
        return None
    eui = entered_by.removeprefix(DEVICE_PREFIX).strip().upper()
    return eui if _EUI64.fullmatch(eui) else None


def eui64_text(eui: str) -> str:
    """As the PHD IG writes an EUI-64: the eight octets in hex, separated by hyphens."""
    return "-".join(eui[i : i + 2] for i in range(0, 16, 2))


class Builder:
    """Builds the Bundle of one record; keeps the ids every resource refers to."""

    def __init__(
        self,
        record: SessionRecord,
        sent: Mapping[tuple[str, str], tuple[int, str]],
        labels: Mapping[str, str],
    ) -> None:
        self.record = record
        # (reading id, vital) -> the MDC code its device sent it as; otherwise the vital's own.
        self.sent = sent
        self.labels = labels  # EUI-64 -> what its messages say the device is (its model)
        self.patient_id = resource_id("patient", record.patient_id or record.patient_clinic_id)
        self.encounter_id = resource_id("session", record.id)
        self.entries: list[Json] = []
        # reading id -> its Observations' ids, by vital (BP for the panel)
        self.observations: dict[str, dict[str, str]] = {}

    # -- helpers --------------------------------------------------------------------------
    def meta(self, *profiles: str) -> Json:
        meta: Json = {}
        if profiles:
            meta["profile"] = list(profiles)
        if self.record.simulated:
            meta["tag"] = [dict(tag) for tag in codes.SIMULATED_TAGS]
        return meta

    def add(self, resource: Json) -> None:
        if not resource.get("meta"):
            resource.pop("meta", None)
        self.entries.append({"fullUrl": url(resource["id"]), "resource": resource})

    @property
    def subject(self) -> Json:
        return ref(self.patient_id)

    # -- who and where --------------------------------------------------------------------
    def patient(self) -> None:
        r = self.record
        name = f"{r.patient_name} (SIMULATED)" if r.simulated else r.patient_name
        identifiers: list[Json] = [
            {
                "use": "usual",
                "type": concept(Code(codes.IDENTIFIER_TYPE, "MR", "Medical record number")),
                "value": r.patient_clinic_id,
            }
        ]
        if r.patient_id is not None:
            identifiers.append({"system": codes.VIGIL_PATIENT_ID, "value": str(r.patient_id)})
        patient: Json = {
            "resourceType": "Patient",
            "id": self.patient_id,
            "meta": self.meta(),
            "identifier": identifiers,
            # One name as the clinic entered it: Vigil never splits it into given and family.
            "name": [{"use": "usual", "text": name}],
        }
        if r.patient_date_of_birth is not None:
            patient["birthDate"] = r.patient_date_of_birth.isoformat()
        self.add(patient)

    def locations(self) -> str | None:
        """Site, room and chair as three Locations, each part of the one above; the chair's id."""
        place = self.record.place
        if place is None:
            return None
        site_id = resource_id("site", place.site_id)
        room_id = resource_id("room", place.room_id)
        chair_id = resource_id("chair", place.chair_id)
        levels = (
            (site_id, "site", place.site_id, place.site, "si", "Site", None),
            (room_id, "room", place.room_id, place.room, "ro", "Room", site_id),
            (chair_id, "chair", place.chair_id, self.record.chair, "bd", "Bed", room_id),
        )
        for rid, kind, key, name, physical, display, parent in levels:
            location: Json = {
                "resourceType": "Location",
                "id": rid,
                "meta": self.meta(),
                "identifier": [{"system": codes.VIGIL_PLACE_ID, "value": f"{kind}/{key}"}],
                "status": "active",
                "name": name,
                "mode": "instance",
                # A treatment chair is the space a patient occupies, as a bed is on a ward.
                "physicalType": concept(Code(codes.LOCATION_TYPE, physical, display), text=kind),
            }
            if parent is not None:
                location["partOf"] = ref(parent)
            self.add(location)
        return chair_id

    def encounter(self, chair_id: str | None) -> None:
        r = self.record
        period: Json = {"start": moment(r.created_at)}
        if r.ended_at is not None:
            period["end"] = moment(r.ended_at)
        encounter: Json = {
            "resourceType": "Encounter",
            "id": self.encounter_id,
            "meta": self.meta(),
            "identifier": [{"system": codes.VIGIL_SESSION_ID, "value": str(r.id)}],
            "status": codes.ENCOUNTER_STATUS.get(r.phase, "unknown"),
            "class": codes.AMBULATORY.coding(),
            "type": [
                {"text": f"{DRUGS.get(r.drug, r.drug)} {ROUTES.get(r.route, r.route)} session"}
            ],
            "subject": self.subject,
            "period": period,
        }
        if chair_id is not None:
            encounter["location"] = [
                {
                    "location": ref(chair_id, r.chair),
                    "status": "completed" if r.ended_at is not None else "active",
                    "period": dict(period),
                }
            ]
        self.add(encounter)

    def devices(self) -> dict[str, str]:
        """One Device per EUI-64 that sent a reading; EUI-64 -> its resource id."""
        found: dict[str, str] = {}
        for reading in self.record.readings:
            eui = device_eui64(reading.entered_by)
            if eui is None or eui in found:
                continue
            found[eui] = resource_id("device", eui)
            named: Json = {}
            if eui in self.labels:
                named["deviceName"] = [{"name": self.labels[eui], "type": "model-name"}]
            self.add(
                {
                    "resourceType": "Device",
                    "id": found[eui],
                    "meta": self.meta(),
                    **named,
                    "identifier": [
                        {
                            "type": concept(
                                Code(
                                    codes.DEVICE_IDENTIFIER_TYPE,
                                    "SYSID",
                                    "IEEE 11073 System Identifier",
                                )
                            ),
                            "system": codes.EUI64_SYSTEM,
                            "value": eui64_text(eui),
                        }
                    ],
                    "status": "active",
                }
            )
        return found

    # -- readings -------------------------------------------------------------------------
    def observation(
        self,
        reading: ReadingRow,
        key: str,
        code: Json,
        value: Json,
        *,
        obs_category: list[Json],
        profiles: tuple[str, ...] = (),
        device: str | None = None,
    ) -> None:
        oid = resource_id("observation", f"{reading.id}/{key}")
        obs: Json = {
            "resourceType": "Observation",
            "id": oid,
            "meta": self.meta(*profiles),
            "identifier": [{"system": codes.VIGIL_READING_ID, "value": f"{reading.id}/{key}"}],
            # A value struck from the record stays in it, marked: "should never have existed".
            "status": "entered-in-error" if reading.in_error else "final",
            "category": obs_category,
            "code": code,
            "subject": self.subject,
            "encounter": ref(self.encounter_id),
            "effectiveDateTime": moment(reading.taken_at),
            "issued": moment(reading.received_at),
            **value,
        }
        if device is not None:
            obs["device"] = ref(device)
        else:
            obs["performer"] = [{"display": reading.entered_by}]
        if reading.in_error:
            why = reading.error_reason or "no reason given"
            by = f" by {reading.error_by}" if reading.error_by else ""
            at = f" at {moment(reading.error_at)}" if reading.error_at else ""
            obs["note"] = [{"text": f"Entered in error{by}{at}: {why}"}]
        self.observations.setdefault(reading.id, {})[key] = oid
        self.add(obs)

    def reading(self, reading: ReadingRow, devices: Mapping[str, str]) -> None:
        eui = device_eui64(reading.entered_by)
        device = devices.get(eui) if eui is not None else None
        values = reading.values
        for name, vital in codes.VITALS.items():
            value = values.get(name)
            if value is None or isinstance(value, (bool, str)):
                continue
            loinc = list(vital.loinc)
            mdc = self.device_code(reading, name, vital.mdc)
            code = concept(*loinc, *([mdc] if device else []), text=loinc[0].display)
            self.observation(
                reading,
                name,
                code,
                {"valueQuantity": quantity(value, vital.quantity)},
                obs_category=VITAL_SIGNS,
                profiles=(codes.VITAL_SIGNS_PROFILE, vital.profile),
                device=device,
            )
        if any(values.get(part) is not None for part, _, _ in codes.BP_PARTS):
            self.blood_pressure(reading, device)
        self.assessments(reading, device)

    def device_code(self, reading: ReadingRow, vital: str, usual: codes.Code) -> codes.Code:
        sent = self.sent.get((reading.id, vital))
        return usual if sent is None else codes.Code(codes.MDC, str(sent[0]), sent[1])

    def blood_pressure(self, reading: ReadingRow, device: str | None) -> None:
        components = []
        for name, loinc, mdc in codes.BP_PARTS:
            value = reading.values.get(name)
            sent = self.device_code(reading, name, mdc)
            component: Json = {"code": concept(loinc, *([sent] if device else []))}
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                component["valueQuantity"] = quantity(value, codes.MMHG)
            else:  # the profile wants both components; one not measured says so
                component["dataAbsentReason"] = concept(
                    Code(codes.DATA_ABSENT, "not-performed", "Not Performed")
                )
            components.append(component)
        code = concept(codes.BP_PANEL, *([codes.BP_PANEL_MDC] if device else []))
        code["text"] = "Blood pressure"
        self.observation(
            reading,
            BP,
            code,
            {"component": components},
            obs_category=VITAL_SIGNS,
            profiles=(codes.VITAL_SIGNS_PROFILE, codes.BP_PROFILE),
            device=device,
        )

    def assessments(self, reading: ReadingRow, device: str | None) -> None:
        acvpu = reading.values.get("consciousness")
        if isinstance(acvpu, str) and acvpu in codes.ACVPU:
            display, snomed = codes.ACVPU[acvpu]
            answers = [Code(codes.VIGIL_ACVPU, acvpu, display)]
            if snomed is not None:
                answers.append(snomed)
            self.observation(
                reading,
                "consciousness",
                concept(codes.CONSCIOUSNESS, text="Consciousness (ACVPU)"),
                {"valueCodeableConcept": concept(*answers, text=display)},
                obs_category=category("exam", "Exam"),
                device=device,
            )
        sedation = reading.values.get("sedation")
        if isinstance(sedation, int) and not isinstance(sedation, bool):
            self.observation(
                reading,
                "sedation",
                concept(codes.SEDATION, text="Sedation (MOAA/S)"),
                {"valueInteger": sedation},
                obs_category=category("survey", "Survey"),
                device=device,
            )
        oxygen = reading.values.get("on_oxygen")
        if isinstance(oxygen, bool):
            self.observation(
                reading,
                "on_oxygen",
                concept(codes.ON_OXYGEN, text="Air or oxygen"),
                {"valueBoolean": oxygen},
                obs_category=category("therapy", "Therapy"),
                device=device,
            )

    # -- derived --------------------------------------------------------------------------
    def news2(self, point: News2Point) -> None:
        result = point.result
        inputs = []
        for parameter, reading_id in point.sources.items():
            key = BP if parameter == "systolic" else parameter
            oid = self.observations.get(reading_id, {}).get(key)
            if oid is not None and oid not in inputs:
                inputs.append(oid)
        components = [
            {"code": concept(codes.NEWS2_PARTS[part.parameter]), "valueInteger": part.points}
            for part in result.parts
        ]
        band = result.band.value if result.band is not None else "unknown"
        oid = resource_id("news2", point.reading_id)
        self.add(
            {
                "resourceType": "Observation",
                "id": oid,
                "meta": self.meta(),
                "status": "final",
                "category": category("survey", "Survey"),
                "code": concept(codes.NEWS2, text="NEWS2 total score"),
                "subject": self.subject,
                "encounter": ref(self.encounter_id),
                "effectiveDateTime": moment(point.at),
                "valueInteger": result.total,
                "interpretation": [
                    concept(
                        Code(codes.VIGIL_NEWS2_BAND, band, f"NEWS2 {band} clinical risk"),
                        text=f"{band} clinical risk (SpO2 scale {result.scale})",
                    )
                ],
                "derivedFrom": [ref(i) for i in inputs],
                "component": components,
            }
        )

    def alarm(self, alarm: AlarmRow) -> None:
        issue: Json = {
            "resourceType": "DetectedIssue",
            "id": resource_id("alarm", alarm.id),
            "meta": self.meta(),
            "identifier": [{"system": codes.VIGIL_ALARM_ID, "value": str(alarm.id)}],
            # An alarm withdrawn because its reading was struck stood on a value that never was.
            "status": "entered-in-error" if alarm.withdrawn_reason else "final",
            "code": concept(
                Code(codes.VIGIL_ALARM, alarm.condition, f"{alarm.kind} alarm: {alarm.condition}"),
                text=alarm.message,
            ),
            "severity": codes.SEVERITY.get(alarm.priority, "low"),
            "patient": self.subject,
            "identifiedDateTime": moment(alarm.raised_at),
            "detail": alarm_detail(alarm),
        }
        implicated = self.implicated(alarm)
        if implicated is not None:
            issue["implicated"] = [ref(implicated)]
        if alarm.acknowledged_at is not None:
            action = "Acknowledged" + (f": {alarm.note}" if alarm.note else "")
            mitigation: Json = {"action": {"text": action}, "date": moment(alarm.acknowledged_at)}
            if alarm.acknowledged_by:
                mitigation["author"] = {"display": alarm.acknowledged_by}
            issue["mitigation"] = [mitigation]
        self.add(issue)

    def implicated(self, alarm: AlarmRow) -> str | None:
        """The Observation holding the value the alarm was raised on, if it names one."""
        if alarm.reading_id is None:
            return None
        vital = alarm.condition.split(".", 1)[0]
        key = BP if vital in ("systolic", "diastolic", "baseline_rise") else vital
        return self.observations.get(alarm.reading_id, {}).get(key)

    # -- the whole ------------------------------------------------------------------------
    def bundle(self) -> Json:
        r = self.record
        self.patient()
        self.encounter(self.locations())
        devices = self.devices()
        for reading in r.readings:
            self.reading(reading, devices)
        for point in news2_series(r):
            self.news2(point)
        for alarm in r.alarms:
            self.alarm(alarm)
        bundle: Json = {
            "resourceType": "Bundle",
            "id": resource_id("export", f"{r.id}/{moment(r.generated_at)}"),
            "meta": self.meta(),
            "identifier": {"system": codes.VIGIL_SESSION_ID, "value": str(r.id)},
            "type": "collection",
            "timestamp": moment(r.generated_at),
            "entry": self.entries,
        }
        if not bundle["meta"]:
            del bundle["meta"]
        return bundle


def quantity(value: float, unit: codes.Quantity) -> Json:
    return {"value": value, "unit": unit.unit, "system": codes.UCUM, "code": unit.code}


def alarm_detail(alarm: AlarmRow) -> str:
    parts = [f"{alarm.priority} priority {alarm.kind} alarm: {alarm.message}"]
    if alarm.value is not None:
        parts.append(f"value {alarm.value:g}")
    if alarm.resolved_at is not None:
        parts.append(f"resolved {moment(alarm.resolved_at)}")
    if alarm.escalations:
        parts.append(f"escalated {alarm.escalations} time(s)")
    if alarm.withdrawn_reason:
        parts.append(f"withdrawn: {alarm.withdrawn_reason}")
    return "; ".join(parts)


def session_bundle(
    record: SessionRecord,
    sent: Mapping[tuple[str, str], tuple[int, str]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Json:
    """The record as a FHIR R4 collection Bundle (JSON).

    Not parsed with the fhir.resources models on the way out: for two hours of a monitor's
    second-by-second values (14,000 resources) that takes some 17 s against 1.3 s to build. The
    tests read every Bundle they export back with the R4B models instead (tests/api/test_fhir*.py).
    """
    return Builder(record, sent or {}, labels or {}).bundle()
