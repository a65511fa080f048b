"""The workflows that cross domains, in one place: recording readings, changing a session's
phase, marking a reading entered in error, receiving a device's report and binding a device.

Each domain's service does its own part (readings stores readings, sessions judges and records
phase changes, alerts decides alarms) and none of them calls another to orchestrate: the steps
are put together here, once, for every caller (the HTTP routers, the built-in simulator), so a
simulated reading or phase change takes exactly the path a nurse's does. Flows run inside the
caller's unit of work: they add and flush, the session dependency (or the simulator's step)
commits, so a reading and the alarm it raised, or a discharge and the alarms it closed, commit
together.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.alerts.clock import close_ended
from backend.alerts.evaluation import evaluate_readings, withdraw_reading
from backend.alerts.limit_profiles import (
    ProfileVersion,
    gate_for,
    lock_with_limits_version,
    profile_exists,
)
from backend.alerts.limits import Priority
from backend.alerts.models import Alert
from backend.alerts.queries import list_for_session
from backend.core.actor import Actor
from backend.core.database import overload_of
from backend.core.errors import InvalidInput
from backend.core.roles import Role
from backend.core.timeutil import as_utc, utcnow
from backend.devices import rules as device_rules
from backend.devices import service as devices
from backend.devices.models import Device
from backend.devices.report import DeviceObservation, DeviceReport, Receipt
from backend.readings import service as readings
from backend.readings.models import Reading
from backend.readings.schemas import ReadingIn, Source
from backend.readings.service import Ingested
from backend.readings.vitals import VITALS
from backend.sessions import service as sessions
from backend.sessions.checklists import Item
from backend.sessions.models import InfusionSession
from backend.sessions.phases import ENDED, Phase
from backend.sessions.schemas import PhaseChangeIn, SessionCreate

# ---- readings ---------------------------------------------------------------------------------


def record_readings(
    db: Session,
    session_id: int,
    items: Sequence[ReadingIn],
    actor: Actor,
    *,
    future_tolerance: timedelta,
    batch: bool = False,
) -> list[Ingested]:
    """Store readings (all or nothing; retries answered with what was stored) and check the
    new ones against the session's limits in the same transaction."""
    locked: list[tuple[InfusionSession, ProfileVersion | None]] = []

    def lock(db: Session, session_id: int) -> InfusionSession | None:
        # One statement locks the session and reads its limit profile's version: the alarm
        # check below neither locks nor reads the session again, and its limits come parsed.
        session, version = lock_with_limits_version(db, session_id)
        if session is not None:
            locked.append((session, version))
        return session

    results = readings.ingest(
        db, session_id, items, actor, future_tolerance=future_tolerance, batch=batch, lock=lock
    )
    created = [r.reading for r in results if r.created]
    if created:
        session, version = locked[-1]
        # The moment they arrived: alarm delays that run on the clock start from it.
        evaluate_readings(
            db, session, created, created[0].received_at, locked=True, version=version
        )
    return results


def mark_entered_in_error(
    db: Session, session_id: int, reading_id: str, reason: str, actor: Actor
) -> Reading:
    """Strike a reading from charts, scores and alarms (it stays in the record) and withdraw
    the alarms it raised, unless real values stand behind them."""
    reading = readings.mark_entered_in_error(db, session_id, reading_id, reason, actor)
    session = sessions.get_session(db, session_id)
    assert reading.entered_in_error_at is not None
    withdraw_reading(db, session, reading, reason, reading.entered_in_error_at)
    return reading


# ---- sessions ---------------------------------------------------------------------------------


def start_session(db: Session, body: SessionCreate, actor: Actor) -> InfusionSession:
    """Start a session on its limit profile (the clinic default when it names none)."""
    known = body.limit_profile_id is None or profile_exists(db, body.limit_profile_id)
    return sessions.create_session(db, body, actor, profile_known=known)


# ---- phases -----------------------------------------------------------------------------------


def _describe(alarm: Alert) -> str:
    state = "acknowledged, still present" if alarm.acknowledged_at else "not acknowledged"
    return f"{alarm.message} ({state})"


def protocol_for(
    db: Session, session: InfusionSession, target: Phase, zone: tzinfo, at: datetime
) -> sessions.Protocol:
    """What the alerts domain says about a phase change at `at`: the limit profile's discharge
    rules, the pre-dose gate's advice (by the patient's age band, on the clinic's calendar
    `zone`; on the baseline as it stood at `at`) and, before a discharge, the open high-priority
    alarms."""
    check = gate_for(db, session, zone, at)
    limits = check.limits
    open_high: tuple[str, ...] = ()
    if target is Phase.DISCHARGED:
        # Open means unacknowledged (a latched one too) or acknowledged while still present;
        # either way someone must answer it before the patient leaves, or say why not.
        open_high = tuple(
            _describe(alarm)
            for alarm in list_for_session(db, session.id)
            if alarm.resolved_at is None and alarm.priority >= Priority.HIGH
        )
    return sessions.Protocol(
        gate_limit=(check.gate.systolic, check.gate.diastolic),
        gate_basis=check.gate.basis,
        min_observation_min=limits.discharge.minimum_for(session.drug),
        require_alertness=limits.discharge.require_alertness,
        gate_advice=check.advice,
        observe=lambda session_id, at, since: readings.observations(db, session_id, at, since),
        open_high_alarms=open_high,
    )


def checklist(
    db: Session,
    session_id: int,
    target: Phase,
    at: datetime,
    tz: tzinfo,
    *,
    clinic_zone: tzinfo | None = None,
    simulated_observation_min: float | None = None,
) -> tuple[InfusionSession, list[Item]]:
    """The checklist of moving a session to `target` at `at`, auto items judged (the dialog's
    view before the nurse confirms); clock times in `tz`, ages on the clinic's calendar
    (`clinic_zone`, `tz` when not given)."""
    session = sessions.get_session(db, session_id)
    protocol = protocol_for(db, session, target, clinic_zone or tz, at)
    if simulated_observation_min is not None:
        protocol = replace(protocol, simulated_observation_min=simulated_observation_min)
    return session, sessions.checklist(db, session, target, at, protocol, tz)


def change_phase(
    db: Session,
    session_id: int,
    body: PhaseChangeIn,
    actor: Actor,
    *,
    future_tolerance: timedelta,
    tz: tzinfo,
    now: datetime | None = None,
    simulated_observation_min: float | None = None,
) -> InfusionSession:
    """Move a session on under its protocol: the checklist judged and enforced for every
    client (the manual items only for those that confirm them), the change recorded with it,
    and a session that ends takes its open alarms with it. A simulator moving its own session
    gives `simulated_observation_min`, the observation so far in simulated minutes."""
    now = now or utcnow()
    # Locked first: the record the checklist is judged on cannot change under it.
    current = sessions.get_session(db, session_id, for_update=True)
    protocol = protocol_for(db, current, body.phase, tz, body.at or now)
    if simulated_observation_min is not None:
        protocol = replace(protocol, simulated_observation_min=simulated_observation_min)
    session = sessions.change_phase(
        db,
        session_id,
        body,
        actor,
        future_tolerance=future_tolerance,
        protocol=protocol,
        now=now,
        tz=tz,
    )
    if Phase(session.phase) in ENDED:
        close_ended(db, now, session_id)
    return session


# ---- devices ----------------------------------------------------------------------------------

# Readings stored by one call of the readings path during a bind's backfill: a few hundred ids in
# one look-up stays far inside every database's limit on bound parameters.
BACKFILL_CHUNK = 500


def _device_actor(report_device: str | None, sender: str) -> Actor:
    """A device entering its readings: as staff may (real and simulated sessions alike), written
    into the record as device:<EUI-64>, or device:<sender> for a sender that named no device."""
    name = report_device if report_device is not None else sender[:73]
    return Actor(kind="device", id=0, name=name, role=Role.STAFF)


def _check_report(report: DeviceReport, received_at: datetime, future_tolerance: timedelta) -> None:
    problem = device_rules.report_problem(report, received_at, future_tolerance)
    if problem is not None:
        raise InvalidInput(problem.where, problem.message, problem.value)


def _readings_of(
    sender: str, control_id: str, observations: Iterable[DeviceObservation]
) -> list[ReadingIn]:
    """A report's vitals as the readings a nurse's would be, one per moment, each with the id
    that makes a resend (or a second attach) the same reading; a value the readings path would
    refuse is refused naming its OBX."""
    items = []
    for group in device_rules.group(observations):
        values = {
            vital: int(value) if VITALS[vital].integer else value
            for vital, value in group.values.items()
        }
        try:
            items.append(
                ReadingIn(
                    id=device_rules.reading_id(sender, control_id, group.taken_at),
                    taken_at=group.taken_at,
                    source=Source.DEVICE,
                    **values,
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else ""
            segment = group.segments.get(name, min(group.segments.values()))
            field = 14 if name == "taken_at" else 5  # OBX-14 the time, OBX-5 the value
            raise InvalidInput(
                ("OBX", segment, field), f"{name or 'reading'}: {first['msg']}", values.get(name)
            ) from None
    return items


def receive_device_report(
    db: Session, report: DeviceReport, received_at: datetime, *, future_tolerance: timedelta
) -> Receipt:
    """Store a device's report in the caller's unit of work (the caller commits, then ACKs).

    A sender's control id seen before is a resend: nothing new is stored. Otherwise the message
    is kept whole, and its readings go, through the path a nurse's take (limits, alarms, stream),
    to the open session on the device's chair, or on the chair its PV1-3 bed names; with neither,
    the message waits against its device until a nurse binds it (`bind_device`).
    """
    try:
        return _receive(db, report, received_at, future_tolerance)
    except DBAPIError as exc:
        # A database too busy, full or out of reach is not the message's fault: the listener
        # answers AR for Overloaded, and the sender retries.
        if (busy := overload_of(exc)) is not None:
            raise busy from exc
        raise


def _receive(
    db: Session, report: DeviceReport, received_at: datetime, future_tolerance: timedelta
) -> Receipt:
    _check_report(report, received_at, future_tolerance)
    items = _readings_of(report.sender, report.control_id, report.observations)
    seen = devices.find_message(db, report.sender, report.control_id)
    if seen is not None:
        return Receipt(duplicate=True, session_id=seen.session_id, stored=0)
    device = devices.device_for(db, report, received_at) if report.device is not None else None
    session = devices.route(db, device, report)
    if session is not None:
        # Locked before the message row that refers to it is inserted: that insert takes a share
        # lock on the session, and storing the readings then asks for its update lock, so two
        # monitors of one chair would each hold the first and wait for the other (PostgreSQL
        # found the deadlock). Taking the update lock first makes them queue instead.
        session = sessions.get_session(db, session.id, for_update=True)
    message = devices.add_message(db, report, received_at, session.id if session else None)
    if message is None:
        # Stored by another process between the look-up and the insert: its resend, answered so.
        seen = devices.find_message(db, report.sender, report.control_id)
        return Receipt(duplicate=True, session_id=seen.session_id if seen else None, stored=0)
    stored = 0
    if session is not None and items:
        actor = _device_actor(report.device, report.sender)
        results = record_readings(
            db, session.id, items, actor, future_tolerance=future_tolerance, batch=True
        )
        stored = sum(1 for r in results if r.created)
    if device is not None:
        routed = session.chair_id if session is not None and device.chair_id is None else None
        devices.count_message(
            device, report, received_at, kept=session is None, routed_chair_id=routed
        )
    db.flush()
    return Receipt(duplicate=False, session_id=session.id if session else None, stored=stored)


@dataclass(frozen=True)
class DeviceBound:
    device: Device
    previous_chair_id: int | None
    session: InfusionSession | None  # the chair's open session, which the backfill went to
    attached_messages: int
    stored_readings: int


def bind_device(
    db: Session,
    eui64: str,
    chair_id: int | None,
    actor: Actor,
    *,
    future_tolerance: timedelta,
    now: datetime | None = None,
) -> DeviceBound:
    """Bind a device to a chair (None: unbind it). Its kept messages measured during the chair's
    open session (from its start to now) are attached to it as a backfill.

    A backfilled value is recorded as it was measured, but only the recent ones (measured in the
    last `device_rules.CURRENT_WINDOW`) are judged by the alarms, in order: an older value is
    history, long gone, and sounding it now would send a nurse to a problem over long ago (a
    high alarm would even latch on it). The chart and the record show it all the same.
    """
    now = now or utcnow()
    device = devices.get_device(db, eui64)
    chair = devices.chair_in_service(db, chair_id) if chair_id is not None else None
    previous = device.chair_id
    devices.bind(db, device, chair, actor, now)
    session = devices.open_session_on(db, chair.id) if chair is not None else None
    if session is None:
        return DeviceBound(device, previous, None, 0, 0)
    since, until = as_utc(session.created_at), now + future_tolerance
    messages = devices.kept_during(db, eui64, since, until)
    history: list[ReadingIn] = []
    current: list[ReadingIn] = []
    for message in messages:
        during = [
            obs
            for obs in map(device_rules.observation_of, message.observations)
            if since <= obs.taken_at <= until
        ]
        for item in _readings_of(message.sender, message.control_id, during):
            assert item.taken_at is not None
            kind = current if device_rules.is_current(as_utc(item.taken_at), now) else history
            kind.append(item)
    device_actor = _device_actor(eui64, device.last_sender)
    stored = 0
    for start in range(0, len(history), BACKFILL_CHUNK):
        chunk = history[start : start + BACKFILL_CHUNK]
        stored += sum(
            1
            for r in readings.ingest(
                db, session.id, chunk, device_actor, future_tolerance=future_tolerance, batch=True
            )
            if r.created
        )
    if current:
        results = record_readings(
            db, session.id, current, device_actor, future_tolerance=future_tolerance, batch=True
        )
        stored += sum(1 for r in results if r.created)
    devices.attached(db, device, messages, session.id, now)
    return DeviceBound(device, previous, session, len(messages), stored)
