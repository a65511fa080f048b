"""An alarm's stored side, shared by every entry point: one session's alarm state loaded under
its row lock (`Context`), condition trackers, and saving an alarm with its stream event.

Each entry point runs inside the caller's transaction with the session row locked, so a reading
and the alarm it raised commit together and two readings of one session are never evaluated at
once. Condition trackers are stored, so delays and timers carry on across a restart."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, insert, literal, null, select, union_all, update
from sqlalchemy.orm import Session, lazyload

from backend.alerts import lifecycle
from backend.alerts.conditions import ConditionState
from backend.alerts.lifecycle import Alarm, AlarmKind, AlarmStatus, Change
from backend.alerts.limit_profiles import ProfileVersion, limits_in_force
from backend.alerts.limits import AlertPhase, Bound, Direction, LimitSet, PhaseLimits, Priority
from backend.alerts.models import Alert, ConditionRecord
from backend.alerts.schemas import AlertPublic
from backend.core.errors import NotFound
from backend.core.fast_sql import Prepared
from backend.readings.models import Reading
from backend.readings.vitals import VITALS
from backend.sessions.models import InfusionSession
from backend.streaming.outbox import record_events

CONTINUOUS_SOURCES = ("device", "simulator")
# What a continuous feed is: a monitor's heart rate and SpO2. A device sending only blood
# pressure is an intermittent cuff, covered by the BP-overdue reminder, never by "no data".
MONITOR_VITALS = ("heart_rate", "spo2")


def is_monitor_feed(reading: Reading) -> bool:
    """A reading from a continuous feed (a monitor streaming heart rate or SpO2)."""
    return reading.source in CONTINUOUS_SOURCES and any(
        getattr(reading, vital) is not None for vital in MONITOR_VITALS
    )


@dataclass(slots=True)
class Tracked:
    """A condition tracker's state while one evaluation runs: a plain copy of its stored row.

    A batch feeds each condition once a reading; written to the ORM row every time, SQLAlchemy's
    attribute bookkeeping cost more than the alarm check itself. The rows are written once, by
    `finish`, with what the last reading left."""

    state: ConditionState = field(default_factory=ConditionState)
    last_received_at: datetime | None = None
    since_reading_id: str | None = None

    @classmethod
    def of(cls, row: Any) -> "Tracked":
        """From a stored row: (condition, *_STATE_COLUMNS)."""
        _, value, medium_since, high_since, present, taken_at, received_at, since = row
        priority = Priority(present) if present is not None else None
        state = ConditionState(value, medium_since, high_since, priority, taken_at)
        return cls(state, received_at, since)

    @property
    def last_value(self) -> float | None:
        return self.state.last_value

    @property
    def last_taken_at(self) -> datetime | None:
        return self.state.last_at

    def columns(self) -> dict[str, Any]:
        """Its stored row's state columns (_STATE_COLUMNS)."""
        state = self.state
        return {
            "last_value": state.last_value,
            "medium_since": state.medium_since,
            "high_since": state.high_since,
            "present": int(state.present) if state.present is not None else None,
            "last_taken_at": state.last_at,
            "last_received_at": self.last_received_at,
            "since_reading_id": self.since_reading_id,
        }


@dataclass
class Context:
    """One session's alarm state, loaded once per evaluation."""

    db: Session
    session: InfusionSession
    limits: LimitSet
    now: datetime
    conditions: dict[str, Tracked]
    alerts: dict[str, Alert]
    events: list[tuple[str, int | None, dict[str, Any]]]
    escalated: list[AlertPublic]
    # Which of `conditions` are stored (else `finish` inserts them), and which it must write.
    stored: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)

    @property
    def phase_limits(self) -> PhaseLimits:
        return self.limits.for_phase(AlertPhase(self.session.phase))


def load_context(
    db: Session, session: InfusionSession, now: datetime, version: ProfileVersion | None = None
) -> Context:
    """`version`: of the session's limit profile, when the caller read it with the lock."""
    limits = limits_in_force(db, session, version)
    # Plain rows, not ORM objects: read and written once per evaluation, by `finish`. Flushed
    # first, as a query would autoflush: an alarm this unit of work has pending is open too.
    db.flush()
    rows = _CONDITIONS.rows(db, {"session_id": session.id})
    conditions = {row[0]: Tracked.of(row) for row in rows if row[0] != _ANY_OPEN}
    # The open alarms as ORM rows (an evaluation may change them), read only when the statement
    # above says there are any: most readings find none.
    alerts = (
        {
            row.condition: row
            # The session is the one locked above: found in the identity map, not joined again.
            for row in db.scalars(_OPEN_ALERTS, {"session_id": session.id})
        }
        if len(conditions) < len(rows)
        else {}
    )
    return Context(db, session, limits, now, conditions, alerts, [], [], set(conditions))


def open_alerts() -> Any:
    return select(Alert).where(Alert.resolved_at.is_(None))


def condition_state(record: Tracked | None) -> ConditionState:
    return ConditionState() if record is None else record.state


def store_state(
    ctx: Context, condition: str, state: ConditionState, reading: Reading | None = None
) -> Tracked:
    """Keep a condition's new state (stored by `finish`); `reading` is the value it was just fed,
    if any."""
    record = ctx.conditions.get(condition)
    if record is None:
        record = ctx.conditions[condition] = Tracked()
    ctx.changed.add(condition)
    run_started = record.state.medium_since is None or record.since_reading_id is None
    record.state = state
    if state.last_at is None:
        record.last_received_at = None
    elif reading is not None:
        record.last_received_at = reading.received_at
    # The reading that began the breach: an alarm its delay raises (on a later reading or on
    # the clock) is linked to it, so marking it entered in error can withdraw that alarm.
    if state.medium_since is None:
        record.since_reading_id = None
    elif reading is not None and run_started:
        record.since_reading_id = reading.id
    return record


def _store_conditions(ctx: Context) -> None:
    """Write the conditions this evaluation changed: one UPDATE for all of those stored before
    (an executemany), one INSERT for any seen the first time."""
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for condition in sorted(ctx.changed):
        state = ctx.conditions[condition].columns()
        if condition in ctx.stored:
            updates.append({"key_session": ctx.session.id, "key_condition": condition, **state})
        else:
            inserts.append({"session_id": ctx.session.id, "condition": condition, **state})
    _UPDATE_CONDITION.many(ctx.db, updates)
    _INSERT_CONDITION.many(ctx.db, inserts)
    ctx.stored |= ctx.changed
    ctx.changed.clear()


_STATE_COLUMNS = (
    "last_value",
    "medium_since",
    "high_since",
    "present",
    "last_taken_at",
    "last_received_at",
    "since_reading_id",
)

_CONDITIONS_TABLE = ConditionRecord.__table__
assert isinstance(_CONDITIONS_TABLE, Table)
# Compiled once (core/fast_sql.py): every reading runs the first two. The first reads the
# session's condition trackers and, as one more row named `_ANY_OPEN`, whether any of its alarms
# is open: in one statement, so under PostgreSQL's READ COMMITTED both are seen as of one moment,
# after the session's lock was granted.
_ANY_OPEN = "#open"  # no condition's name
_ALERTS_TABLE = Alert.__table__
assert isinstance(_ALERTS_TABLE, Table)
_CONDITIONS = Prepared(
    union_all(
        select(
            _CONDITIONS_TABLE.c.condition,
            *(_CONDITIONS_TABLE.c[column] for column in _STATE_COLUMNS),
        ).where(_CONDITIONS_TABLE.c.session_id == bindparam("session_id")),
        select(
            literal(_ANY_OPEN, _CONDITIONS_TABLE.c.condition.type),
            *(null().cast(_CONDITIONS_TABLE.c[column].type) for column in _STATE_COLUMNS),
        ).where(
            exists().where(
                _ALERTS_TABLE.c.session_id == bindparam("session_id"),
                _ALERTS_TABLE.c.resolved_at.is_(None),
            )
        ),
    )
)
_UPDATE_CONDITION = Prepared(
    update(_CONDITIONS_TABLE)
    .where(
        _CONDITIONS_TABLE.c.session_id == bindparam("key_session"),
        _CONDITIONS_TABLE.c.condition == bindparam("key_condition"),
    )
    .values({column: bindparam(column) for column in _STATE_COLUMNS})
)
_INSERT_CONDITION = Prepared(
    insert(_CONDITIONS_TABLE).values(
        {column: bindparam(column) for column in ("session_id", "condition", *_STATE_COLUMNS)}
    )
)
# Built once: an evaluation runs for every reading.
_OPEN_ALERTS = (
    select(Alert)
    .where(Alert.resolved_at.is_(None), Alert.session_id == bindparam("session_id"))
    .options(lazyload(Alert.session))
)


def to_alarm(row: Alert) -> Alarm:
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
        escalations=row.escalations or 0,
    )


def save(
    ctx: Context,
    row: Alert | None,
    alarm: Alarm,
    value: float | None,
    changes: Sequence[Change],
    reading_id: str | None = None,
    limit: float | None = None,
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
        row.limit_value = limit
    if Change.RAISED in changes and value is not None:
        row.reading_id = reading_id
    row.raised_at = alarm.raised_at
    row.alerted_at = alarm.alerted_at
    row.acknowledged_at = alarm.acknowledged_at
    row.acknowledged_by = alarm.acknowledged_by
    row.note = alarm.note
    row.resolved_at = alarm.resolved_at
    row.escalated_at = alarm.escalated_at
    row.escalations = alarm.escalations
    # The review's time to acknowledge runs from the first announcement to the first answer.
    if Change.RAISED in changes or Change.REOPENED in changes:
        row.announced_at = row.announced_at or alarm.alerted_at
    if Change.ACKNOWLEDGED in changes and row.first_acknowledged_at is None:
        row.first_acknowledged_at = alarm.acknowledged_at
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


def apply(
    ctx: Context,
    condition: str,
    kind: AlarmKind,
    present: Priority | None,
    message: str,
    value: float | None = None,
    *,
    reading_id: str | None = None,
    onset: datetime | None = None,
    limit: float | None = None,
) -> None:
    """Apply a condition's state to its alarm. `reading_id` is the reading a new alarm stands on;
    `onset`, when the measured values met the condition (see lifecycle.step); `limit`, the bound
    `value` crossed."""
    row = ctx.alerts.get(condition)
    if row is None and present is None:
        return  # no alarm open and none to raise (lifecycle.step would change nothing)
    alarm, changes = lifecycle.step(
        to_alarm(row) if row else None,
        present,
        condition=condition,
        kind=kind,
        at=ctx.now,
        message=message,
        timing=ctx.limits.timing,
        onset=onset,
    )
    if changes and alarm is not None:
        save(ctx, row, alarm, value, changes, reading_id, limit)


def crossed_limit(bound: Bound, direction: Direction, present: Priority | None) -> float | None:
    """The limit a value beyond `bound` crossed: the high one for a high-priority alarm."""
    return bound.high if present is Priority.HIGH else bound.loosest(direction)


def vital_message(
    vital: str, direction: Direction, value: float, bound: Bound, present: Priority | None
) -> str:
    spec = VITALS[vital]
    limit = crossed_limit(bound, direction, present)
    side = "above" if direction is Direction.ABOVE else "below"
    return (
        f"{spec.label} {value:g} {spec.unit} {side} {limit:g}" if limit is not None else spec.label
    )


def finish(ctx: Context) -> None:
    """Store the conditions' states and the stream events of one evaluation."""
    _store_conditions(ctx)
    record_events(ctx.db, ctx.events)
    ctx.events.clear()


def lock_session(db: Session, session_id: int) -> InfusionSession:
    session = db.get(InfusionSession, session_id, with_for_update=True, populate_existing=True)
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    return session
