"""On ingest: every stored reading is checked against the session's limits in the transaction
that stores it; a reading entered in error withdraws the alarms it raised."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts.baseline import BloodPressure, rise_condition
from backend.alerts.conditions import ConditionState, is_history, observe
from backend.alerts.lifecycle import AlarmKind, AlarmStatus, Change
from backend.alerts.limit_profiles import MONITORED, baseline_pressure
from backend.alerts.limits import Direction
from backend.alerts.models import Alert
from backend.alerts.schemas import AlertPublic
from backend.alerts.store import (
    Context,
    apply,
    condition_state,
    crossed_limit,
    finish,
    is_monitor_feed,
    load_context,
    lock_session,
    save,
    store_state,
    to_alarm,
    vital_message,
)
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession
from backend.sessions.phases import Phase


def evaluate_readings(
    db: Session, session: InfusionSession, readings: Sequence[Reading], now: datetime
) -> None:
    """Check newly stored readings of one session against its limits, in the same transaction."""
    if session.phase not in MONITORED or not readings:
        return
    session = lock_session(db, session.id)
    ctx = load_context(db, session, now)
    # In the order they were measured: a backfilled batch replays its breach as it happened.
    for reading in sorted(readings, key=lambda r: r.taken_at):
        _evaluate_one(ctx, reading)
    finish(ctx)


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
    session = lock_session(db, session.id)
    ctx = load_context(db, session, now)
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
                to_alarm(row), status=AlarmStatus.RESOLVED, present=False, resolved_at=now
            )
            save(ctx, row, alarm, None, [Change.WITHDRAWN])
            if row.condition in ctx.conditions:
                store_state(ctx, row.condition, ConditionState())
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
    # A delay still running on a breach the struck value was part of must not complete on the
    # clock: that condition starts afresh too, and the next real value decides.
    for condition, record in list(ctx.conditions.items()):
        vital = condition.partition(".")[0]
        in_run = record.medium_since is not None and reading.taken_at >= record.medium_since
        if in_run and getattr(reading, vital, None) is not None and condition not in ctx.alerts:
            store_state(ctx, condition, ConditionState())
    db.flush()
    finish(ctx)


def _breach_since(ctx: Context, condition: str, struck: Reading, until: datetime) -> Reading | None:
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


def _newest_seen(ctx: Context, vital: str) -> datetime | None:
    """When the newest value of `vital` evaluated so far was measured."""
    seen = [
        record.last_taken_at
        for condition, record in ctx.conditions.items()
        if condition.partition(".")[0] == vital and record.last_taken_at is not None
    ]
    return max(seen, default=None)


def _evaluate_one(ctx: Context, reading: Reading) -> None:
    limits = ctx.phase_limits
    # A time ahead of the server's (a device clock running fast, within the tolerance ingest
    # allows) counts as now: left as it is, it would make every real value for the next minutes
    # look older than it, and so silence them.
    taken_at = min(reading.taken_at, ctx.now)
    # A value measured before the newest one already seen (a late reading) is stored and shown in
    # the history, but it is not the current value: it neither raises nor clears an alarm.
    late_bp = any(
        getattr(reading, vital) is not None
        and (newest := _newest_seen(ctx, vital)) is not None
        and taken_at < newest
        for vital in ("systolic", "diastolic")
    )
    for vital, limit in limits.vitals.items():
        value = getattr(reading, vital)
        if value is None:
            continue
        for direction in Direction:
            bound = limit.bound(direction)
            if bound.medium is None and bound.high is None:
                continue
            condition = f"{vital}.{direction.value}"
            before = condition_state(ctx.conditions.get(condition))
            if is_history(before, taken_at):
                continue
            # Timed by when the value was measured, not when it arrived (see conditions.py).
            state = observe(before, limit, direction, float(value), taken_at)
            record = store_state(ctx, condition, state, reading)
            message = vital_message(vital, direction, float(value), bound, state.present)
            apply(
                ctx,
                condition,
                AlarmKind.PHYSIOLOGICAL,
                state.present,
                message,
                float(value),
                reading_id=record.since_reading_id or reading.id,
                onset=taken_at,
                limit=crossed_limit(bound, direction, state.present),
            )
    rule = limits.baseline_rise
    has_bp = reading.systolic is not None or reading.diastolic is not None
    if rule is not None and has_bp and not late_bp and ctx.session.phase != Phase.BASELINE.value:
        baseline = baseline_pressure(ctx.db, ctx.session)
        if baseline is not None:
            present, message = rise_condition(
                rule, baseline, BloodPressure(reading.systolic, reading.diastolic)
            )
            apply(
                ctx,
                "baseline_rise",
                AlarmKind.PHYSIOLOGICAL,
                present,
                message or "Blood pressure rise",
                reading.systolic,
                reading_id=reading.id,
                onset=taken_at,
            )
    if is_monitor_feed(reading):
        apply(ctx, "no_data", AlarmKind.TECHNICAL, None, "")
    due = limits.bp_due_every_s
    if (
        reading.systolic is not None
        and not late_bp
        and (due is None or (ctx.now - taken_at).total_seconds() <= due)
    ):
        # Only a blood pressure recent enough to count ends the reminder; an older one arriving
        # now would end it only for the clock to raise it again.
        apply(ctx, "bp_overdue", AlarmKind.ADVISORY, None, "")
