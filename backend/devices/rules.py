"""Pure rules of the devices domain: what an EUI-64 is, which configured chair a PV1-3 bed
names, how a report's observations become readings, and what a device's row shows after one
more message. No database and no web framework here."""

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.devices.report import DeviceObservation, Skip
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
