"""Storing what devices send and keeping their rows: each message once (its sender's control id
is the key), the device's counters and last values, routing to a chair's open session, and the
kept messages a bind attaches. The readings themselves are stored by backend/flows.py, through
the path a nurse's take."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.errors import InvalidInput, NotFound
from backend.devices import rules
from backend.devices.models import (
    BED_LENGTH,
    LABEL_LENGTH,
    VERSION_LENGTH,
    Device,
    DeviceMessage,
)
from backend.devices.report import DeviceReport
from backend.sessions.models import InfusionSession
from backend.sites.models import Chair, Room, Site
from backend.sites.rules import name_key

MAX_DEVICES = 500  # a clinic has tens; the list stops well before a page becomes unusable
MAX_SENDERS = 50
BACKFILL_LIMIT = 5000  # kept messages one bind attaches (an oximeter's 80 min at one a second)


def _label(report: DeviceReport) -> str | None:
    return report.device_label[:LABEL_LENGTH] if report.device_label else None


def find_message(db: Session, sender: str, control_id: str) -> DeviceMessage | None:
    return db.scalars(
        select(DeviceMessage).where(
            DeviceMessage.sender == sender, DeviceMessage.control_id == control_id
        )
    ).first()


def lock_device(db: Session, eui64: str) -> Device | None:
    """The device's row, locked until the transaction ends: its counters change one message at a
    time, and a bind and a message never interleave."""
    return db.get(Device, eui64, with_for_update=True, populate_existing=True)


def device_for(db: Session, report: DeviceReport, received_at: datetime) -> Device:
    """The reporting device's row, locked; made on its first message."""
    assert report.device is not None
    device = lock_device(db, report.device)
    if device is not None:
        return device
    fresh = Device(
        eui64=report.device,
        label=_label(report),
        first_seen_at=received_at,
        last_seen_at=received_at,
        last_sender=report.sender,
        last_values={},
        messages=0,
        skipped={},
        kept=0,
    )
    try:
        with db.begin_nested():
            db.add(fresh)
            db.flush()
    except IntegrityError:
        pass  # another transaction made it first: take its row
    device = lock_device(db, report.device)
    assert device is not None
    return device


def add_message(
    db: Session, report: DeviceReport, received_at: datetime, session_id: int | None
) -> DeviceMessage | None:
    """Store the message, or None when its sender's control id is already stored (by another
    process too: the unique key decides, not an earlier look-up)."""
    times = [o.taken_at for o in report.observations]
    message = DeviceMessage(
        sender=report.sender,
        control_id=report.control_id,
        device_eui=report.device,
        # Kept for the record, cut to their columns: routing has used the bed whole.
        version=report.version[:VERSION_LENGTH],
        bed=report.bed[:BED_LENGTH] if report.bed is not None else None,
        sent_at=report.sent_at,
        received_at=received_at,
        taken_from=min(times, default=None),
        taken_to=max(times, default=None),
        observations=[rules.observation_json(o) for o in report.observations],
        skipped={k.value: int(v) for k, v in report.skipped.items() if v},
        session_id=session_id,
    )
    try:
        with db.begin_nested():
            db.add(message)
            db.flush()
    except IntegrityError:
        return None
    return message


def count_message(
    device: Device,
    report: DeviceReport,
    received_at: datetime,
    *,
    kept: bool,
    routed_chair_id: int | None = None,
) -> None:
    """One more message on the device's row: seen, counted, its last values and skipped rows,
    and the chair its bed routed it to (`routed_chair_id`, for a device bound to none)."""
    device.routed_chair_id = routed_chair_id
    device.last_seen_at = max(device.last_seen_at, received_at)
    device.last_sender = report.sender
    if report.device_label:
        device.label = _label(report)
    device.messages += 1
    device.kept += 1 if kept else 0
    device.last_values = rules.with_last_values(device.last_values, report.observations)
    device.skipped = rules.with_skipped(device.skipped, report.skipped)


def open_session_on(db: Session, chair_id: int) -> InfusionSession | None:
    """The chair's open session (the database allows one), if any."""
    return db.scalars(
        select(InfusionSession).where(
            InfusionSession.chair_id == chair_id, InfusionSession.ended_at.is_(None)
        )
    ).first()


def chair_for_bed(db: Session, bed_text: str | None) -> int | None:
    """The configured chair in service a PV1-3 names (see rules.chair_for_bed)."""
    bed = rules.parse_bed(bed_text)
    if bed is None:
        return None
    rows = db.execute(
        select(Chair.id, Chair.name, Room.name, Site.name)
        .join(Room, Room.id == Chair.room_id)
        .join(Site, Site.id == Room.site_id)
        .where(
            Chair.name_key == name_key(bed.bed),
            Chair.active.is_(True),
            Room.active.is_(True),
            Site.active.is_(True),
        )
        .limit(100)
    ).all()
    return rules.chair_for_bed(bed, [rules.ChairPlace(*row) for row in rows])


def route(db: Session, device: Device | None, report: DeviceReport) -> InfusionSession | None:
    """Where a report's readings go: the open session on the device's chair; for a device bound
    to none, the open session on the chair its PV1-3 names; else nowhere (the message is kept).
    A bound device is never re-routed by a bed its gateway names: the nurse's binding wins."""
    if device is not None and device.chair_id is not None:
        return open_session_on(db, device.chair_id)
    chair_id = chair_for_bed(db, report.bed)
    return open_session_on(db, chair_id) if chair_id is not None else None


def get_device(db: Session, eui64: str) -> Device:
    device = lock_device(db, eui64)
    if device is None:
        raise NotFound(f"no device {eui64} has sent anything to Vigil")
    return device


def chair_in_service(db: Session, chair_id: int) -> Chair:
    chair = db.get(Chair, chair_id)
    if chair is None:
        raise InvalidInput(("body", "chair_id"), "no chair with this id", chair_id)
    if not chair.in_service:
        raise InvalidInput(
            ("body", "chair_id"),
            f"{chair.name} ({chair.place}) is retired: bind the device to a chair in use",
            chair_id,
        )
    return chair


def bind(db: Session, device: Device, chair: Chair | None, actor: Actor, now: datetime) -> None:
    device.chair_id = chair.id if chair is not None else None
    device.bound_at = now if chair is not None else None
    device.bound_by = actor.label if chair is not None else None
    device.routed_chair_id = None  # where a bed sent it before says nothing once it is placed
    db.flush()


def kept_during(
    db: Session, eui64: str, since: datetime, until: datetime
) -> Sequence[DeviceMessage]:
    """The device's kept messages with readings measured between `since` and `until`, in the
    order they were measured (at most BACKFILL_LIMIT, the oldest first)."""
    return db.scalars(
        select(DeviceMessage)
        .where(
            DeviceMessage.device_eui == eui64,
            DeviceMessage.session_id.is_(None),
            DeviceMessage.taken_to >= since,
            DeviceMessage.taken_from <= until,
        )
        .order_by(DeviceMessage.taken_to, DeviceMessage.id)
        .limit(BACKFILL_LIMIT)
    ).all()


def attached(
    db: Session, device: Device, messages: Sequence[DeviceMessage], session_id: int, now: datetime
) -> None:
    for message in messages:
        message.session_id = session_id
        message.attached_at = now
    device.kept = max(0, device.kept - len(messages))
    db.flush()


@dataclass(frozen=True)
class Place:
    chair_id: int
    chair: str
    room: str
    site: str
    session_id: int | None
    simulated: bool | None


@dataclass(frozen=True)
class Listed:
    device: Device
    place: Place | None
    routed: Place | None = None  # not bound: the chair its last message's bed named


@dataclass(frozen=True)
class SenderKept:
    """Messages kept under a sender that named no device: nothing to bind them by."""

    sender: str
    kept: int
    last_received_at: datetime


def _places(db: Session, chair_ids: set[int]) -> dict[int, Place]:
    if not chair_ids:
        return {}
    open_sessions = {
        chair_id: (session_id, simulated)
        for chair_id, session_id, simulated in db.execute(
            select(InfusionSession.chair_id, InfusionSession.id, InfusionSession.simulated).where(
                InfusionSession.chair_id.in_(chair_ids), InfusionSession.ended_at.is_(None)
            )
        )
    }
    places = {}
    for chair in db.scalars(select(Chair).where(Chair.id.in_(chair_ids))):
        session_id, simulated = open_sessions.get(chair.id, (None, None))
        places[chair.id] = Place(
            chair.id, chair.name, chair.room.name, chair.room.site.name, session_id, simulated
        )
    return places


def list_devices(db: Session) -> list[Listed]:
    """Every device (at most MAX_DEVICES, the most recently heard first) with its chair's place
    and the open session there."""
    devices = list(
        db.scalars(
            select(Device).order_by(Device.last_seen_at.desc(), Device.eui64).limit(MAX_DEVICES)
        )
    )
    return _listed(db, devices)


def describe(db: Session, device: Device) -> Listed:
    return _listed(db, [device])[0]


def _listed(db: Session, devices: Sequence[Device]) -> list[Listed]:
    chairs = {d.chair_id for d in devices} | {d.routed_chair_id for d in devices}
    places = _places(db, {c for c in chairs if c is not None})

    def place(chair_id: int | None) -> Place | None:
        return places.get(chair_id) if chair_id is not None else None

    return [
        Listed(d, place(d.chair_id), place(d.routed_chair_id) if d.chair_id is None else None)
        for d in devices
    ]


def senders_kept(db: Session) -> list[SenderKept]:
    """Senders whose messages named no device and are kept (the gateway needs configuring)."""
    rows = db.execute(
        select(DeviceMessage.sender, func.count(), func.max(DeviceMessage.received_at))
        .where(DeviceMessage.device_eui.is_(None), DeviceMessage.session_id.is_(None))
        .group_by(DeviceMessage.sender)
        .order_by(func.max(DeviceMessage.received_at).desc())
        .limit(MAX_SENDERS)
    ).all()
    return [SenderKept(sender, count, received) for sender, count, received in rows]


def sent_codes(db: Session, session_id: int) -> dict[tuple[str, str], tuple[int, str]]:
    """(reading id, vital) -> the IEEE 11073 code and name its device sent it as (a pulse from
    an oximeter is 149530, not the ECG's 147842), for the session's device readings. Read from
    the session's own messages (indexed by session), as many as the session holds."""
    codes: dict[tuple[str, str], tuple[int, str]] = {}
    messages = db.scalars(select(DeviceMessage).where(DeviceMessage.session_id == session_id))
    for message in messages:
        for data in message.observations:
            obs = rules.observation_of(data)
            reading = str(rules.reading_id(message.sender, message.control_id, obs.taken_at))
            codes[(reading, obs.vital)] = (obs.mdc_code, obs.mdc_name)
    return codes


def labels_for_session(db: Session, session_id: int) -> dict[str, str]:
    """EUI-64 -> what its messages say the device is, for the devices that fed the session."""
    euis = (
        select(DeviceMessage.device_eui)
        .where(DeviceMessage.session_id == session_id, DeviceMessage.device_eui.is_not(None))
        .distinct()
    )
    rows = db.execute(
        select(Device.eui64, Device.label).where(Device.eui64.in_(euis), Device.label.is_not(None))
    )
    return {eui: label for eui, label in rows if label}
