"""On the clock: what time alone decides (condition delays completing, no data, BP overdue,
reminders, escalation) and closing the alarms of sessions that ended."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts import lifecycle
from backend.alerts.conditions import elapse, measured_clock
from backend.alerts.lifecycle import AlarmKind, AlarmStatus, Change
from backend.alerts.limit_profiles import MONITORED
from backend.alerts.limits import Direction, PhaseLimits, Priority
from backend.alerts.models import Alert, ConditionRecord
from backend.alerts.schemas import AlertPublic
from backend.alerts.store import (
    Context,
    apply,
    condition_state,
    crossed_limit,
    finish,
    load_context,
    lock_session,
    open_alerts,
    save,
    store_state,
    to_alarm,
    vital_message,
)
from backend.core.timeutil import utcnow
from backend.readings.service import feed_times
from backend.sessions.models import InfusionSession
from backend.sessions.phases import Phase
from backend.streaming.outbox import record_events

# Alarms on blood pressure, which is measured now and then (a nurse or a cuff), never streamed.
BP_CONDITIONS = frozenset(
    {"systolic.above", "systolic.below", "diastolic.above", "diastolic.below", "baseline_rise"}
)


def tick_session(db: Session, session_id: int, now: datetime) -> list[AlertPublic]:
    """Let time act on one session; return the alarms that escalated just now.

    One session per transaction, always: every writer locks a session row and then the stream
    counter, so a transaction that went on to lock a second session while holding the counter
    would deadlock with a reading arriving for that second session.
    """
    session = lock_session(db, session_id)
    if session.phase not in MONITORED:
        return []
    # The clock read before waiting for the lock may be older than a reading that committed
    # meanwhile: judged at that earlier instant, a breach measured "later" would look
    # unconfirmed and a high alarm would drop to medium. Time only moves forward here.
    now = max(now, utcnow())
    ctx = load_context(db, session, now)
    _tick_session(ctx)
    finish(ctx)
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


def _tick_session(ctx: Context) -> None:
    limits = ctx.phase_limits
    for condition, record in list(ctx.conditions.items()):
        vital, _, side = condition.partition(".")
        limit = limits.vitals.get(vital)
        if limit is None or side not in (d.value for d in Direction) or record.last_value is None:
            continue
        direction = Direction(side)
        before = condition_state(record)
        # Delays are timed on the readings' clock, as on ingest (see conditions.measured_clock).
        at = measured_clock(ctx.now, record.last_taken_at, record.last_received_at)
        state = elapse(before, limit, direction, at)
        if state != before:
            store_state(ctx, condition, state)
            message = vital_message(
                vital, direction, record.last_value, limit.bound(direction), state.present
            )
            apply(
                ctx,
                condition,
                AlarmKind.PHYSIOLOGICAL,
                state.present,
                message,
                record.last_value,
                # The alarm stands on the reading that began the breach: marking it entered in
                # error withdraws what its delay raised.
                reading_id=record.since_reading_id,
                onset=at,
                limit=crossed_limit(limit.bound(direction), direction, state.present),
            )
    if ctx.session.phase in (Phase.INFUSING.value, Phase.RECOVERY.value):
        _check_feeds(ctx, limits)
    last_bp: list[datetime | None] = []  # looked up once, only if an alarm needs it
    for row in list(ctx.alerts.values()):
        alarm = to_alarm(row)
        not_before = None
        if row.condition in BP_CONDITIONS and alarm.status is AlarmStatus.ACKNOWLEDGED:
            if not last_bp:
                last_bp.append(_last_bp_taken_at(ctx))
            not_before = lifecycle.bp_reminder_not_before(alarm, last_bp[0], limits.bp_due_every_s)
        alarm, changes = lifecycle.tick(alarm, ctx.now, ctx.limits.timing, not_before)
        if changes:
            save(ctx, row, alarm, None, changes)


def _last_bp_taken_at(ctx: Context) -> datetime | None:
    # The session's latest row (readings' own): one look-up, whatever history is stored.
    return feed_times(ctx.db, ctx.session.id).bp_taken_at


def _check_feeds(ctx: Context, limits: PhaseLimits) -> None:
    # Only a monitor's heart rate or SpO2 is a continuous feed (CONTINUOUS_SOURCES and
    # MONITOR_VITALS, as the latest row's feed_received_at is kept): a device sending blood
    # pressure every few minutes is an intermittent cuff, and the BP-overdue reminder covers it.
    times = feed_times(ctx.db, ctx.session.id)
    last_continuous = times.feed_received_at
    if last_continuous is not None and limits.no_data_after_s is not None:
        silent = (ctx.now - last_continuous).total_seconds()
        present = Priority.MEDIUM if silent > limits.no_data_after_s else None
        apply(
            ctx,
            "no_data",
            AlarmKind.TECHNICAL,
            present,
            f"No data from the monitor for over {limits.no_data_after_s:g} s",
        )
    # Blood pressure is due whatever else is connected: a monitor streaming heart rate and SpO2
    # (an oximeter) measures no blood pressure, so it never stands in for one.
    if limits.bp_due_every_s is not None:
        last_bp = times.bp_taken_at
        since = max(t for t in (last_bp, ctx.session.phase_changed_at) if t is not None)
        waited = (ctx.now - since).total_seconds()
        # A reminder, not a danger: low priority (one tone, cyan, steady).
        present = Priority.LOW if waited > limits.bp_due_every_s else None
        minutes = limits.bp_due_every_s / 60
        apply(
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
        open_alerts()
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
