"""Where alerts are decided: on every stored reading, on the clock, and when a nurse responds.

Each entry point runs inside the caller's transaction with the session row locked, so a reading
and the alarm it raised commit together and two readings of one session are never evaluated at
once. Condition trackers are stored, so delays and timers carry on across a restart.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.alerts import lifecycle
from backend.alerts.baseline import BloodPressure, gate_advice, rise_condition
from backend.alerts.conditions import ConditionState, elapse, observe
from backend.alerts.lifecycle import Alarm, AlarmKind, AlarmStatus, Change
from backend.alerts.limits import (
    AlertPhase,
    Bound,
    Direction,
    LimitSet,
    PhaseLimits,
    Priority,
    VitalLimit,
    clinic_defaults,
)
from backend.alerts.models import Alert, ConditionRecord, LimitChange, LimitProfile
from backend.alerts.schemas import AlertPublic, AlertSummary, Overrides
from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.timeutil import utcnow
from backend.readings.models import Reading
from backend.readings.vitals import VITALS
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import Phase
from backend.sessions.service import check_may_work_on
from backend.streaming.outbox import record_event, record_events

LIMITS = TypeAdapter(LimitSet)
OVERRIDES = TypeAdapter(Overrides)
VITAL_LIMIT = TypeAdapter(VitalLimit)
MONITORED = frozenset(p.value for p in AlertPhase)
CONTINUOUS_SOURCES = ("device", "simulator")
DEFAULT_PROFILE = "Clinic default"
# Named protocol profiles seeded next to the default; clinics edit or add their own.
SEEDED_PROFILES = ("IV ketamine 0.5 mg/kg over 40 min", "Esketamine nasal")


# ---- limits -----------------------------------------------------------------------------


def ensure_profiles(db: Session, by: str = "system") -> None:
    """Seed the clinic default and the protocol profiles when there are none."""
    if db.scalar(select(func.count()).select_from(LimitProfile)):
        return
    defaults = LIMITS.dump_python(clinic_defaults(), mode="json")
    for index, name in enumerate((DEFAULT_PROFILE, *SEEDED_PROFILES)):
        db.add(
            LimitProfile(
                name=name,
                is_default=index == 0,
                limits=defaults,
                updated_at=_now(),
                updated_by=by,
            )
        )
    db.flush()


def list_profiles(db: Session) -> list[LimitProfile]:
    return list(
        db.scalars(select(LimitProfile).order_by(LimitProfile.is_default.desc(), LimitProfile.name))
    )


def get_profile(db: Session, profile_id: int) -> LimitProfile:
    profile = db.get(LimitProfile, profile_id)
    if profile is None:
        raise NotFound(f"no limit profile with id {profile_id}")
    return profile


def _log_change(
    db: Session,
    actor: Actor,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    profile_id: int | None = None,
    session_id: int | None = None,
) -> None:
    """Record who changed which limits when, from what to what."""
    db.add(
        LimitChange(
            profile_id=profile_id,
            session_id=session_id,
            changed_at=_now(),
            changed_by=actor.label,
            old=old,
            new=new,
        )
    )


def create_profile(db: Session, name: str, limits: LimitSet, actor: Actor) -> LimitProfile:
    document = LIMITS.dump_python(limits, mode="json")
    profile = LimitProfile(
        name=name, is_default=False, limits=document, updated_at=_now(), updated_by=actor.label
    )
    add_unique(db, profile, f"a limit profile named {name!r} already exists")
    _log_change(db, actor, None, {"name": name, **document}, profile_id=profile.id)
    return profile


def update_profile(
    db: Session,
    profile: LimitProfile,
    name: str,
    limits: LimitSet,
    actor: Actor,
    based_on: datetime | None = None,
) -> LimitProfile:
    """Change a profile. With `based_on` (the `updated_at` the editor started from), a profile
    someone else saved meanwhile is refused rather than silently overwritten."""
    if based_on is not None and based_on != profile.updated_at:
        raise Conflict(
            f"{profile.name!r} was changed by {profile.updated_by} at "
            f"{profile.updated_at.isoformat()} after you opened it: "
            "reload it and make your change again"
        )
    document = LIMITS.dump_python(limits, mode="json")
    if name == profile.name and document == profile.limits:
        return profile  # nothing to change, nothing to record
    if name != profile.name:
        clash = db.scalar(select(LimitProfile.id).where(LimitProfile.name == name))
        if clash is not None:
            raise Conflict(f"a limit profile named {name!r} already exists")
    # The profile's name travels with its limits in the log, so a rename is on record too.
    _log_change(
        db,
        actor,
        {"name": profile.name, **profile.limits},
        {"name": name, **document},
        profile_id=profile.id,
    )
    profile.name = name
    profile.limits = document
    profile.updated_at = _now()
    profile.updated_by = actor.label
    record_event(db, "limits.changed", None, {"profile_id": profile.id})
    db.flush()
    return profile


def _profile_of(db: Session, session: InfusionSession) -> LimitProfile | None:
    if session.limit_profile_id is not None:
        return db.get(LimitProfile, session.limit_profile_id)
    return db.scalar(select(LimitProfile).where(LimitProfile.is_default.is_(True)))


Patches = dict[str, dict[str, dict[str, Any]]]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _layer(base: LimitSet, patches: Patches) -> LimitSet:
    """`base` with a session's patches applied, field by field."""
    phases = dict(base.phases)
    for phase_name, vitals in patches.items():
        phase = AlertPhase(phase_name)
        current = phases[phase]
        merged = {
            vital: VITAL_LIMIT.validate_python(
                _merge(
                    VITAL_LIMIT.dump_python(current.vitals.get(vital, VitalLimit()), mode="json"),
                    patch,
                )
            )
            for vital, patch in vitals.items()
        }
        phases[phase] = replace(current, vitals={**current.vitals, **merged})
    return replace(base, phases=phases)


def _readable(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {message}" if where else message


def _base_limits(db: Session, session: InfusionSession) -> tuple[LimitProfile | None, LimitSet]:
    profile = _profile_of(db, session)
    return profile, LIMITS.validate_python(profile.limits) if profile else clinic_defaults()


def session_limits(
    db: Session, session: InfusionSession
) -> tuple[LimitProfile | None, Patches, LimitSet]:
    """The session's profile, its own overrides, and the limits in force (the two layered)."""
    profile, base = _base_limits(db, session)
    patches: Patches = session.limit_overrides or {}
    return profile, patches, _layer(base, patches)


def set_overrides(
    db: Session, session: InfusionSession, overrides: Overrides, actor: Actor
) -> None:
    if session.phase not in MONITORED:
        raise Conflict(f"session {session.id} has ended; its limits can no longer change")
    document: Patches = OVERRIDES.dump_python(overrides, mode="json", exclude_unset=True)
    _, base = _base_limits(db, session)
    for phase, vitals in document.items():
        for vital, patch in vitals.items():
            try:
                _layer(base, {phase: {vital: patch}})
            except ValidationError as exc:
                problem = "; ".join(_readable(e) for e in exc.errors())
                raise InvalidInput(("body", "overrides", phase, vital), problem, patch) from None
    _log_change(db, actor, session.limit_overrides, document, session_id=session.id)
    session.limit_overrides = document
    # Open pages redraw their limit bands and tables when limits change.
    record_event(db, "limits.changed", session.id, {"session_id": session.id})
    db.flush()


def limit_changes(
    db: Session, *, session_id: int | None = None, profile_id: int | None = None
) -> list[LimitChange]:
    query = select(LimitChange).order_by(LimitChange.changed_at.desc(), LimitChange.id.desc())
    if session_id is not None:
        query = query.where(LimitChange.session_id == session_id)
    if profile_id is not None:
        query = query.where(LimitChange.profile_id == profile_id)
    return list(db.scalars(query.limit(200)))


# ---- evaluation -------------------------------------------------------------------------


@dataclass
class _Context:
    """One session's alarm state, loaded once per evaluation."""

    db: Session
    session: InfusionSession
    limits: LimitSet
    now: datetime
    conditions: dict[str, ConditionRecord]
    alerts: dict[str, Alert]
    events: list[tuple[str, int | None, dict[str, Any]]]
    escalated: list[AlertPublic]
    reading_id: str | None = None  # the reading being evaluated, recorded on the alarms it sets

    @property
    def phase_limits(self) -> PhaseLimits:
        return self.limits.for_phase(AlertPhase(self.session.phase))


def _now() -> datetime:
    return utcnow()


def _context(db: Session, session: InfusionSession, now: datetime) -> _Context:
    _, _, limits = session_limits(db, session)
    conditions = {
        row.condition: row
        for row in db.scalars(
            select(ConditionRecord).where(ConditionRecord.session_id == session.id)
        )
    }
    alerts = {
        row.condition: row
        for row in db.scalars(_open_alerts().where(Alert.session_id == session.id))
    }
    return _Context(db, session, limits, now, conditions, alerts, [], [])


def _open_alerts() -> Any:
    return select(Alert).where(Alert.resolved_at.is_(None))


def _state(record: ConditionRecord | None) -> ConditionState:
    if record is None:
        return ConditionState()
    present = Priority(record.present) if record.present is not None else None
    return ConditionState(record.last_value, record.medium_since, record.high_since, present)


def _store_state(ctx: _Context, condition: str, state: ConditionState) -> None:
    record = ctx.conditions.get(condition)
    if record is None:
        record = ConditionRecord(session_id=ctx.session.id, condition=condition)
        ctx.db.add(record)
        ctx.conditions[condition] = record
    record.last_value = state.last_value
    record.medium_since = state.medium_since
    record.high_since = state.high_since
    record.present = int(state.present) if state.present is not None else None


def _domain(row: Alert) -> Alarm:
    return Alarm(
        condition=row.condition,
        kind=AlarmKind(row.kind),
        priority=Priority(row.priority),
        status=AlarmStatus(row.status),
        present=row.present,
        raised_at=row.raised_at,
        alerted_at=row.alerted_at,
        message=row.message,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        note=row.note,
        resolved_at=row.resolved_at,
        escalated_at=row.escalated_at,
    )


def _save(
    ctx: _Context, row: Alert | None, alarm: Alarm, value: float | None, changes: Sequence[Change]
) -> Alert:
    if row is None:
        row = Alert(session=ctx.session, condition=alarm.condition, version=0)
        ctx.db.add(row)
    row.version += 1
    row.kind = alarm.kind.value
    row.priority = int(alarm.priority)
    row.status = alarm.status.value
    row.present = alarm.present
    row.message = alarm.message
    if value is not None or row.value is None:
        row.value = value
    if Change.RAISED in changes and value is not None:
        row.reading_id = ctx.reading_id
    row.raised_at = alarm.raised_at
    row.alerted_at = alarm.alerted_at
    row.acknowledged_at = alarm.acknowledged_at
    row.acknowledged_by = alarm.acknowledged_by
    row.note = alarm.note
    row.resolved_at = alarm.resolved_at
    row.escalated_at = alarm.escalated_at
    ctx.db.flush()
    if alarm.open:
        ctx.alerts[alarm.condition] = row
    else:
        ctx.alerts.pop(alarm.condition, None)
    public = AlertPublic.of(row)
    ctx.events.append(
        (
            "alert.changed",
            ctx.session.id,
            {**public.model_dump(mode="json"), "changes": [c.value for c in changes]},
        )
    )
    if Change.ESCALATED in changes:
        ctx.escalated.append(public)
    return row


def _apply(
    ctx: _Context,
    condition: str,
    kind: AlarmKind,
    present: Priority | None,
    message: str,
    value: float | None = None,
) -> None:
    row = ctx.alerts.get(condition)
    alarm, changes = lifecycle.step(
        _domain(row) if row else None,
        present,
        condition=condition,
        kind=kind,
        at=ctx.now,
        message=message,
        timing=ctx.limits.timing,
    )
    if changes and alarm is not None:
        _save(ctx, row, alarm, value, changes)


def _vital_message(
    vital: str, direction: Direction, value: float, bound: Bound, present: Priority | None
) -> str:
    spec = VITALS[vital]
    limit = bound.high if present is Priority.HIGH else bound.loosest(direction)
    side = "above" if direction is Direction.ABOVE else "below"
    return (
        f"{spec.label} {value:g} {spec.unit} {side} {limit:g}" if limit is not None else spec.label
    )


def _finish(ctx: _Context) -> None:
    record_events(ctx.db, ctx.events)
    ctx.events.clear()


def _lock(db: Session, session_id: int) -> InfusionSession:
    session = db.get(InfusionSession, session_id, with_for_update=True, populate_existing=True)
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    return session


def evaluate_readings(
    db: Session, session: InfusionSession, readings: Sequence[Reading], now: datetime
) -> None:
    """Check newly stored readings of one session against its limits, in the same transaction."""
    if session.phase not in MONITORED or not readings:
        return
    session = _lock(db, session.id)
    ctx = _context(db, session, now)
    for reading in sorted(readings, key=lambda r: r.taken_at):
        ctx.reading_id = reading.id
        _evaluate_one(ctx, reading)
    _finish(ctx)


def withdraw_reading(
    db: Session, session: InfusionSession, reading: Reading, reason: str, now: datetime
) -> None:
    """A reading was entered in error: withdraw the alarms it raised, unless real values stand.

    An alarm raised by that reading is withdrawn only when no other valid reading breached the
    same condition while it was open: a latched SpO2 alarm from minutes of real 84 % stays, even
    if the reading that happened to raise it is struck. A withdrawn open alarm is resolved at once
    (no latching: the condition never existed) and its condition starts afresh, so the next real
    reading decides. Past ones are marked too, so the record shows why they happened.
    """
    session = _lock(db, session.id)
    ctx = _context(db, session, now)
    rows = list(db.scalars(select(Alert).where(Alert.reading_id == reading.id)))
    for row in rows:
        until = row.resolved_at or now
        standing = _breach_since(ctx, row.condition, reading, until)
        if standing is not None:
            row.reading_id = standing.id
            continue
        row.withdrawn_reason = reason
        if row.resolved_at is None:
            alarm = replace(
                _domain(row), status=AlarmStatus.RESOLVED, present=False, resolved_at=now
            )
            _save(ctx, row, alarm, None, [Change.WITHDRAWN])
            if row.condition in ctx.conditions:
                _store_state(ctx, row.condition, ConditionState())
        else:
            row.version += 1
            ctx.events.append(
                (
                    "alert.changed",
                    session.id,
                    {
                        **AlertPublic.of(row).model_dump(mode="json"),
                        "changes": [Change.WITHDRAWN.value],
                    },
                )
            )
    db.flush()
    _finish(ctx)


def _breach_since(
    ctx: _Context, condition: str, struck: Reading, until: datetime
) -> Reading | None:
    """Another valid reading that breached `condition` between `struck` and `until`, if any."""
    later = select(Reading).where(
        Reading.session_id == ctx.session.id,
        Reading.id != struck.id,
        Reading.entered_in_error_at.is_(None),
        Reading.taken_at >= struck.taken_at,
        Reading.taken_at <= until,
    )
    limits = ctx.phase_limits
    if condition == "baseline_rise":
        rule = limits.baseline_rise
        baseline = baseline_pressure(ctx.db, ctx.session)
        if rule is None or baseline is None:
            return None
        for candidate in ctx.db.scalars(later.where(Reading.systolic.is_not(None))):
            rise = BloodPressure(candidate.systolic, candidate.diastolic)
            if rise_condition(rule, baseline, rise)[0] is not None:
                return candidate
        return None
    vital, _, side = condition.partition(".")
    if vital not in limits.vitals or side not in {d.value for d in Direction}:
        return None
    direction = Direction(side)
    limit = limits.vitals[vital].bound(direction).loosest(direction)
    if limit is None:
        return None
    column = getattr(Reading, vital)
    beyond = column > limit if direction is Direction.ABOVE else column < limit
    return ctx.db.scalars(later.where(beyond).order_by(Reading.taken_at).limit(1)).first()


def _evaluate_one(ctx: _Context, reading: Reading) -> None:
    limits = ctx.phase_limits
    for vital, limit in limits.vitals.items():
        value = getattr(reading, vital)
        if value is None:
            continue
        for direction in Direction:
            bound = limit.bound(direction)
            if bound.medium is None and bound.high is None:
                continue
            condition = f"{vital}.{direction.value}"
            state = observe(
                _state(ctx.conditions.get(condition)), limit, direction, float(value), ctx.now
            )
            _store_state(ctx, condition, state)
            message = _vital_message(vital, direction, float(value), bound, state.present)
            _apply(ctx, condition, AlarmKind.PHYSIOLOGICAL, state.present, message, float(value))
    rule = limits.baseline_rise
    has_bp = reading.systolic is not None or reading.diastolic is not None
    if rule is not None and has_bp and ctx.session.phase != Phase.BASELINE.value:
        baseline = baseline_pressure(ctx.db, ctx.session)
        if baseline is not None:
            present, message = rise_condition(
                rule, baseline, BloodPressure(reading.systolic, reading.diastolic)
            )
            _apply(
                ctx,
                "baseline_rise",
                AlarmKind.PHYSIOLOGICAL,
                present,
                message or "Blood pressure rise",
                reading.systolic,
            )
    if reading.source in CONTINUOUS_SOURCES:
        _apply(ctx, "no_data", AlarmKind.TECHNICAL, None, "")
    if reading.systolic is not None:
        _apply(ctx, "bp_overdue", AlarmKind.ADVISORY, None, "")


def baseline_pressure(db: Session, session: InfusionSession) -> BloodPressure | None:
    """The last blood pressure measured before dosing started (or so far, if it has not)."""
    started = db.scalar(
        select(PhaseChange.at).where(
            PhaseChange.session_id == session.id, PhaseChange.to_phase == Phase.INFUSING.value
        )
    )
    query = select(Reading.systolic, Reading.diastolic).where(
        Reading.session_id == session.id,
        Reading.systolic.is_not(None),
        Reading.entered_in_error_at.is_(None),
    )
    if started is not None:
        query = query.where(Reading.taken_at <= started)
    row = db.execute(query.order_by(Reading.taken_at.desc()).limit(1)).first()
    if row is None:
        return None
    return BloodPressure(row[0], row[1])


def tick_session(db: Session, session_id: int, now: datetime) -> list[AlertPublic]:
    """Let time act on one session; return the alarms that escalated just now.

    One session per transaction, always: every writer locks a session row and then the stream
    counter, so a transaction that went on to lock a second session while holding the counter
    would deadlock with a reading arriving for that second session.
    """
    session = _lock(db, session_id)
    if session.phase not in MONITORED:
        return []
    # The clock read before waiting for the lock may be older than a reading that committed
    # meanwhile: judged at that earlier instant, a breach measured "later" would look
    # unconfirmed and a high alarm would drop to medium. Time only moves forward here.
    now = max(now, utcnow())
    ctx = _context(db, session, now)
    _tick_session(ctx)
    _finish(ctx)
    return ctx.escalated


def sessions_time_can_change(db: Session) -> list[int]:
    """Monitored sessions where the clock alone can change something: dosing or recovering
    (feeds and overdue readings), with an open alarm (reminders, escalation), or with a breach
    whose delay is running. A quiet baseline session costs the timer nothing."""
    dosing = select(InfusionSession.id).where(
        InfusionSession.phase.in_((Phase.INFUSING.value, Phase.RECOVERY.value))
    )
    alarmed = select(Alert.session_id).where(Alert.resolved_at.is_(None))
    pending = select(ConditionRecord.session_id).where(ConditionRecord.medium_since.is_not(None))
    candidates = dosing.union(alarmed, pending).subquery()
    query = (
        select(InfusionSession.id)
        .where(InfusionSession.id.in_(select(candidates.c[0])))
        .where(InfusionSession.phase.in_(MONITORED))
        .order_by(InfusionSession.id)
    )
    return list(db.scalars(query))


def _tick_session(ctx: _Context) -> None:
    limits = ctx.phase_limits
    for condition, record in list(ctx.conditions.items()):
        vital, _, side = condition.partition(".")
        limit = limits.vitals.get(vital)
        if limit is None or side not in (d.value for d in Direction) or record.last_value is None:
            continue
        direction = Direction(side)
        before = _state(record)
        state = elapse(before, limit, direction, ctx.now)
        if state != before:
            _store_state(ctx, condition, state)
            message = _vital_message(
                vital, direction, record.last_value, limit.bound(direction), state.present
            )
            _apply(
                ctx, condition, AlarmKind.PHYSIOLOGICAL, state.present, message, record.last_value
            )
    if ctx.session.phase in (Phase.INFUSING.value, Phase.RECOVERY.value):
        _check_feeds(ctx, limits)
    for row in list(ctx.alerts.values()):
        alarm, changes = lifecycle.tick(_domain(row), ctx.now, ctx.limits.timing)
        if changes:
            _save(ctx, row, alarm, None, changes)


def _check_feeds(ctx: _Context, limits: PhaseLimits) -> None:
    db, session_id = ctx.db, ctx.session.id
    last_continuous = db.scalar(
        select(func.max(Reading.received_at)).where(
            Reading.session_id == session_id, Reading.source.in_(CONTINUOUS_SOURCES)
        )
    )
    if last_continuous is not None and limits.no_data_after_s is not None:
        silent = (ctx.now - last_continuous).total_seconds()
        present = Priority.MEDIUM if silent > limits.no_data_after_s else None
        _apply(
            ctx,
            "no_data",
            AlarmKind.TECHNICAL,
            present,
            f"No data from the monitor for over {limits.no_data_after_s:g} s",
        )
    if last_continuous is None and limits.bp_due_every_s is not None:
        last_bp = db.scalar(
            select(func.max(Reading.taken_at)).where(
                Reading.session_id == session_id,
                Reading.systolic.is_not(None),
                Reading.entered_in_error_at.is_(None),
            )
        )
        since = max(t for t in (last_bp, ctx.session.phase_changed_at) if t is not None)
        waited = (ctx.now - since).total_seconds()
        # A reminder, not a danger: low priority (one tone, cyan, steady).
        present = Priority.LOW if waited > limits.bp_due_every_s else None
        minutes = limits.bp_due_every_s / 60
        _apply(
            ctx,
            "bp_overdue",
            AlarmKind.ADVISORY,
            present,
            f"Blood pressure overdue: none in the last {minutes:g} min",
        )


def close_ended(db: Session, now: datetime, session_id: int | None = None) -> None:
    """A session that ended takes its open alarms with it: nobody is left to respond to them.
    Called when a session ends, and by the clock for any that ended elsewhere."""
    query = (
        _open_alerts()
        .join(InfusionSession, InfusionSession.id == Alert.session_id)
        .where(InfusionSession.phase.not_in(MONITORED))
    )
    if session_id is not None:
        query = query.where(Alert.session_id == session_id)
    rows = list(db.scalars(query))
    events = []
    for row in rows:
        row.status = AlarmStatus.RESOLVED.value
        row.present = False
        row.resolved_at = now
        row.version += 1
        db.flush()
        events.append(
            (
                "alert.changed",
                row.session_id,
                {**AlertPublic.of(row).model_dump(mode="json"), "changes": [Change.RESOLVED.value]},
            )
        )
    record_events(db, events)


# ---- people -------------------------------------------------------------------------------


def acknowledge(db: Session, alert_id: int, actor: Actor, note: str | None, now: datetime) -> Alert:
    row = db.get(Alert, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}")
    session = _lock(db, row.session_id)
    check_may_work_on(actor, session.simulated)
    db.refresh(row)
    try:
        alarm, changes = lifecycle.acknowledge(_domain(row), actor.label, note, now)
    except lifecycle.AlarmError as exc:
        raise Conflict(f"alert {alert_id}: {exc}") from None
    if not changes:
        return row
    ctx = _context(db, session, now)
    row = _save(ctx, row, alarm, None, changes)
    _finish(ctx)
    return row


def list_open(db: Session) -> list[Alert]:
    return list(db.scalars(_open_alerts().order_by(Alert.priority.desc(), Alert.alerted_at)))


def list_for_session(db: Session, session_id: int, limit: int = 200) -> list[Alert]:
    if db.get(InfusionSession, session_id) is None:
        raise NotFound(f"no session with id {session_id}")
    query = (
        select(Alert)
        .where(Alert.session_id == session_id)
        .order_by(Alert.resolved_at.is_not(None), Alert.priority.desc(), Alert.alerted_at.desc())
    )
    return list(db.scalars(query.limit(limit)))


def open_summaries(db: Session, session_ids: Sequence[int]) -> dict[int, AlertSummary]:
    """For the ward: each session's highest open priority, how many are open, any escalated."""
    summaries = {sid: AlertSummary(priority=None, count=0, escalated=False) for sid in session_ids}
    if not session_ids:
        return summaries
    for row in db.scalars(_open_alerts().where(Alert.session_id.in_(session_ids))):
        current = summaries[row.session_id]
        top = max(
            Priority(row.priority),
            Priority[current.priority.upper()] if current.priority else Priority.LOW,
        )
        summaries[row.session_id] = AlertSummary(
            priority=top.label,
            count=current.count + 1,
            escalated=current.escalated
            or (row.escalated_at is not None and row.status == AlarmStatus.ACTIVE.value),
        )
    return summaries


def gate_for(
    db: Session, session: InfusionSession
) -> tuple[str | None, BloodPressure | None, LimitSet]:
    _, _, limits = session_limits(db, session)
    baseline = baseline_pressure(db, session)
    advice = gate_advice(limits.gate, baseline) if baseline is not None else None
    return advice, baseline, limits


def check_gate(db: Session, session: InfusionSession, override: bool, actor: Actor) -> None:
    """Before dosing: refuse while the gate advises against it, unless the nurse decides to go
    ahead, in which case who decided and when is recorded on the session."""
    advice, _, _ = gate_for(db, session)
    if advice is None:
        return
    if not override:
        raise Conflict(f"{advice}. To start anyway, confirm with override_gate=true.")
    session.gate_override_by = actor.label
    session.gate_override_at = utcnow()
    db.flush()
