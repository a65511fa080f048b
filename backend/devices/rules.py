"""Pure rules of the devices domain: what an EUI-64 is, which configured chair a PV1-3 bed
names, how a report's observations become readings, and what a device's row shows after one
more message. No database and no web framework here."""

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.core.fields import unencodable
from backend.devices.report import DeviceObservation, DeviceReport, Skip
from backend.readings.vitals import VITALS
from backend.sites.rules import name_key

EUI64 = re.compile(r"[0-9A-F]{16}")
# A reading's id from a device: the same message resent, or attached again, is the same reading.
READING_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vigil:device-reading")
# Several codes give one vital (heart rate from the ECG, or a pulse from the oximeter or the
# cuff): when one message carries more than one for the same moment, the ECG's wins, then the
# oximeter's, as a central station ranks its heart-rate sources.
HEART_RATE_PREFERENCE = {147842: 0, 149530: 1, 149546: 2}
# A kept reading measured longer ago than this, when its device is bound, is history: stored and
# charted, but not judged by the alarms. The same age after which every screen shows a monitor's
# value as stale (frontend/js/time.js): what is too old to show as current is too old to sound.
# Within it a backfill is judged as a gateway's late batch is, so a desaturation the unbound
# device saw a minute ago still alarms (and a high one latches for a nurse to see).
CURRENT_WINDOW = timedelta(minutes=5)


SENDER_LENGTH = 255  # MSH-3 and MSH-4 as one text (two HD fields of up to 3 components)
CONTROL_ID_LENGTH = 199  # MSH-10, ST of up to 199 characters in HL7 v2.6
Where = tuple[str, int, int]  # segment, its position in the message, field: as an ERR-2 says


@dataclass(frozen=True)
class Problem:
    where: Where
    message: str
    value: object


def report_problem(
    report: DeviceReport, received_at: datetime, future_tolerance: timedelta
) -> Problem | None:
    """What in a report cannot be stored as it is, naming the segment and field at fault (the
    HL7 listener answers AE with it), or None. The reader should have refused all of it; this
    holds whatever produced the report to what the record and the database need."""
    first = report.observations[0].segment if report.observations else 1
    texts: list[tuple[Where, str | None]] = [
        (("MSH", 1, 3), report.sender),
        (("MSH", 1, 10), report.control_id),
        (("MSH", 1, 12), report.version),
        (("OBX", first, 18), report.device),
        (("OBX", first, 18), report.device_label),
        (("PV1", 0, 3), report.bed),
    ]
    for obs in report.observations:
        texts += [(("OBX", obs.segment, 3), obs.mdc_name), (("OBX", obs.segment, 6), obs.unit)]
    for where, text in texts:
        if text is not None and unencodable(text) is not None:
            return Problem(where, "holds a NUL character or broken Unicode: not text", text[:100])
    for where, text, most in (
        (("MSH", 1, 3), report.sender, SENDER_LENGTH),
        (("MSH", 1, 10), report.control_id, CONTROL_ID_LENGTH),
    ):
        if not text.strip() or len(text) > most:
            return Problem(where, f"must be 1 to {most} characters", text[:100])
    if report.device is not None and (problem := eui64_error(report.device)):
        return Problem(("OBX", first, 18), problem, report.device[:100])
    if report.sent_at.tzinfo is None:
        return Problem(("MSH", 1, 7), "a time without its UTC offset", report.sent_at.isoformat())
    for obs in report.observations:
        if obs.vital not in VITALS:
            return Problem(("OBX", obs.segment, 3), f"{obs.vital!r} is not a vital", obs.vital)
        if not math.isfinite(obs.value):
            return Problem(("OBX", obs.segment, 5), "not a finite number", str(obs.value))
        if obs.taken_at.tzinfo is None:
            return Problem(
                ("OBX", obs.segment, 14), "a time without its UTC offset", obs.taken_at.isoformat()
            )
        if obs.taken_at > received_at + future_tolerance:
            return Problem(
                ("OBX", obs.segment, 14),
                f"{obs.taken_at.isoformat()} is in the future (server time is "
                f"{received_at.isoformat()}); check the device clock",
                obs.taken_at.isoformat(),
            )
    return None


def eui64_error(text: str) -> str | None:
    """Why `text` is not an EUI-64 as Vigil keys devices (16 hex digits), or None."""
    if EUI64.fullmatch(text.upper()) and text.isascii():
        return None
    return "an EUI-64 is 16 hexadecimal digits, e.g. 0012A1FFFE3B4C5D"


def normal_eui64(text: str) -> str:
    return text.upper()


@dataclass(frozen=True)
class Bed:
    """PV1-3 (PL): point of care ^ room ^ bed, each as sent (first subcomponent)."""

    point_of_care: str
    room: str
    bed: str


def parse_bed(text: str | None) -> Bed | None:
    """The parts of a PV1-3 as sent; None when it names no bed."""
    if not text:
        return None
    parts = [p.split("&", 1)[0].strip() for p in text.split("^")]
    parts += [""] * (3 - len(parts))
    bed = Bed(parts[0], parts[1], parts[2])
    return bed if bed.bed else None


@dataclass(frozen=True)
class ChairPlace:
    """A configured chair in service, with the names of its room and site."""

    chair_id: int
    name: str
    room: str
    site: str


def chair_for_bed(bed: Bed, chairs: Sequence[ChairPlace]) -> int | None:
    """The chair a PV1-3 bed names, or None when it names none or more than one.

    The bed must be a chair's name (case and spacing aside). A point of care naming a site, or a
    room naming a room, narrows the choice; a room that names a configured room holds the only
    chairs that may match (a "Chair 1" in another room is another patient). When the gateway's
    room names nothing configured, or is empty, the chair's name must be unique across rooms.
    Ambiguous is never guessed: the message is kept instead.
    """
    same = [c for c in chairs if name_key(c.name) == name_key(bed.bed)]
    if bed.point_of_care and any(name_key(c.site) == name_key(bed.point_of_care) for c in chairs):
        same = [c for c in same if name_key(c.site) == name_key(bed.point_of_care)]
    if bed.room and any(name_key(c.room) == name_key(bed.room) for c in chairs):
        same = [c for c in same if name_key(c.room) == name_key(bed.room)]
    return same[0].chair_id if len(same) == 1 else None


@dataclass(frozen=True)
class Group:
    """The observations of one report measured at one moment: one reading."""

    taken_at: datetime
    values: dict[str, float]
    segments: dict[str, int]  # vital -> the OBX it came from, for errors


def _rank(observation: DeviceObservation) -> int:
    return HEART_RATE_PREFERENCE.get(observation.mdc_code, 9)


def group(observations: Iterable[DeviceObservation]) -> list[Group]:
    """A report's observations as readings, one per moment, oldest first. Integer vitals are
    rounded to Vigil's resolution (a monitor's 97.6 % is 98 %). Two values of one vital at one
    moment: the preferred heart-rate source, else the first sent."""
    chosen: dict[datetime, dict[str, DeviceObservation]] = {}
    for obs in observations:
        slot = chosen.setdefault(obs.taken_at, {})
        held = slot.get(obs.vital)
        if held is None or _rank(obs) < _rank(held):
            slot[obs.vital] = obs
    groups = []
    for taken_at in sorted(chosen):
        values = {
            vital: float(round(obs.value)) if VITALS[vital].integer else obs.value
            for vital, obs in chosen[taken_at].items()
            if vital in VITALS
        }
        segments = {vital: obs.segment for vital, obs in chosen[taken_at].items()}
        if values:
            groups.append(Group(taken_at, values, segments))
    return groups


def reading_id(sender: str, control_id: str, taken_at: datetime) -> uuid.UUID:
    return uuid.uuid5(READING_NAMESPACE, f"{sender}\x1f{control_id}\x1f{taken_at.isoformat()}")


def observation_json(obs: DeviceObservation) -> dict[str, Any]:
    return {
        "vital": obs.vital,
        "value": obs.value,
        "taken_at": obs.taken_at.isoformat(),
        "mdc_code": obs.mdc_code,
        "mdc_name": obs.mdc_name,
        "unit": obs.unit,
        "segment": obs.segment,
    }


def observation_of(data: Mapping[str, Any]) -> DeviceObservation:
    return DeviceObservation(
        vital=str(data["vital"]),
        value=float(data["value"]),
        taken_at=datetime.fromisoformat(str(data["taken_at"])),
        mdc_code=int(data["mdc_code"]),
        mdc_name=str(data["mdc_name"]),
        unit=str(data["unit"]),
        segment=int(data["segment"]),
    )


def with_last_values(
    last: Mapping[str, Any], observations: Iterable[DeviceObservation]
) -> dict[str, Any]:
    """A device's last values after a message: per vital the newest by when it was measured
    (a late message does not replace a newer value)."""
    updated = dict(last)
    for obs in observations:
        held = updated.get(obs.vital)
        if held is None or datetime.fromisoformat(held["taken_at"]) <= obs.taken_at:
            updated[obs.vital] = {"value": obs.value, "taken_at": obs.taken_at.isoformat()}
    return updated


def with_skipped(counts: Mapping[str, int], skipped: Mapping[Skip, int]) -> dict[str, int]:
    updated = dict(counts)
    for reason, n in skipped.items():
        if n > 0:
            updated[Skip(reason).value] = updated.get(Skip(reason).value, 0) + int(n)
    return updated


def is_current(taken_at: datetime, now: datetime) -> bool:
    """Whether a backfilled value is recent enough to be the current one the alarms judge."""
    return now - taken_at <= CURRENT_WINDOW
