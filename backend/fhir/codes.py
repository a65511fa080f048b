"""The code systems and codes a FHIR export of a session speaks: LOINC and UCUM as the FHIR R4
vital-signs profile asks, IEEE 11073 MDC beside them for a device's values, SNOMED CT where
LOINC has no code, and Vigil's own system where no standard one exists (said so at each).

Plain data, no FHIR library: the builder (`rules`) and the tests read the same tables.
"""

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# The HL7 Personal Health Device IG's way to name an IEEE EUI-64 (the 11073 System-Id): this OID
# as the identifier's system, type SYSID, the eight octets in hex separated by hyphens.
EUI64_SYSTEM = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
DEVICE_IDENTIFIER_TYPE = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"

# Vigil's own code systems and identifier namespaces. `.invalid` never resolves (RFC 6761): the
# names can never collide with anybody's real system, and a receiver sees at once that they are
# local to Vigil.
VIGIL = "https://vigil.invalid/fhir"
VIGIL_CODES = f"{VIGIL}/CodeSystem/observation"  # what no standard code names (below)
VIGIL_ACVPU = f"{VIGIL}/CodeSystem/acvpu"
VIGIL_ALARM = f"{VIGIL}/CodeSystem/alarm-condition"
VIGIL_NEWS2_BAND = f"{VIGIL}/CodeSystem/news2-risk"
VIGIL_SIMULATED = f"{VIGIL}/CodeSystem/simulated"
VIGIL_SESSION_ID = f"{VIGIL}/sid/session"
VIGIL_PATIENT_ID = f"{VIGIL}/sid/patient"
VIGIL_READING_ID = f"{VIGIL}/sid/reading"
VIGIL_ALARM_ID = f"{VIGIL}/sid/alarm"
VIGIL_PLACE_ID = f"{VIGIL}/sid/place"

VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"

# Every resource of a simulated session carries both: HTEST is HL7's own code for test health
# data (FHIR's published examples carry it), the second says in words what it is.
SIMULATED_TAGS: tuple[dict[str, str], ...] = (
    {"system": ACT_REASON, "code": "HTEST", "display": "test health data"},
    {
        "system": VIGIL_SIMULATED,
        "code": "simulated",
        "display": "SIMULATED: a training simulation, not a real patient",
    },
)


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Quantity:
    """A UCUM unit: its code, and the human-readable unit written beside it."""

    code: str
    unit: str


@dataclass(frozen=True)
class Vital:
    """One measured vital as a vital-signs Observation (blood pressure is the panel below)."""

    profile: str
    loinc: tuple[Code, ...]  # the profile's required code first
    mdc: Code  # the device code written beside LOINC when a device measured it
    quantity: Quantity


PER_MIN = Quantity("/min", "/min")

# Keyed by the reading's field. A device's value is written with the MDC code its message sent
# (kept with the message: devices.service.sent_codes), so an oximeter's pulse is 149530 and not the
# ECG's heart rate; `mdc` here is the code of a device reading whose message is not at hand.
VITALS: dict[str, Vital] = {
    "heart_rate": Vital(
        "http://hl7.org/fhir/StructureDefinition/heartrate",
        (Code(LOINC, "8867-4", "Heart rate"),),
        Code(MDC, "147842", "MDC_ECG_HEART_RATE"),
        PER_MIN,
    ),
    "spo2": Vital(
        "http://hl7.org/fhir/StructureDefinition/oxygensat",
        # The profile fixes 2708-6; 59408-5 says it was measured by pulse oximetry, as every
        # SpO2 Vigil records is (US Core's pulse-oximetry profile carries the two the same way).
        (
            Code(LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
            Code(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        Code(MDC, "150456", "MDC_PULS_OXIM_SAT_O2"),
        Quantity("%", "%"),
    ),
    "respiratory_rate": Vital(
        "http://hl7.org/fhir/StructureDefinition/resprate",
        (Code(LOINC, "9279-1", "Respiratory rate"),),
        Code(MDC, "151562", "MDC_RESP_RATE"),
        PER_MIN,
    ),
    "temperature": Vital(
        "http://hl7.org/fhir/StructureDefinition/bodytemp",
        (Code(LOINC, "8310-5", "Body temperature"),),
        # MDC_TEMP_BODY, the body temperature 8310-5 names (clinical.md §7); a device sending
        # the unqualified MDC_TEMP (150344) has its value stored as the same temperature.
        Code(MDC, "150364", "MDC_TEMP_BODY"),
        Quantity("Cel", "Cel"),
    ),
}

BP_PROFILE = "http://hl7.org/fhir/StructureDefinition/bp"
BP_PANEL = Code(LOINC, "85354-9", "Blood pressure panel with all children optional")
BP_PANEL_MDC = Code(MDC, "150020", "MDC_PRESS_BLD_NONINV")
MMHG = Quantity("mm[Hg]", "mmHg")
# (reading field, LOINC, MDC) of the panel's two components, in the profile's order.
BP_PARTS: tuple[tuple[str, Code, Code], ...] = (
    (
        "systolic",
        Code(LOINC, "8480-6", "Systolic blood pressure"),
        Code(MDC, "150021", "MDC_PRESS_BLD_NONINV_SYS"),
    ),
    (
        "diastolic",
        Code(LOINC, "8462-4", "Diastolic blood pressure"),
        Code(MDC, "150022", "MDC_PRESS_BLD_NONINV_DIA"),
    ),
)

# ACVPU. LOINC 67775-7 "Level of responsiveness" is the question (NEMSIS and IHE's paramedicine
# summary code AVPU with it). Its answers A, V, P and U have SNOMED CT findings; "new confusion",
# the C that NEWS2 added, has no international SNOMED CT or LOINC answer, so every answer
# carries Vigil's ACVPU code, and the four that have one their SNOMED CT finding too.
CONSCIOUSNESS = Code(LOINC, "67775-7", "Level of responsiveness")
ACVPU: dict[str, tuple[str, Code | None]] = {
    "A": ("Alert", Code(SNOMED, "248234008", "Mentally alert")),
    "C": ("New confusion", None),
    "V": ("Responds to voice", Code(SNOMED, "300202002", "Responds to voice")),
    "P": ("Responds to pain", Code(SNOMED, "450847001", "Responds to pain")),
    "U": ("Unresponsive", Code(SNOMED, "422768004", "Unresponsive")),
}
# MOAA/S (0-5) has no LOINC or SNOMED CT code: Vigil's own.
SEDATION = Code(
    VIGIL_CODES, "moaas", "Modified Observer's Assessment of Alertness/Sedation (MOAA/S)"
)
# NEWS2's "air or oxygen?": no standard code asks it as a yes/no, so Vigil's own.
ON_OXYGEN = Code(VIGIL_CODES, "supplemental-oxygen", "On supplemental oxygen (NEWS2 air or oxygen)")

# The NEWS2 total. SNOMED CT (UK edition) 1104051000000101 is the RCP's NEWS2 total score. There
# is no LOINC code for NEWS2: 88330-6 is the 2012 NEWS, scored differently (no SpO2 scale 2, no
# new confusion), so it is not written beside it.
NEWS2 = Code(
    SNOMED,
    "1104051000000101",
    "Royal College of Physicians National Early Warning Score 2 - total score",
)
NEWS2_PARTS: dict[str, Code] = {
    "respiratory_rate": Code(VIGIL_CODES, "news2-respiration", "NEWS2 respiration rate score"),
    "spo2": Code(VIGIL_CODES, "news2-spo2", "NEWS2 SpO2 score"),
    "on_oxygen": Code(VIGIL_CODES, "news2-air-or-oxygen", "NEWS2 air or oxygen score"),
    "systolic": Code(VIGIL_CODES, "news2-systolic", "NEWS2 systolic blood pressure score"),
    "heart_rate": Code(VIGIL_CODES, "news2-pulse", "NEWS2 pulse score"),
    "consciousness": Code(VIGIL_CODES, "news2-consciousness", "NEWS2 consciousness score"),
    "temperature": Code(VIGIL_CODES, "news2-temperature", "NEWS2 temperature score"),
}

# The Encounter's status from the session's phase: a session stopped early has still happened.
ENCOUNTER_STATUS: dict[str, str] = {
    "baseline": "in-progress",
    "infusing": "in-progress",
    "recovery": "in-progress",
    "discharged": "finished",
    "stopped": "finished",
}
AMBULATORY = Code(ACT_CODE, "AMB", "ambulatory")

# An alarm's priority as a DetectedIssue's severity (IEC 60601-1-8 high/medium/low).
SEVERITY: dict[str, str] = {"high": "high", "medium": "moderate", "low": "low"}
