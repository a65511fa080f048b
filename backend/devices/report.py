"""What a device sent, once its message is read: the contract between the HL7 v2 reader
(`backend/hl7`), which turns an ORU^R01 into a `DeviceReport`, and the devices domain, which
routes it to a session, keeps it when it cannot, and stores its vitals through `flows`.

Plain data, no parsing and no storage: a gateway speaking another protocol tomorrow produces the
same report.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Skip(StrEnum):
    """Why an observation row was counted but not stored as a vital."""

    DEVICE_ROW = "device_row"  # OBX-11 X: a device-, channel- or metric-level row, not a result
    INVALID = "invalid"  # OBX-11 status invalid (e.g. W: wrong, post-corrected)
    TEST = "test"  # a test or demo value (OBX-11 / MSH-11 processing id)
    UNKNOWN_CODE = "unknown_code"  # an MDC code Vigil does not take as a vital
    UNKNOWN_UNIT = "unknown_unit"  # a known code in a unit Vigil cannot convert
    NOT_NUMERIC = "not_numeric"  # OBX-5 empty or not a number
    UNUSED = "unused"  # a known code Vigil does not keep (e.g. 150023 mean NIBP)
    SUPERSEDED = "superseded"  # another row gave this vital at the same time (ECG over pulse)


@dataclass(frozen=True)
class DeviceObservation:
    """One vital, in Vigil's unit (the `ReadingIn` field's), from one OBX row."""

    vital: str  # a ReadingIn vital: heart_rate, systolic, diastolic, spo2, respiratory_rate, ...
    value: float
    taken_at: datetime  # aware, UTC
    mdc_code: int  # the IEEE 11073 code it came as, e.g. 150456
    mdc_name: str  # e.g. "MDC_PULS_OXIM_SAT_O2" (the reference id's text, or Vigil's name for it)
    unit: str  # the unit as sent (MDC or UCUM), before any conversion
    segment: int  # the OBX's position in the message (1-based, counting every segment), for errors


@dataclass(frozen=True)
class DeviceReport:
    """One accepted message: who sent it, which device, where, and its vitals."""

    sender: str  # MSH-3 and MSH-4 as one text: with `control_id` the key that makes a resend safe
    control_id: str  # MSH-10
    version: str  # MSH-12, "2.5" or "2.6"
    sent_at: datetime  # MSH-7, aware, UTC
    device: str | None  # EUI-64 as 16 upper-case hex digits (OBX-18, else MSH-3), None if none
    device_label: str | None  # what the message says the device is (OBX-18 / OBX-17 text), if any
    bed: str | None  # PV1-3 as sent (point of care ^ room ^ bed), if any
    observations: tuple[DeviceObservation, ...]
    skipped: Mapping[Skip, int] = field(default_factory=dict)  # rows counted, not stored


@dataclass(frozen=True)
class Receipt:
    """What became of a report, once its transaction committed (the HL7 ACK is sent after)."""

    duplicate: bool  # the sender's control id was seen before: nothing new stored, ACK again
    session_id: int | None  # where its vitals went; None when kept for a device bound to no chair
    stored: int  # readings stored by this report (0 for a duplicate or a kept one)
